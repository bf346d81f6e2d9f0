"""Atlas sweeps: one dask task per model of a zoo, one row per model (SPEC section 13).

Each row says whether the model builds and imports (and the first line of the reason
when not), the checked tensor (the output, or for a classifier the last spatial tensor
that is a module's output), its effective stride and receptive field, whether the field
is uniform and whether some path reaches every pixel (global context), statistics of the
exact path-count map of its centre (the uniform-weight ERF of Luo et al. 2016): the
per-axis standard deviation and the side of the smallest centred square holding 95 % of
the paths, and the time spent building, importing and in total.

Rows are written as they finish; a sweep whose output already holds some rows skips
those models (resumable).  Patterns: ``torchvision:NAME`` and ``timm:NAME`` (globs such as
``timm:resnet*``), ``zoo:GLOB`` or a zoo name, a spec string (``"conv3*5"``) or a
``.json``/``.yaml``/``.onnx`` file, ``package.module:factory``, a TorchScript/``.pt2`` file.

>>> [i.key for i in resolve_patterns(["zoo:unet*", "conv3*5"])]
['zoo:unet', 'zoo:unet_same', 'spec:conv3*5']
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import RFGraphError

__all__ = ["AtlasItem", "COLUMNS", "resolve_patterns", "atlas_row", "atlas", "read_rows", "FORMATS"]

COLUMNS = (
    "model",
    "input",
    "status",
    "reason",
    "tensor",
    "stride",
    "field",
    "uniform",
    "global_context",
    "erf_std",
    "erf95_side",
    "erf95_radius",
    "equal",
    "reached",
    "inner",
    "build_s",
    "import_s",
    "seconds",
    "source",
    "name",
    "family",
    "group",
)
"""Columns of an atlas file, in order (``equal``/``reached``/``inner``: the reach = gradient check, when asked)."""

FORMATS = (".csv", ".json", ".parquet")


@dataclass(frozen=True)
class AtlasItem:
    """One model of a sweep: where it comes from, its name, constructor options, and its input when fixed."""

    source: str  # "torchvision", "torchvision.segmentation", "timm", "zoo", "spec", "torch" (a loader source)
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    input_shape: tuple[int, ...] | None = None
    family: str = ""
    group: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def is_torch(self) -> bool:
        return self.source not in ("zoo", "spec")


_GLOB = set("*?[")


def _torchvision_names() -> list[str]:
    try:
        import torchvision
    except ImportError:
        raise RFGraphError("torchvision: patterns need torchvision: pip install torchvision") from None
    return sorted(torchvision.models.list_models())


def _timm_names(pattern: str) -> list[str]:
    try:
        import timm
    except ImportError:
        raise RFGraphError("timm: patterns need timm: pip install timm") from None
    return sorted(timm.list_models(pattern))


def resolve_patterns(patterns: Iterable[str]) -> list[AtlasItem]:
    """The models that ``patterns`` name, in order, each once.

    ``torchvision:``/``timm:`` names may hold globs (``timm:resnet*``; a name without one
    must exist); ``zoo:GLOB`` matches rfgraph's zoo; anything else is a zoo name, a spec
    string or file (``"conv3*5"`` is a spec: globs apply only after a prefix), or a
    ``package.module:factory`` / TorchScript source for :func:`rfgraph.erf.load_model`.
    """
    from ... import zoo

    items: list[AtlasItem] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise RFGraphError(f"pattern {pattern!r} is empty; give e.g. torchvision:resnet18 or 'timm:resnet*'")
        kind, sep, name = pattern.partition(":")
        if sep and kind in ("torchvision", "timm"):
            if kind == "torchvision":
                names = fnmatch.filter(_torchvision_names(), name) if _GLOB & set(name) else [name]
            else:
                names = _timm_names(name) if _GLOB & set(name) else [name]
            if not names:
                raise RFGraphError(f"pattern {pattern!r} matches no {kind} model")
            items += [AtlasItem(kind, n) for n in names]
        elif sep and kind == "zoo":
            names = fnmatch.filter(zoo.names(), name)
            if not names:
                raise RFGraphError(f"pattern {pattern!r} matches no zoo network; see rfgraph zoo")
            items += [AtlasItem("zoo", n) for n in names]
        elif pattern in zoo.names():
            items.append(AtlasItem("zoo", pattern))
        elif sep and kind and "." in kind or Path(pattern).suffix.lower() in (".pt", ".pt2", ".ts", ".jit"):
            items.append(AtlasItem("torch", pattern))
        else:
            items.append(AtlasItem("spec", pattern))
    return list(dict.fromkeys(items))


def _first_line(err: BaseException, limit: int = 200) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return text[:limit]


def _timm_options(item: AtlasItem, shape: tuple[int, ...]) -> tuple[dict[str, Any], str]:
    """timm models made for one input size (ViTs: ``fixed_input_size``) are built for the sweep's size."""
    options = dict(item.kwargs)
    try:
        from timm.models import get_pretrained_cfg

        cfg = get_pretrained_cfg(item.name)
    except Exception:  # noqa: BLE001 - an unknown name fails when built, with timm's own message
        return options, ""
    native = tuple(cfg.input_size[1:]) if cfg is not None and cfg.input_size else ()
    if cfg is not None and cfg.fixed_input_size and native and native != shape and "img_size" not in options:
        options["img_size"] = shape if len(set(shape)) > 1 else shape[0]
        return options, f"built for img_size {'x'.join(map(str, shape))} (its default is {'x'.join(map(str, native))})"
    return options, ""


