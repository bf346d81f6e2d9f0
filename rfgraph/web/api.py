"""The JSON API behind ``rfgraph serve``: pure functions from query strings to payloads.

Every endpoint takes the network as a zoo name, a compact spec, or ``torchvision:NAME`` /
``timm:NAME`` with torch installed (never a file path or a factory: the server reads no files
and runs no code on a client's behalf), sizes and positions as on
the command line (``224x224``, ``3x4``), and answers a JSON object.  Bad input
raises :class:`ApiError` with the one-line :class:`~rfgraph.RFGraphError` text and
an HTTP status; the server turns it into ``{"error": "..."}``.

Requests are capped *before* anything proportional to them is built: the spec's
length, nesting and a bound on its layer count, the input's pixel count, and the
unrolled graph's node and edge counts.

>>> from rfgraph.web.api import dispatch
>>> status, body = dispatch("/api/map", "net=conv3*5&input=15")
>>> status, body["shape"], body["values"][2:13]
(200, [15], [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5])
>>> status, body = dispatch("/api/map", "net=conv0&input=15")
>>> status, "kernel_size=0" in body["error"]
(400, True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from ..arithmetic import TABLE_COLUMNS, RFRecord, plan_receptive_field, table_rows
from ..engine import METRICS, _general_cost, check_target, plan_contribution_map
from ..errors import RFGraphError
from ..importers.load import TORCH_PREFIXES
from ..ops import Op
from ..plan import Plan, build_plan

__all__ = [
    "ApiError",
    "LIMITS",
    "dispatch",
    "encode_values",
    "graph_payload",
    "lengths_payload",
    "map_payload",
    "parse_position",
    "parse_size",
    "view_payload",
    "zoo_payload",
]

LIMITS: dict[str, int] = {
    "url_bytes": 8192,  # a request line longer than this is refused with 413
    "spec_chars": 2000,  # a spec longer than this is refused (zoo names are short)
    "spec_depth": 32,  # nesting of parentheses in a spec
    "spec_layers": 5000,  # upper bound on the layers a spec expands to
    "spec_number": 100_000,  # largest number allowed in a spec (kernel, stride, repeat count)
    "axis": 4096,  # largest input size per axis
    "pixels": 640 * 640,  # largest input (pixels over all axes); also bounds the JSON answer
    "nodes": 30_000_000,  # nodes of the unrolled graph (all tensors)
    "edges": 400_000_000,  # edges of the unrolled graph
    "graph_nodes": 600,  # the drawn 1-D graph (/api/graph)
    "general_bytes": 1 << 29,  # node-level edges engine (bitsets), when the separable algebra does not apply
}
"""Per-request caps; a request beyond them gets HTTP 400/413 and a one-line reason."""

EXTRA_METRICS = ("reach",)


class ApiError(Exception):
    """A refused request: ``status`` is the HTTP status, ``str(err)`` the one-line reason."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- parsing the query


def _params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query string as a dict; unknown or repeated names are errors, not silently dropped."""
    try:
        raw = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except ValueError as err:  # too many fields
        raise ApiError(f"bad query string: {err}") from None
    out: dict[str, str] = {}
    for key, values in raw.items():
        if key not in allowed:
            raise ApiError(f"unknown parameter {key!r}; this endpoint takes {', '.join(allowed)}")
        if len(values) != 1:
            raise ApiError(f"parameter {key!r} is given {len(values)} times; give it once")
        out[key] = values[0].strip()
    return out


def _ascii_digits(text: str, what: str) -> None:
    """Refuse digits other than 0-9 (``１５``, ``١٥``), as the CLI does: Python's int() would take them."""
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise ApiError(f"{what}={text[:40]!r} holds digits that are not ASCII digits; write them as 0-9")


