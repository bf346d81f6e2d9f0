"""Exact-halo blockwise inference on dask (SPEC section 13).

:func:`blockwise` turns the tile plan of :func:`rfgraph.tiles` into a dask graph:
one task per output block (and per batch block), which reads exactly the input
window the plan gives (asymmetric halo, stride-aligned, clipped to the image),
runs the model on it, crops the outputs that window determines exactly, and
returns (or, with ``out=``, writes) that one block.  Stitched, the blocks equal
the model run on the whole array.

A task holds at most: its input window, the model's activations on it, and its
output block before the crop; none depends on the size of the whole array, so
arrays larger than memory stream through (Zarr or dask in, Zarr out).
:func:`plan_blockwise` states those bytes before anything runs.
"""

from __future__ import annotations

import math
import numbers
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import RFGraphError

__all__ = ["BlockwisePlan", "plan_blockwise", "blockwise"]


def _need_dask() -> Any:
    try:
        import dask.array as da
    except ImportError:
        raise RFGraphError("rf.blockwise needs dask: pip install 'rfgraph[dask]'") from None
    return da


def _is_torch_module(model: Any) -> bool:
    torch = __import__("sys").modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_dask(array: Any) -> bool:
    return type(array).__module__.startswith("dask.") and hasattr(array, "chunks") and hasattr(array, "dask")


def _conv_ndim(model: Any) -> int | None:
    """The number of spatial axes of a torch model's first convolution, if it has one."""
    import re

    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.modules.conv._ConvNd):
            return len(m.kernel_size)
        found = re.fullmatch(r"Conv(?:Transpose)?([123])d", str(getattr(m, "original_name", "")))
        if found:  # a TorchScript module keeps the class name of what it was made from
            return int(found.group(1))
    return None


class _Runner:
    """The model as graph data: one object, shipped once per worker, moved to its device once."""

    def __init__(self, model: Any, device: str | None) -> None:
        self.model = model
        self.device = device
        self.torch = _is_torch_module(model)
        self._ready = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_ready"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _prepare(self) -> None:
        with self._lock:
            if not self._ready:
                if self.torch and self.device is not None:
                    self.model = self.model.to(self.device)
                self._ready = True

    def run(self, window: np.ndarray) -> np.ndarray:
        """The model on a batched window ``(N, C, *spatial)``, as a NumPy array."""
        self._prepare()
        if not self.torch:
            return np.asarray(self.model(window))
        import torch

        x = torch.from_numpy(np.ascontiguousarray(window))
        param = next(iter(self.model.parameters()), None)
        want = param.dtype if param is not None and param.is_floating_point() else None
        if want is None and not x.is_floating_point():
            want = torch.get_default_dtype()
        if want is not None and x.dtype != want:  # an 8-bit image into a float32 model, say
            x = x.to(want)
        if self.device is not None:
            x = x.to(self.device)
        with torch.no_grad():
            y = self.model(x)
        if isinstance(y, dict):
            y = y["out"] if "out" in y else next(iter(y.values()))
        elif isinstance(y, tuple | list):
            y = y[0]
        return y.detach().cpu().numpy()