def _runs_on_meta(timm: Any, name: str, options: dict[str, Any], shape: tuple[int, ...]) -> bool:
    """Whether timm's ``name`` built with ``options`` runs a forward at ``shape`` (on the meta device: no weights)."""
    import torch

    try:
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False, **options).eval()
            model(torch.zeros((1, int(options.get("in_chans", 3)), *shape)))
    except Exception:  # noqa: BLE001 - any failure means "not like this"
        return False
    return True


def _build_torch(item: AtlasItem, shape: tuple[int, ...] = ()) -> tuple[Any, str]:
    if item.source in ("torchvision", "torchvision.segmentation"):
        import inspect

        import torchvision

        builder = torchvision.models.get_model_builder(item.name)
        options = dict(item.kwargs)
        if "weights_backbone" in inspect.signature(builder).parameters:
            options.setdefault("weights_backbone", None)  # never a download
        return builder(weights=None, **options).eval(), ""
    if item.source == "timm":
        import timm

        options, note = _timm_options(item, shape)
        if (
            note
            and not _runs_on_meta(timm, item.name, options, shape)
            and _runs_on_meta(timm, item.name, item.kwargs, shape)
        ):
            # Built for the size it breaks in its own forward (CrossViT at 64 px: its two patch
            # grids disagree); built as it is, it resizes its input.
            options, note = dict(item.kwargs), ""
        return timm.create_model(item.name, pretrained=False, **options).eval(), note
    try:  # the one model loader where it exists, else rf.erf.load_model
        from ...importers.load import load_torch_model  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from ...erf import load_model

        return load_model(item.name, **item.kwargs), ""
    return load_torch_model(item.name, **item.kwargs), ""


def _fmt(value: Any) -> Any:
    if isinstance(value, tuple) and value and all(v == value[0] for v in value):
        value = value[0]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, tuple):
        return "x".join(str(_fmt(v)) for v in value)
    return str(value)


def _endpoint(model: Any, net: Any, shape: tuple[int, ...]) -> str | None:
    """For a classifier, the last spatial tensor that is a module's output (None: the output itself)."""
    from ...importers._support import _spatial_endpoint

    return _spatial_endpoint(None, model, net, shape)