def parse_size(text: str, what: str = "input") -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``, within :data:`LIMITS`.

    >>> parse_size("224x224"), parse_size("15")
    ((224, 224), (15,))
    """
    _ascii_digits(text, what)
    parts = text.lower().replace(",", "x").split("x")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"[0-9]{1,7}", p) for p in parts):
        raise ApiError(f"{what}={text[:40]!r} is not a size; write e.g. 224x224 or 15 (1 to 3 axes)")
    shape = tuple(int(p) for p in parts)
    if any(n < 1 for n in shape):
        raise ApiError(f"{what}={text!r} must hold positive sizes, e.g. 224x224")
    if max(shape) > LIMITS["axis"] or math.prod(shape) > LIMITS["pixels"]:
        raise ApiError(
            f"{what}={text!r} is too large for the page: at most {LIMITS['axis']} per axis and "
            f"{LIMITS['pixels']:,} pixels in all (use the library or the CLI for larger inputs)",
            413,
        )
    return shape


def parse_position(text: str, what: str = "target") -> tuple[int, ...]:
    """``"3x4"`` -> ``(3, 4)``; bounds are checked against the network later.

    >>> parse_position("3x4"), parse_position("7")
    ((3, 4), (7,))
    """
    _ascii_digits(text, what)
    parts = text.replace(",", "x").split("x")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"[0-9]{1,9}", p) for p in parts):
        raise ApiError(f"{what}={text[:40]!r} is not a position; write e.g. 3x4 or 7")
    return tuple(int(p) for p in parts)


def _check_spec(text: str) -> None:
    """Refuse specs that would expand into huge networks, before the parser expands them."""
    if len(text) > LIMITS["spec_chars"]:
        raise ApiError(f"the spec has {len(text):,} characters; the page takes at most {LIMITS['spec_chars']:,}", 413)
    depth = deepest = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > LIMITS["spec_depth"]:
        raise ApiError(f"the spec nests {deepest} parentheses deep; the page takes at most {LIMITS['spec_depth']}")
    numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
    if numbers and max(numbers) > LIMITS["spec_number"]:
        raise ApiError(
            f"the spec holds the number {max(numbers):,}; the page takes numbers up to {LIMITS['spec_number']:,}"
        )
    # Every layer word is expanded at most (product of all repeat counts) times.
    words = len(re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", text))
    bound = words * math.prod(int(n) for n in re.findall(r"\*\s*([0-9]+)", text))
    if bound > LIMITS["spec_layers"]:
        raise ApiError(
            f"the spec may expand to about {bound:,} layers; the page takes at most {LIMITS['spec_layers']:,} "
            "(use the library or the CLI for larger networks)"
        )


def load(net: str, shape: tuple[int, ...]) -> Op:
    """A zoo name (built for ``shape`` when its geometry depends on the input), a compact spec, or
    ``torchvision:NAME`` / ``timm:NAME`` (imported once per input shape, see
    :func:`rfgraph.importers.load.registry_network`)."""
    from .. import zoo
    from ..spec import parse_spec

    if not net:
        raise ApiError("net is missing; give a spec such as conv3*5 or a zoo name such as vgg16")
    if net.startswith(TORCH_PREFIXES):  # torchvision:NAME, timm:NAME: random weights, cached per shape
        from ..importers.load import registry_network

        return registry_network(net, shape)
    if net in zoo.names():
        if "input_size" in zoo.options(net):
            return zoo.build(net, input_size=shape[0] if len(set(shape)) == 1 else shape)
        return zoo.build(net)
    _check_spec(net)
    _refuse_near_zoo_name(net)
    return parse_spec(net)


def _plan(net: str, shape: tuple[int, ...], endpoint: str | None) -> Plan:
    plan = build_plan(load(net, shape), shape, endpoint or None)
    if plan.num_nodes > LIMITS["nodes"] or plan.num_edges > LIMITS["edges"]:
        raise ApiError(
            f"the unrolled graph has {plan.num_nodes:,} nodes and {plan.num_edges:,} edges; the page takes at most "
            f"{LIMITS['nodes']:,} nodes and {LIMITS['edges']:,} edges (use a smaller input)",
            413,
        )
    return plan


def _target(plan: Plan, text: str | None) -> tuple[int, ...]:
    return check_target(plan, parse_position(text) if text else None)


def _metric(text: str | None) -> str:
    metric = text or "edges"
    if metric not in METRICS + EXTRA_METRICS:
        raise ApiError(f"metric={metric[:40]!r} is unknown; use paths, edges or reach")
    return metric


def _weights(p: dict[str, str], metric: str) -> str:
    """``weights=ones`` (default) or ``mean`` (every op averages, SPEC section 11); only for the paths metric."""
    weights = p.get("weights") or "ones"
    if weights not in ("ones", "mean"):
        raise ApiError(f"weights={weights[:40]!r} is unknown; use ones or mean")
    if weights != "ones" and metric != "paths":
        raise ApiError(f"weights={weights} applies to the paths metric only; metric={metric} counts edges")
    return weights


def _values(plan: Plan, metric: str, target: tuple[int, ...], weights: str = "ones") -> np.ndarray:
    if metric == "paths":
        return plan_contribution_map(plan, metric, target, weights=weights)
    # edges, and reach (any path at all: exactly where the edges count is positive, as rf.reach).
    # The node-level engine's time grows with its memory: above the cap, only the fast algebra may run.
    cost = _general_cost(plan)
    try:
        values = plan_contribution_map(
            plan, "edges", target, method="auto" if cost <= LIMITS["general_bytes"] else "separable"
        )
    except RFGraphError:
        if cost <= LIMITS["general_bytes"]:
            raise
        raise ApiError(
            f"this edges map needs the node-level engine with about {cost / 2**30:.1f} GiB; the page computes at most "
            f"{LIMITS['general_bytes'] / 2**30:.1f} GiB per request (use a smaller input, the paths metric, or the library)",
            413,
        ) from None
    return values > 0 if metric == "reach" else values


def _json_values(values: np.ndarray) -> list[Any]:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ApiError("the path counts overflow float64 for this network; use the edges metric or fewer layers")
    return values.tolist()


ENCODINGS = ("json", "base64")


def _encoded(values: np.ndarray, p: dict[str, str]) -> Any:
    """The map as ``encoding`` asks: a JSON list (default, SPEC section 10) or base64."""
    encoding = p.get("encoding") or "json"
    if encoding not in ENCODINGS:
        raise ApiError(f"encoding={encoding[:40]!r} is unknown; use json (the default) or base64")
    exact = p.get("exact", "0")
    if exact not in ("0", "1"):
        raise ApiError(f"exact={exact[:40]!r} must be 0 or 1")
    if encoding == "json":
        return _json_values(values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ApiError("the path counts overflow float64 for this network; use the edges metric or fewer layers")
    return encode_values(values, exact == "1")


def encode_values(values: np.ndarray, exact: bool = False) -> dict[str, Any]:
    """A map as little-endian bytes in base64: ``{"dtype", "shape", "data"}``.

    Booleans are ``uint8``; integers ``int32`` when they fit (else like floats); floats
    ``float32``, or with ``exact`` ``float32`` only where every value survives it and ``float64``
    otherwise (path counts are float64 already, so the float64 bytes are the values).  In the
    page, ``new Float32Array(bytes.buffer)`` and friends read them back.

    >>> encode_values(np.array([1.0, 2.0**30 + 1]), exact=True)["dtype"]
    'float64'
    >>> encode_values(np.array([[True, False]]))
    {'dtype': 'uint8', 'shape': [1, 2], 'data': 'AQA='}
    """
    import base64

    if values.dtype == bool:
        out = values.astype(np.uint8)
    elif values.dtype.kind in "iu" and (values.size == 0 or (values.min() >= -(2**31) and values.max() < 2**31)):
        out = values.astype("<i4")
    else:
        floats = values.astype(np.float64)
        out = floats.astype("<f4")
        if exact and not np.array_equal(out, floats):
            out = floats.astype("<f8")
    names = {"u1": "uint8", "i4": "int32", "f4": "float32", "f8": "float64"}
    dtype = names[out.dtype.str[1:]]
    data = base64.b64encode(np.ascontiguousarray(out).tobytes()).decode("ascii")
    return {"dtype": dtype, "shape": list(values.shape), "data": data}


# --------------------------------------------------------------------------- endpoints


def map_payload(query: str) -> dict[str, Any]:
    """``GET /api/map``: ``{"shape": [...], "values": [...]}`` equal to :func:`rfgraph.contribution_map`.

    ``values`` is the nested list of the map (``metric=reach``: booleans, equal to
    :func:`rfgraph.reach`).  With ``encoding=base64`` it is compact instead (see
    :func:`encode_values`): ``{"dtype": ..., "shape": [...], "data": "<base64>"}``, float32 or
    int32 (``exact=1``: every value exact, float64 where float32 would round).

    >>> status, body = dispatch("/api/map", "net=conv3*2&input=5&encoding=base64")
    >>> body["values"]
    {'dtype': 'int32', 'shape': [5], 'data': 'AgAAAAQAAAAGAAAABAAAAAIAAAA='}
    """
    p = _params(query, ("net", "input", "target", "metric", "endpoint", "weights", "encoding", "exact"))
    metric = _metric(p.get("metric"))
    weights = _weights(p, metric)
    plan = _plan(p.get("net", ""), _input(p), p.get("endpoint"))
    values = _values(plan, metric, _target(plan, p.get("target")), weights)
    return {"shape": list(values.shape), "values": _encoded(values, p)}


def _input(p: dict[str, str]) -> tuple[int, ...]:
    if p.get("input"):
        return parse_size(p["input"])
    from .. import zoo

    net = p.get("net", "")
    if net in zoo.names():
        return parse_size("x".join(map(str, zoo.default_input(net))))
    _refuse_near_zoo_name(net)
    raise ApiError("input is missing; give the input size, e.g. input=224x224 or input=15")


def _refuse_near_zoo_name(net: str) -> None:
    """A word that is no spec but close to a zoo name (``resnet5``) is a typo: say which names are near."""
    import difflib

    from .. import zoo
    from ..spec import parse_spec

    close = difflib.get_close_matches(net[:100], zoo.names(), n=3)
    if not close:
        return
    try:
        parse_spec(net[: LIMITS["spec_chars"]])
    except RFGraphError:
        raise ApiError(f"unknown network {net[:40]!r}; did you mean {' or '.join(map(repr, close))}?") from None


def _analysed(net: str, shape: tuple[int, ...], endpoint: str | None, notes: list[str]) -> tuple[Plan, str | None]:
    """The plan to draw: a classifier's global output is replaced by its last spatial tensor."""
    plan = _plan(net, shape, endpoint)
    if endpoint is None and all(n == 1 for n in plan.output.shape):
        spatial = [t for t in plan.tensors[1:] if any(n > 1 for n in t.shape)]
        if spatial:
            endpoint = spatial[-1].name
            notes.append(
                f"the output is global (shape {plan.output.shape}); showing the last spatial tensor, {endpoint}"
            )
            plan = _plan(net, shape, endpoint)
    return plan, endpoint