@dataclass
class BlockwisePlan:
    """What :func:`blockwise` will run: the tiles, the output layout and the memory of one task.

    Attributes
    ----------
    halo : tuple of (int, int)
        Exact context per spatial axis, ``(left, right)`` input pixels (:func:`rfgraph.halo`).
    tiles : list of Tile
        The plan of :func:`rfgraph.tiles`, one task per tile (and per batch block).
    input_shape, output_shape : tuple of int
        Whole arrays, with their batch/channel axes.
    chunks : tuple of tuple of int
        The output's dask chunks (one block per tile along each spatial axis).
    input_bytes, output_bytes, activation_bytes : int
        Per task, at most: the largest input window, the largest model output on it
        (before the crop) and the model's activations on it (every module's output
        summed, measured by the probe; 0 for a plain callable, whose memory rfgraph
        cannot see).
    """

    halo: tuple[tuple[int, int], ...]
    tiles: list[Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    chunks: tuple[tuple[int, ...], ...]
    dtype: Any
    batched: bool
    batch_size: int
    input_bytes: int
    output_bytes: int
    activation_bytes: int
    grid: tuple[int, ...] = field(default=())

    @property
    def task_bytes(self) -> int:
        """An upper bound of the memory one task holds at once (input, activations, output)."""
        return self.input_bytes + self.output_bytes + self.activation_bytes

    @property
    def tasks(self) -> int:
        return len(self.tiles) * len(self.chunks[0] if self.batched else (1,))

    def describe(self) -> str:
        """One line for people: halo, tasks and memory per task."""
        halo = ", ".join(f"{a}/{b}" for a, b in self.halo)
        return (
            f"halo (left/right per axis) {halo} px; {self.tasks} tasks; per task at most "
            f"{_mib(self.task_bytes)} (input window {_mib(self.input_bytes)}, activations "
            f"{_mib(self.activation_bytes)}, output {_mib(self.output_bytes)})"
        )


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _spatial_dims(model: Any, array: Any, net: Any, spatial_dims: int | None) -> int:
    ndim = len(array.shape)
    if spatial_dims is not None:
        if spatial_dims not in (1, 2, 3) or ndim - spatial_dims not in (1, 2):
            raise RFGraphError(
                f"spatial_dims={spatial_dims} does not fit an array of shape {tuple(array.shape)}: "
                "give (C, *spatial) or (N, C, *spatial) with 1 to 3 spatial axes"
            )
        return spatial_dims
    hint = _conv_ndim(model) if _is_torch_module(model) else None
    if hint is None and net is not None:
        hint = _net_ndim(net)
    options = [d for d in (ndim - 1, ndim - 2) if 1 <= d <= 3]
    if not options:
        raise RFGraphError(
            f"array of shape {tuple(array.shape)}: give (C, *spatial) or (N, C, *spatial) with 1 to 3 spatial axes"
        )
    if hint in options:
        return int(hint)  # type: ignore[arg-type]
    # Neither the model nor the network says: images are the common case, (C, H, W) or (N, C, H, W).
    return 2 if 2 in options else options[0]


def _net_ndim(net: Any) -> int | None:
    """The number of spatial axes an rfgraph network's parameters fix (``Conv((3, 3))``: 2), if they agree."""
    from ...ops.base import per_axis_lengths

    lengths = per_axis_lengths(net)
    return lengths.pop() if len(lengths) == 1 else None


def _batch_size(value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise RFGraphError(f"batch_size={value!r} must be a positive int (images per task)")
    return int(value)


def _axis_blocks(tiles: list[Any], ndim: int) -> tuple[list[list[slice]], tuple[int, ...]]:
    """Per spatial axis, the output slices of the block grid in order; the grid shape."""
    blocks: list[list[slice]] = []
    for a in range(ndim):
        seen: dict[tuple[int, int], slice] = {}
        for t in tiles:
            seen.setdefault((t.output[a].start, t.output[a].stop), t.output[a])
        blocks.append([seen[k] for k in sorted(seen)])
    grid = tuple(len(b) for b in blocks)
    if math.prod(grid) != len(tiles):  # pragma: no cover - rf.tiles returns the full grid
        raise RFGraphError("the tile plan is not a grid")
    return blocks, grid


def _probe(runner: _Runner, channels: int, window: tuple[int, ...], dtype: Any) -> tuple[Any, int]:
    """Run the model once on zeros of the largest window: its output, and the bytes of its activations."""
    x = np.zeros((1, channels, *window), dtype=dtype)
    if not runner.torch:
        return runner.run(x), 0
    total = [0]

    def hook(mod: Any, inputs: Any, output: Any) -> None:
        if hasattr(output, "element_size") and hasattr(output, "nelement"):
            total[0] += int(output.element_size() * output.nelement())

    handles = []
    try:
        for m in runner.model.modules():
            if not any(True for _ in m.children()):
                handles.append(m.register_forward_hook(hook))
    except RuntimeError:  # TorchScript modules take no hooks: their activations stay unmeasured (0)
        for h in handles:
            h.remove()
        handles = []
    try:
        y = runner.run(x)
    except Exception as err:  # noqa: BLE001 - the user's model: say where it failed
        raise RFGraphError(
            f"the model fails on a window of shape {x.shape}: {type(err).__name__}: {str(err).splitlines()[0]}"
        ) from None
    finally:
        for h in handles:
            h.remove()
    return y, total[0]


def plan_blockwise(
    model: Any,
    array: Any,
    tile_shape: Any,
    net: Any = None,
    *,
    spatial_dims: int | None = None,
    batch_size: int = 1,
    device: str | None = None,
) -> BlockwisePlan:
    """The plan of :func:`blockwise` (tiles, output layout, memory per task) without building the graph.

    Runs the model once, on zeros of the largest tile window (the probe that finds the
    output channels and dtype and measures the activations).

    >>> import numpy as np, rfgraph as rf
    >>> from rfgraph.answers.distributed import plan_blockwise
    >>> net = rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))
    >>> p = plan_blockwise(lambda x: x[:, :1] * 2, np.zeros((2, 64, 64)), 32, net)
    >>> p.halo, p.output_shape, p.chunks, p.input_bytes  # a window: 32 + 2 px, 2 channels, float64
    (((2, 2), (2, 2)), (1, 64, 64), ((1,), (32, 32), (32, 32)), 18496)
    """
    return _plan(model, array, tile_shape, net, spatial_dims, batch_size, device)[0]


def _plan(
    model: Any, array: Any, tile_shape: Any, net: Any, spatial_dims: int | None, batch_size: Any, device: str | None
) -> tuple[BlockwisePlan, _Runner, Any, list[list[slice]]]:
    from ...importers.torch import from_torch
    from ...plan import build_plan
    from ..tiling import halo as exact_halo
    from ..tiling import tiles as tile_plan

    if not hasattr(array, "shape") or not hasattr(array, "dtype"):
        array = np.asarray(array)
    if not callable(model):
        raise RFGraphError(f"model must be a torch module or a callable on NumPy arrays, got {type(model).__name__}")
    if net is None and not _is_torch_module(model):
        raise RFGraphError("a plain callable needs net= (its rfgraph network, e.g. rf.parse_spec(...) or a zoo net)")
    if device is not None and not _is_torch_module(model):
        raise RFGraphError(f"device={device!r} applies to torch modules only")
    size = _batch_size(batch_size)
    d = _spatial_dims(model, array, net, spatial_dims)
    shape = tuple(int(n) for n in array.shape)
    batched = len(shape) == d + 2
    channels, spatial = shape[-d - 1], shape[-d:]
    if net is None:
        net = from_torch(model, spatial, in_channels=channels)
    out_spatial = tuple(build_plan(net, spatial).output.shape)
    tiles = tile_plan(net, spatial, tile_shape)
    halo = exact_halo(net, spatial)
    blocks, grid = _axis_blocks(tiles, d)
    runner = _Runner(model, device)
    largest = max(tiles, key=lambda t: math.prod(s.stop - s.start for s in t.input))
    window = tuple(s.stop - s.start for s in largest.input)
    y, activations = _probe(runner, channels, window, array.dtype)
    expect = tuple(build_plan(net, window).output.shape)
    if y.ndim != d + 2 or tuple(y.shape[2:]) != expect:
        raise RFGraphError(
            f"on a window of shape {(1, channels, *window)} the model returns shape {tuple(y.shape)}, but its "
            f"rfgraph network gives spatial shape {expect}: net= does not describe this model"
        )
    out_channels = int(y.shape[1])
    batch = shape[0] if batched else 1
    lead: tuple[tuple[int, ...], ...] = ((size,) * (batch // size) + ((batch % size,) if batch % size else ()),)
    spatial_chunks = tuple(tuple(s.stop - s.start for s in b) for b in blocks)
    chunks = ((*lead, (out_channels,)) if batched else ((out_channels,),)) + spatial_chunks
    per = min(size, batch)
    plan = BlockwisePlan(
        halo=halo,
        tiles=tiles,
        input_shape=shape,
        output_shape=((batch,) if batched else ()) + (out_channels, *out_spatial),
        chunks=chunks,
        dtype=y.dtype,
        batched=batched,
        batch_size=size,
        input_bytes=per * channels * math.prod(window) * np.dtype(array.dtype).itemsize,
        output_bytes=per * out_channels * math.prod(expect) * y.dtype.itemsize,
        activation_bytes=per * activations,
        grid=grid,
    )
    return plan, runner, net, blocks


def _run_window(runner: _Runner, window: np.ndarray, crop: tuple[slice, ...], batched: bool) -> np.ndarray:
    if not batched:
        window = window[None]
    y = runner.run(window)[(slice(None), slice(None)) + tuple(crop)]
    return np.ascontiguousarray(y if batched else y[0])


def _read_and_run(
    runner: _Runner, source: Any, index: tuple[slice, ...], crop: tuple[slice, ...], batched: bool
) -> np.ndarray:
    return _run_window(runner, np.asarray(source[index]), crop, batched)


def _assemble_and_run(
    runner: _Runner, parts: Any, local: list[tuple[slice, ...]], crop: tuple[slice, ...], batched: bool
) -> np.ndarray:
    flat: list[np.ndarray] = []

    def walk(p: Any) -> None:
        if isinstance(p, list):
            for q in p:
                walk(q)
        else:
            flat.append(p)

    walk(parts)
    pieces = iter(np.asarray(p)[s] for p, s in zip(flat, local))

    def nest(p: Any) -> Any:
        return [nest(q) for q in p] if isinstance(p, list) else next(pieces)

    return _run_window(runner, np.block(nest(parts)), crop, batched)


def _chunk_ranges(chunks: tuple[int, ...], start: int, stop: int) -> list[tuple[int, slice]]:
    """The chunks of one axis that ``[start, stop)`` meets, with the local slice of each."""
    found, offset = [], 0
    for i, n in enumerate(chunks):
        lo, hi = max(start, offset), min(stop, offset + n)
        if lo < hi:
            found.append((i, slice(lo - offset, hi - offset)))
        offset += n
    return found


def _dask_parts(x: Any, index: tuple[slice, ...]) -> tuple[Any, list[tuple[slice, ...]]]:
    """Nested lists of the chunk keys of ``x`` that ``index`` meets, and their local slices (row-major)."""
    per_axis = [_chunk_ranges(c, s.start, s.stop) for c, s in zip(x.chunks, index)]
    local: list[tuple[slice, ...]] = []
    for combo in np.ndindex(*(len(p) for p in per_axis)):
        local.append(tuple(per_axis[a][i][1] for a, i in enumerate(combo)))

    def nest(axis: int, prefix: tuple[int, ...]) -> Any:
        if axis == len(per_axis):
            return (x.name, *prefix)
        return [nest(axis + 1, (*prefix, i)) for i, _ in per_axis[axis]]

    return nest(0, ()), local


def _graph(plan: BlockwisePlan, runner: _Runner, array: Any, name: str) -> tuple[dict[Any, Any], list[Any]]:
    d = len(plan.halo)
    holder = f"rfgraph-model-{name[len('rfgraph-blockwise-') :]}"
    graph: dict[Any, Any] = {holder: runner}
    deps: list[Any] = []
    kind = "dask" if _is_dask(array) else ("numpy" if isinstance(array, np.ndarray) else "read")
    if kind == "dask":
        deps.append(array)
    else:
        source = f"rfgraph-source-{name[len('rfgraph-blockwise-') :]}"
        if kind == "read":
            graph[source] = array
    batches: list[tuple[int, slice]] = [(0, slice(None))]  # unbatched: no N axis to index
    if plan.batched:
        starts = np.cumsum((0, *plan.chunks[0]))
        batches = [(i, slice(int(a), int(b))) for i, (a, b) in enumerate(zip(starts[:-1], starts[1:]))]
    channels = plan.input_shape[-d - 1]
    for t, combo in zip(plan.tiles, np.ndindex(*plan.grid)):
        for b, rows in batches:
            lead = (rows, slice(0, channels)) if plan.batched else (slice(0, channels),)
            index = (*lead, *t.input)
            key = (name, b, 0, *combo) if plan.batched else (name, 0, *combo)
            if kind == "numpy":
                graph[key] = (_run_window, holder, array[index], t.crop, plan.batched)
            elif kind == "read":
                graph[key] = (_read_and_run, holder, source, index, t.crop, plan.batched)
            else:
                parts, local = _dask_parts(array, index)
                graph[key] = (_assemble_and_run, holder, parts, local, t.crop, plan.batched)
    return graph, deps


def blockwise(
    model: Any,
    array: Any,
    tile_shape: Any,
    net: Any = None,
    out: Any = None,
    *,
    spatial_dims: int | None = None,
    batch_size: int = 1,
    device: str | None = None,
    overwrite: bool = False,
    scheduler: Any = None,
    progress: bool | None = None,
) -> Any:
    """The model's output on ``array`` as a dask array, computed tile by tile with the exact halo.

    Each task reads exactly the input window that :func:`rfgraph.tiles` gives for its
    output block (asymmetric halo, stride-aligned, clipped to the image where the
    network's own padding applies), runs the model, crops and returns one block; the
    stitched result equals the model run on the whole array (float64: below 1e-9).

    Parameters
    ----------
    model : torch.nn.Module or callable
        A torch module (run under ``torch.no_grad()``, on CPU or on ``device``), or a
        callable taking and returning NumPy arrays ``(N, C, *spatial)``.
    array : numpy.ndarray, zarr.Array or dask.array.Array
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 1 to 3 spatial axes.  A Zarr (or
        any lazily sliced) array is read window by window inside the tasks; a dask
        array's chunks are read where the window meets them.
    tile_shape : int or tuple of int
        The block of input pixels whose outputs one task keeps (rounded down to the
        alignment grid, see :func:`rfgraph.tiles`).
    net : Op, optional
        The model's rfgraph network; by default ``rf.from_torch(model, spatial shape)``.
        Required for a plain callable.
    out : str, path or zarr.Array, optional
        Write the result to this Zarr store (created with one chunk per output block;
        an existing store or a symbolic link is refused unless ``overwrite``): the
        graph is computed now, block by block, and a dask array reading the store is
        returned.  Use it for outputs larger than memory.
    spatial_dims : int, optional
        Number of spatial axes.  By default the model's first convolution says
        (``Conv3d``: 3), else the network's per-axis parameters, else 2 when the rank
        allows it (``(C, H, W)`` or ``(N, C, H, W)``).
    batch_size : int
        Images per task along ``N``.
    device : str, optional
        ``"cuda"`` (or ``"cuda:1"``, ...): run a torch module there.
    overwrite : bool
        Replace an existing ``out`` store.
    scheduler : str or distributed.Client, optional
        With ``out``: where to compute (a ``dask.distributed`` address such as
        ``"tcp://127.0.0.1:8786"``, a client, or ``"threads"``/``"sync"``); by default the
        active ``dask.distributed`` client if there is one, else dask's local scheduler.
        Without ``out`` nothing runs: ``.compute()`` uses the active client or the local
        scheduler as usual.
    progress : bool, optional
        With ``out``: a progress bar on stderr (dask's ``ProgressBar`` locally,
        ``distributed.progress`` on a cluster); by default on a terminal, after 1 s.

    Returns
    -------
    dask.array.Array
        The output ``(N, C_out, *out_spatial)`` (or ``(C_out, *out_spatial)``), one chunk
        per output block (and batch block).  Its attribute ``tiling`` is the
        :class:`BlockwisePlan`: ``tiling.halo``, ``tiling.tiles`` and the memory one task
        holds at most, ``tiling.task_bytes`` (input window + activations + output block,
        measured once by a probe on the largest window); ``tiling.describe()`` says it.

    Notes
    -----
    Memory: a task never holds more than one input window, the model's activations on it and
    one output block, whatever the size of the array: ``tiling.task_bytes`` bounds it.

    Examples
    --------
    >>> import numpy as np, rfgraph as rf
    >>> net = rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))
    >>> image = np.random.default_rng(0).random((1, 64, 48))
    >>> y = rf.blockwise(lambda x: x * 2.0, image, (16, 16), net)
    >>> y.chunks, bool(np.allclose(y.compute(), image * 2.0))
    (((1,), (16, 16, 16, 16), (16, 16, 16)), True)
    >>> y.tiling.halo
    ((2, 2), (2, 2))
    """
    da = _need_dask()
    from dask.highlevelgraph import HighLevelGraph

    target = None
    if out is not None:
        from ._store import prepare_zarr

        target = prepare_zarr(out, overwrite)  # before any work: refuse links and existing stores early
    plan, runner, _, _ = _plan(model, array, tile_shape, net, spatial_dims, batch_size, device)
    if not hasattr(array, "shape") or not hasattr(array, "dtype"):
        array = np.asarray(array)
    name = f"rfgraph-blockwise-{uuid.uuid4().hex}"
    graph, deps = _graph(plan, runner, array, name)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=deps)
    meta = np.empty((0,) * len(plan.output_shape), dtype=plan.dtype)
    result = da.Array(hlg, name, chunks=plan.chunks, dtype=plan.dtype, meta=meta)
    if target is not None:
        from ._store import store_zarr

        result = store_zarr(result, target, scheduler=scheduler, progress=progress)
    result.tiling = plan
    return result