def _net_endpoint(net: Any, shape: tuple[int, ...]) -> str | None:
    """For an rfgraph network ending in global pooling, the last spatial tensor before it."""
    from ...plan import build_plan

    tensors = build_plan(net, shape).tensors
    spatial = [t.index for t in tensors if math.prod(t.shape) > 1]
    if not spatial or spatial[-1] == len(tensors) - 1:
        return None
    if not any(t.kind == "GlobalPool" for t in tensors[spatial[-1] + 1 :]):
        return None
    return tensors[spatial[-1]].name or None


def atlas_row(
    item: AtlasItem,
    input_shape: Sequence[int],
    *,
    stats: bool = True,
    reach_check: bool = False,
    threads: int | None = 1,
) -> dict[str, Any]:
    """The atlas row of one model; never raises for the model's own failures (they become the reason).

    ``stats``: statistics of the exact path map of the checked tensor's centre;
    ``reach_check``: compare ``rf.reach`` with torch's gradient support
    (``docs/make_coverage.py``); ``threads``: torch's threads in this task.
    """
    from ... import zoo
    from ...arithmetic import receptive_field
    from ...erf.stats import network_erf_stats
    from ...importers.load import load_network
    from ...importers.torch import from_torch

    shape = tuple(int(n) for n in (item.input_shape or input_shape))
    row: dict[str, Any] = {
        "model": item.key,
        "input": "x".join(map(str, shape)),
        "source": item.source,
        "name": item.name,
        "family": item.family,
        "group": item.group,
    }
    start = time.perf_counter()
    model, note = None, ""
    try:
        if item.is_torch:
            import torch

            if threads is not None:
                torch.set_num_threads(threads)
            model, note = _build_torch(item, shape)
        elif item.source == "zoo":
            options = zoo.options(item.name) if hasattr(zoo, "options") else {}
            size = shape[0] if len(set(shape)) == 1 else shape
            net = zoo.build(item.name, input_size=size) if "input_size" in options else zoo.build(item.name)
        else:
            net = load_network(item.name)
    except Exception as err:  # noqa: BLE001 - report, do not stop
        row.update(status="not built", reason=f"{type(err).__name__}: {_first_line(err, 160)}")
        row["seconds"] = round(time.perf_counter() - start, 2)
        return row
    built = time.perf_counter()
    row["build_s"] = round(built - start, 2)
    if note:
        row["reason"] = note
    endpoint: str | None = None
    try:
        if model is not None and reach_check:
            from ...importers._support import compare_reach

            result, *inner = compare_reach(model, shape, inplace=True, partial=True)
            net, endpoint = result.network, result.endpoint
            row["equal"] = result.equal and all(i.equal for i in inner)
            row["reached"] = f"{int(result.reach.sum())}/{result.reach.size}"
            if inner:
                mark = "yes" if inner[0].equal else "**no**"
                row["inner"] = f"`{inner[0].endpoint}` {int(inner[0].reach.sum())} px: {mark}"
            if not result.equal:
                row["reason"] = result.describe()
            elif inner and not inner[0].equal:
                row["reason"] = inner[0].describe()
        elif model is not None:
            net = from_torch(model, shape)
            endpoint = _endpoint(model, net, shape)
        else:
            endpoint = _net_endpoint(net, shape)
        imported = time.perf_counter()
        records = receptive_field(net, shape, endpoint)
        record = records[-1]
        row.update(
            status="imports",
            tensor=endpoint or "output",
            stride=_fmt(record.stride),
            field=_fmt(record.size),
            uniform=bool(getattr(record, "uniform", True)),
            global_context=bool(getattr(record, "global_context", False)),
            import_s=round(imported - built, 2),
        )
    except Exception as err:  # noqa: BLE001 - report, do not stop
        text = _first_line(err)
        if not isinstance(err, RFGraphError):  # not a clean refusal: a bug to report, so say what
            text = f"{type(err).__name__}: {text}"
        row.update(status="fails", reason=text or type(err).__name__, import_s=round(time.perf_counter() - built, 2))
        row["seconds"] = round(time.perf_counter() - start, 2)
        return row
    if stats:
        try:
            s = network_erf_stats(net, shape, "paths", endpoint=endpoint, fractions=(0.95,), thresholds=(0.95,))
            row["erf_std"] = _fmt(tuple(round(v, 2) for v in s.std))
            side = s.area_ratio[0.95].side
            row["erf95_side"] = "" if side is None else side
            row["erf95_radius"] = round(s.radius[0.95], 2)
        except Exception as err:  # noqa: BLE001 - the table stands without the map
            row["reason"] = f"exact map: {_first_line(err, 160)}"
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