def _records(plan: Plan, notes: list[str]) -> list[RFRecord] | None:
    try:
        return plan_receptive_field(plan)
    except RFGraphError as err:  # no single size/stride describes the tensor: the map is still exact
        notes.append(f"no receptive-field table: {' '.join(str(err).split())}")
        return None


def _number(v: Any) -> Any:
    v = float(v)
    if not math.isfinite(v):
        return None  # JSON has no infinity; the page shows a dash
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def view_payload(query: str) -> dict[str, Any]:
    """``GET /api/view``: everything the page draws for one network, input, target and metric.

    Keys: ``input``, ``output`` (shape of the analysed tensor), ``endpoint``, ``target``,
    ``metric``, ``values`` (the map; for 3-D inputs the slice through the peak on axis 0;
    ``encoding=base64``: compact, as for ``/api/map``),
    ``max``, ``total``, ``nonzero``, ``box`` (theoretical field, clipped), ``rf_size``,
    ``erf`` (95% square), ``columns``/``rows`` (receptive-field table), ``notes``.
    """
    from ..plot import effective_rf, exact_box, theoretical_box

    p = _params(query, ("net", "input", "target", "metric", "endpoint", "weights", "encoding", "exact"))
    metric = _metric(p.get("metric"))
    weights = _weights(p, metric)
    shape, net = _input(p), p.get("net", "")
    notes: list[str] = []
    plan, endpoint = _analysed(net, shape, p.get("endpoint") or None, notes)
    records = _records(plan, notes)
    target = _target(plan, p.get("target"))
    values = _values(plan, metric, target, weights)
    numeric = values.astype(np.float64)
    rec = records[-1] if records else None
    box = theoretical_box(rec, target, shape) if rec else None
    if rec is not None and (not rec.uniform or rec.global_context):
        box = exact_box(numeric)  # not a regular window (SPEC section 5): the exact field
    erf = None
    if numeric.sum() > 0:
        e = effective_rf(numeric, 0.95)
        erf = {"box": [list(b) for b in e.box], "size": list(e.size), "fraction": e.fraction}
    shown = values
    if values.ndim == 3:
        peak = int(np.unravel_index(int(np.argmax(numeric)), values.shape)[0])
        shown = values[peak]
        notes.append(f"3-D input: showing the slice {peak} of axis 0, through the peak")
    if getattr(rec, "global_context", False):  # flags added by SPEC section 5; absent in older records
        notes.append("global context: every input pixel reaches every output position")
    if not getattr(rec, "uniform", True):
        notes.append("the fields of this tensor are not uniform: the size is the largest over positions")
    if records:
        from ..arithmetic.notes import table_notes

        notes.extend(table_notes(plan, records))  # why token mixers' fields look as they do, as the CLI says
    return {
        "net": net,
        "input": list(shape),
        "output": list(plan.output.shape),
        "endpoint": endpoint,
        "target": list(target),
        "metric": metric,
        "values": _encoded(shown, p),
        "max": _number(numeric.max()),
        "total": _number(numeric.sum()),
        "nonzero": int(np.count_nonzero(values)),
        "box": None if box is None else [list(b) for b in box],
        "rf_size": list(rec.size) if rec else None,
        "rf_stride": [_number(s) for s in rec.stride] if rec else None,
        "erf": erf,
        "columns": list(TABLE_COLUMNS),
        "rows": table_rows(records) if records else [],
        "notes": notes,
    }


def graph_payload(query: str) -> dict[str, Any]:
    """``GET /api/graph``: the unrolled graph of a small 1-D network, for drawing.

    ``layers``: per tensor its name and, per node, the x position (centre of the
    input pixels that reach it); ``edges``: ``[layer_u, u, layer_v, v]``; ``target``.
    The page highlights the paths from a clicked input itself.
    """
    from ..engine.graph import plan_to_networkx

    p = _params(query, ("net", "input", "target", "endpoint"))
    shape = _input(p)
    if len(shape) != 1:
        raise ApiError(f"the graph is drawn for 1-D networks; input={'x'.join(map(str, shape))} has {len(shape)} axes")
    plan = _plan(p.get("net", ""), shape, p.get("endpoint"))
    if plan.num_nodes > LIMITS["graph_nodes"]:
        raise ApiError(
            f"the unrolled graph has {plan.num_nodes:,} nodes, more than the {LIMITS['graph_nodes']} the page draws; "
            "use a smaller input, e.g. input=15"
        )
    target = _target(plan, p.get("target"))
    graph = plan_to_networkx(plan, LIMITS["graph_nodes"])
    # Each node sits above the mean of the input pixels that reach it, as in rfgraph.plot.plot_graph.
    sums: dict[Any, tuple[float, int]] = {(0, i): (float(i), 1) for i in range(shape[0])}
    for t in plan.tensors[1:]:
        for o in range(t.shape[0]):
            node = (t.index, o)
            parts = [sums[u] for u in graph.predecessors(node) if u in sums]
            total, count = sum(s for s, _ in parts), sum(c for _, c in parts)
            if count:
                sums[node] = (total, count)
    layers = []
    for t in plan.tensors:
        xs = []
        for o in range(t.shape[0]):
            s, c = sums.get((t.index, o), (0.0, 0))
            xs.append(s / c if c else (o + 0.5) * shape[0] / t.shape[0] - 0.5)
        layers.append({"name": t.name, "x": xs})
    edges = [[u[0], u[1], v[0], v[1]] for u, v in graph.edges]
    return {"input": list(shape), "layers": layers, "edges": edges, "target": list(target)}