# --------------------------------------------------------------------------- files


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RFGraphError(f"--out {str(path)!r}: write .csv or .json (or .parquet with pyarrow installed)")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise RFGraphError("--out .parquet needs pyarrow (pip install pyarrow); write .csv or .json") from None
    return suffix


def _cell(value: Any) -> Any:
    return "" if value is None else value


def read_rows(path: Any) -> list[dict[str, Any]]:
    """The rows of an atlas file (CSV, JSON or Parquet); ``[]`` when it does not exist."""
    p = Path(path)
    if not p.exists():
        return []
    suffix = _suffix(p)
    if suffix == ".csv":
        with p.open(newline="") as f:
            return list(csv.DictReader(f))
    if suffix == ".json":
        text = p.read_text()
        try:
            data = json.loads(text) if text.strip() else []
        except json.JSONDecodeError as err:
            raise RFGraphError(f"{str(p)!r} is not an atlas JSON file: {err}") from None
        if not isinstance(data, list):
            raise RFGraphError(f"{str(p)!r} is not an atlas JSON file (a list of rows)")
        return [dict(r) for r in data]
    import pyarrow.parquet as pq

    return [dict(r) for r in pq.read_table(p).to_pylist()]


class _Writer:
    """Writes rows as they finish: CSV appends a line, JSON and Parquet rewrite the file (atomically)."""

    def __init__(self, path: Path | None, old: list[dict[str, Any]]) -> None:
        self.path, self.rows = path, list(old)
        self.suffix = _suffix(path) if path is not None else ""

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.path is None:
            return
        if self.suffix == ".csv":
            new = not self.path.exists() or self.path.stat().st_size == 0
            with self.path.open("a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
                if new:
                    w.writeheader()
                w.writerow({k: _cell(row.get(k)) for k in COLUMNS})
            return
        self._rewrite()

    def _rewrite(self) -> None:
        assert self.path is not None
        _rewrite_file(self.path, self.rows, self.suffix)

    def finish(self) -> None:
        if self.path is not None and self.suffix != ".csv":
            self._rewrite()


def _rewrite_file(path: Path, rows: list[dict[str, Any]], suffix: str) -> None:
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    os.close(fd)
    try:
        if suffix == ".json":
            clean = [{k: row.get(k) for k in COLUMNS if row.get(k) not in (None, "")} for row in rows]
            Path(tmp).write_text(json.dumps(clean, indent=1) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({k: [_text(r.get(k)) for r in rows] for k in COLUMNS})
            pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    return str(row.get("model", "")), str(row.get("input", ""))


def atlas(
    patterns: Iterable[str | AtlasItem],
    input_shape: Sequence[int] = (224, 224),
    *,
    out: Any = None,
    scheduler: Any = None,
    workers: int = 1,
    stats: bool = True,
    reach_check: bool = False,
    fresh: bool = False,
    progress: bool | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Sweep models: one dask task per model, one row each (see :data:`COLUMNS`).

    Parameters
    ----------
    patterns : iterable of str or AtlasItem
        See :func:`resolve_patterns`.
    input_shape : tuple of int
        Spatial input of every model (an item may fix its own).
    out : str or path, optional
        ``.csv`` (a line appended per finished model), ``.json`` or ``.parquet`` (with
        pyarrow). Rows already there are kept and their models skipped (resumable);
        ``fresh=True`` starts over.  A symbolic link is never written through.
    scheduler : str or distributed.Client, optional
        A ``dask.distributed`` address or client; by default the active client, else
        ``workers``.
    workers : int
        Without a cluster: 1 runs the tasks one after another in this process; more
        starts a ``LocalCluster`` of that many single-threaded worker processes
        (loopback only) for the sweep.
    stats, reach_check : bool
        See :func:`atlas_row`.
    on_row : callable, optional
        Called with each row as it finishes (printing, say).

    Returns
    -------
    list of dict
        The rows of this sweep (new and kept), in the order of ``patterns``.
    """
    from ._compute import client_for

    items: list[AtlasItem] = []
    for p in patterns:
        items += [p] if isinstance(p, AtlasItem) else resolve_patterns([p])
    items = list(dict.fromkeys(items))
    shape = tuple(int(n) for n in input_shape)
    path = None
    if out is not None:
        path = _check_atlas_out(out, fresh)
    old = [] if path is None or fresh else read_rows(path)
    if old and not {"model", "input"} <= set(old[0]):
        raise RFGraphError(
            f"--out {str(path)!r} holds rows without 'model' and 'input' columns: not an atlas file; "
            "choose another name (or --fresh to replace it)"
        )
    if path is not None and fresh and path.exists():
        path.unlink()
    done = {_row_key(r) for r in old}
    todo = [i for i in items if (i.key, "x".join(map(str, i.input_shape or shape))) not in done]
    writer = _Writer(path, old)

    def emit(row: dict[str, Any]) -> None:
        writer.add(row)
        if on_row is not None:
            on_row(row)

    client, opened = client_for(scheduler)
    cluster = None
    try:
        if client is None and workers > 1 and todo:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise RFGraphError("--workers above 1 needs dask.distributed: pip install 'rfgraph[dask]'") from None
            cluster = LocalCluster(
                n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
            )
            client, opened = Client(cluster), True
        if client is None:
            for item in todo:
                emit(atlas_row(item, shape, stats=stats, reach_check=reach_check))
        else:
            from distributed import as_completed

            futures = [
                client.submit(
                    atlas_row, item, shape, stats=stats, reach_check=reach_check, pure=False, key=f"atlas-{n}"
                )
                for n, item in enumerate(todo)
            ]
            for future in as_completed(futures):
                emit(future.result())
    finally:
        writer.finish()
        if opened and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    order = {(i.key, "x".join(map(str, i.input_shape or shape))): n for n, i in enumerate(items)}
    rows = [r for r in writer.rows if _row_key(r) in order]
    return sorted(rows, key=lambda r: order[_row_key(r)])


def _check_atlas_out(out: Any, fresh: bool) -> Path:
    if out is None or not str(out).strip():
        raise RFGraphError(f"--out {out!r} is not a file name; give e.g. atlas.csv")
    p = Path(out)
    _suffix(p)
    if p.is_symlink():
        raise RFGraphError(f"--out {str(p)!r} is a symbolic link; rfgraph never writes through links")
    if p.is_dir():
        raise RFGraphError(f"--out {str(p)!r} is a folder; give a file name inside it")
    if not p.parent.is_dir():
        raise RFGraphError(f"--out {str(p)!r}: folder {str(p.parent)!r} does not exist; create it first")
    return p


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the main columns."""
    cols = (
        "model",
        "input",
        "status",
        "stride",
        "field",
        "uniform",
        "global_context",
        "erf_std",
        "erf95_side",
        "seconds",
    )
    out = io.StringIO()
    widths = {c: max(len(c), *(len(_text(r.get(c))) for r in rows)) if rows else len(c) for c in cols}
    out.write("  ".join(c.ljust(widths[c]) for c in cols).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(_text(r.get(c)).ljust(widths[c]) for c in cols).rstrip() + "\n")
    return out.getvalue()