def lengths_payload(query: str) -> dict[str, Any]:
    """``GET /api/lengths``: path counts by length, :func:`rfgraph.path_lengths` (SPEC section 11).

    ``op_graph``: over the network's op graph (Veit et al. 2016: C(n, k) for n one-conv residual
    blocks); ``pixels``: pixel-level paths from every input pixel to the target, by length;
    with ``per_pixel=1`` (1-D inputs only) also ``per_pixel[k][i]``, the paths of length k from pixel i.
    """
    from ..engine.lengths import path_lengths

    p = _params(query, ("net", "input", "target", "endpoint", "per_pixel"))
    shape, net, endpoint = _input(p), p.get("net", ""), p.get("endpoint") or None
    plan = _plan(net, shape, endpoint)  # the page's caps, before counting
    target = _target(plan, p.get("target"))
    network = load(net, shape)
    op_graph = [int(c) for c in path_lengths(network, endpoint=endpoint)]
    # One sweep over the pixels per length: cap lengths x pixels before counting them.
    work = len(op_graph) * math.prod(shape)
    if work > 64 * LIMITS["pixels"]:
        raise ApiError(
            f"counting {len(op_graph)} path lengths over {math.prod(shape):,} pixels is more than the page computes "
            "(use a smaller input or the library's rf.path_lengths)",
            413,
        )
    out: dict[str, Any] = {
        "op_graph": op_graph,
        "pixels": [int(c) for c in path_lengths(network, shape, target, endpoint=endpoint)],
        "target": list(target),
    }
    if p.get("per_pixel") not in (None, "", "0"):
        if len(shape) != 1:
            raise ApiError("per_pixel=1 is for 1-D inputs (the answer holds one map per path length)")
        out["per_pixel"] = path_lengths(network, shape, target, per_pixel=True, endpoint=endpoint).tolist()
    return out


def zoo_payload(query: str) -> dict[str, Any]:
    """``GET /api/zoo``: the built-in networks with their family, default input and description."""
    from .. import zoo

    _params(query, ())
    return {
        "networks": [
            {
                "name": e.name,
                "family": e.family,
                "input": "x".join(map(str, e.default_input)),
                "description": e.description,
            }
            for e in zoo.entries()
        ]
    }


ENDPOINTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "/api/map": map_payload,
    "/api/view": view_payload,
    "/api/graph": graph_payload,
    "/api/zoo": zoo_payload,
    "/api/lengths": lengths_payload,
}


def dispatch(path: str, query: str) -> tuple[int, dict[str, Any]]:
    """Answer one API request: ``(HTTP status, JSON-ready dict)``; never raises for bad input."""
    handler = ENDPOINTS.get(path)
    if handler is None:
        return 404, {"error": f"no such endpoint {path[:80]!r}; try {', '.join(ENDPOINTS)}"}
    try:
        return 200, handler(query)
    except ApiError as err:
        return err.status, {"error": str(err)}
    except RFGraphError as err:
        return 400, {"error": " ".join(str(err).split())}
    except (MemoryError, RecursionError, OverflowError) as err:
        return 413, {
            "error": f"the request is too large to compute ({type(err).__name__}); use a smaller network or input"
        }
