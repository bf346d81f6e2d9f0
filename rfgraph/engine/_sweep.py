"""The float64 path sweep compiled over a flattened link table (issue 28).

:mod:`rfgraph.engine._paths` pulls the gradient through one link at a time from Python: a copy, a
numba call and an allocation per link, which is most of a DAG's map (DenseNet-121 has 717
links, 609 of them identities).  Here a cropped plan is flattened once into arrays (cached
with the plan):

* every tensor is a row range of one buffer ``buf`` of shape ``(nodes, batch)``; the batch
  holds several seeds at once (a list of targets, or ``target="all"`` as one seed of ones);
* every link is a row of a table: source, destination and per axis the id of a CSR map
  (``-1`` where the link is the identity on that axis), with the edge weights of SPEC
  section 11 alongside (ones for path counts);
* ``_dense_sweep`` (numba, :mod:`rfgraph.engine._kernels_sweep`) walks the table once from the output to the input: identity
  links are in-place adds, others pull axis by axis through two scratch buffers, per-tensor
  gains scale a tensor before its links are pulled.

A chain (each tensor one link and one consumer, as VGG) needs no dense array at all: its map
is the outer product of one vector per axis, and :func:`_chain_sweep` pulls those vectors
through the whole table in one call.

Every count is a sum of products of the same edges as the reference's, in float64: exact
below 2**53 (tests/test_engine.py and tests/test_many_targets.py compare with
:mod:`rfgraph.reference` and the Python sweep).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from ..geometry import AxisMap
from ..plan import Plan

__all__ = ["LinkTable", "link_table", "dense_paths", "chain_paths", "is_chain"]

NDIM = 3  # plans have 1 to 3 axes; shorter ones are padded with size-1 axes (identity maps)


@dataclass(frozen=True, eq=False)
class LinkTable:
    """A cropped plan as arrays (see the module docstring)."""

    offsets: np.ndarray  # (tensors + 1,) first row of each tensor in the buffer
    shapes: np.ndarray  # (tensors, 3)
    first_link: np.ndarray  # (tensors + 1,) links of tensor t: first_link[t] .. first_link[t + 1]
    link_src: np.ndarray  # (links,)
    link_maps: np.ndarray  # (links, 3) map id per axis, -1 = identity
    map_ptr: np.ndarray  # (maps + 1,) start of each map's indptr in indptr_all
    idx_ptr: np.ndarray  # (maps + 1,) start of each map's indices in indices_all
    indptr_all: np.ndarray
    indices_all: np.ndarray
    weights_all: np.ndarray
    map_nin: np.ndarray
    map_window: np.ndarray  # (maps, 4) stride, dilation, offset, taps of window maps (taps 0: CSR)
    scratch_rows: int  # rows one scratch buffer needs per batch column
    ndim: int

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def longest(self) -> int:
        return int(self.shapes.max())

    @property
    def biggest(self) -> int:
        return int(np.diff(self.offsets).max(initial=1))


_TABLES: weakref.WeakKeyDictionary[Plan, dict[bool, LinkTable]] = weakref.WeakKeyDictionary()


def _is_identity(m: AxisMap, weighted: bool) -> bool:
    if m.n_in != m.n_out or m.nnz != m.n_out:
        return False
    if weighted and m.weights is not None and not np.all(m.weights == 1.0):
        return False
    every = np.arange(m.n_out + 1)
    return bool(np.array_equal(m.indptr, every) and np.array_equal(m.indices, every[:-1]))


def _window(m: AxisMap, weighted: bool) -> tuple[int, int, int, int]:
    """``(stride, dilation, offset, taps)`` when output ``v`` of ``m`` reads exactly the inputs
    ``v * stride + offset + j * dilation`` (``j < taps``) inside the input, with weight one;
    ``taps = 0`` otherwise (the kernel then reads the CSR arrays)."""
    if weighted and m.weights is not None and not np.all(m.weights == 1.0):
        return (0, 0, 0, 0)
    counts = np.diff(m.indptr)
    taps = int(counts.max(initial=0))
    if taps == 0:
        return (0, 0, 0, 0)
    full = np.flatnonzero(counts == taps)
    v0 = int(full[0])
    first0 = int(m.indices[m.indptr[v0]])
    dilation = int(m.indices[m.indptr[v0] + 1]) - first0 if taps > 1 else 1
    if len(full) > 1:
        v1 = int(full[-1])
        step, rem = divmod(int(m.indices[m.indptr[v1]]) - first0, v1 - v0)
        if rem or step < 0:
            return (0, 0, 0, 0)
    else:
        step = 1
    if dilation < 1:
        return (0, 0, 0, 0)
    offset = first0 - v0 * step
    ins = np.arange(m.n_out)[:, None] * step + offset + np.arange(taps)[None, :] * dilation
    keep = (ins >= 0) & (ins < m.n_in)
    if not np.array_equal(np.diff(m.indptr), keep.sum(axis=1)) or not np.array_equal(m.indices, ins[keep]):
        return (0, 0, 0, 0)
    return (step, dilation, offset, taps)


def link_table(plan: Plan, weighted: bool = False) -> LinkTable:
    """The flattened table of ``plan`` (cached with the plan); ``weighted`` keeps SPEC section 11's weights."""
    per_plan = _TABLES.setdefault(plan, {})
    table = per_plan.get(weighted)
    if table is None:
        table = per_plan[weighted] = _build(plan, weighted)
    return table


def _build(plan: Plan, weighted: bool) -> LinkTable:
    n = len(plan.tensors)
    ndim = plan.ndim
    shapes = np.ones((n, NDIM), dtype=np.int64)
    for t in plan.tensors:
        shapes[t.index, :ndim] = t.shape
    sizes = shapes.prod(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    first_link = np.zeros(n + 1, dtype=np.int64)
    srcs: list[int] = []
    link_maps: list[list[int]] = []
    maps: list[AxisMap] = []
    ids: dict[int, int] = {}
    scratch = 0
    for t in plan.tensors:
        first_link[t.index] = len(srcs)
        for link in t.links:
            row = [-1] * NDIM
            for a, m in enumerate(link.maps):
                if _is_identity(m, weighted):
                    continue
                key = id(m)
                if key not in ids:
                    ids[key] = len(maps)
                    maps.append(m)
                row[a] = ids[key]
            srcs.append(link.source)
            link_maps.append(row)
            # Axis by axis from the last: the intermediate shapes mix output and input sizes.
            cur = list(shapes[t.index])
            src_shape = shapes[link.source]
            for a in range(NDIM - 1, -1, -1):
                if row[a] >= 0:
                    cur[a] = int(src_shape[a])
                    scratch = max(scratch, math.prod(cur))
    first_link[n] = len(srcs)
    map_ptr = np.zeros(len(maps) + 1, dtype=np.int64)
    idx_ptr = np.zeros(len(maps) + 1, dtype=np.int64)
    for i, m in enumerate(maps):
        map_ptr[i + 1] = map_ptr[i] + m.n_out + 1
        idx_ptr[i + 1] = idx_ptr[i] + m.nnz
    empty = np.zeros(0, dtype=np.int64)
    indptr_all = np.concatenate([m.indptr for m in maps]) if maps else empty
    indices_all = np.concatenate([m.indices for m in maps]) if maps else empty
    weights_all = (
        np.concatenate([m.weights if (weighted and m.weights is not None) else np.ones(m.nnz) for m in maps])
        if maps
        else np.zeros(0)
    )
    return LinkTable(
        offsets=offsets,
        shapes=shapes,
        first_link=first_link,
        link_src=np.array(srcs, dtype=np.int64),
        link_maps=np.array(link_maps, dtype=np.int64).reshape(-1, NDIM),
        map_ptr=map_ptr,
        idx_ptr=idx_ptr,
        indptr_all=np.ascontiguousarray(indptr_all, dtype=np.int64),
        indices_all=np.ascontiguousarray(indices_all, dtype=np.int64),
        weights_all=np.ascontiguousarray(weights_all, dtype=np.float64),
        map_nin=np.array([m.n_in for m in maps], dtype=np.int64),
        map_window=np.array([_window(m, weighted) for m in maps], dtype=np.int64).reshape(-1, 4),
        scratch_rows=max(scratch, 1),
        ndim=ndim,
    )


def _gain_array(plan: Plan, gains: dict[int, float | int] | None) -> np.ndarray:
    out = np.ones(len(plan.tensors), dtype=np.float64)
    for index, g in (gains or {}).items():
        out[index] *= float(g)
    return out


def dense_paths(
    plan: Plan,
    seeds: np.ndarray,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> np.ndarray:
    """Path counts (or weighted sums) from every seed column to the input, one compiled sweep.

    ``seeds`` is ``(output nodes, batch)`` float64 (row-major positions of ``plan.output``);
    returns ``(batch, *plan.input_shape)``.
    """
    from ._kernels_sweep import _dense_sweep

    table = link_table(plan, weighted)
    batch = seeds.shape[1]
    buf = np.zeros((table.rows, batch), dtype=np.float64)
    top = len(plan.tensors) - 1
    buf[table.offsets[top] : table.offsets[top + 1]] = seeds
    s1 = np.empty(table.scratch_rows * batch, dtype=np.float64)
    s2 = np.empty(table.scratch_rows * batch, dtype=np.float64)
    _dense_sweep(
        buf.reshape(-1),
        batch,
        table.offsets,
        table.shapes,
        table.first_link,
        table.link_src,
        table.link_maps,
        table.map_ptr,
        table.idx_ptr,
        table.indptr_all,
        table.indices_all,
        table.weights_all,
        table.map_nin,
        table.map_window,
        _gain_array(plan, gains),
        top,
        s1,
        s2,
    )
    rows = buf[: table.offsets[1]]
    return np.ascontiguousarray(rows.T).reshape((batch,) + plan.input_shape)


def is_chain(plan: Plan) -> bool:
    """Every tensor but the input has one link, from the tensor just before it."""
    return all(len(t.links) == 1 and t.links[0].source == t.index - 1 for t in plan.tensors[1:])


def chain_paths(
    plan: Plan,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> list[np.ndarray]:
    """A chain's map to the single node of its cropped output, as one vector per axis.

    The map is their outer product (times the product of the gains, folded into the first).
    """
    from ._kernels_sweep import _chain_sweep

    table = link_table(plan, weighted)
    top = len(plan.tensors) - 1
    longest = table.longest
    vectors = []
    for axis in range(plan.ndim):
        start = np.zeros(longest, dtype=np.float64)
        start[: plan.output.shape[axis]] = 1.0
        vec = _chain_sweep(
            start,
            axis,
            table.shapes,
            table.first_link,
            table.link_maps,
            table.map_ptr,
            table.idx_ptr,
            table.indptr_all,
            table.indices_all,
            table.weights_all,
            top,
        )
        vectors.append(vec[: plan.input_shape[axis]])
    if gains:
        gain = float(np.prod(_gain_array(plan, gains)))
        if gain != 1.0:
            vectors[0] = vectors[0] * gain
    return vectors


def biggest(plan: Plan) -> int:
    """Nodes of the largest tensor of ``plan`` (from its cached table)."""
    return link_table(plan).biggest


def outer(vectors: list[np.ndarray]) -> np.ndarray:
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out


def sweep_bytes(plan: Plan, batch: int, weighted: bool = False) -> int:
    """Bytes of :func:`dense_paths` for ``batch`` seeds (the buffer, two scratch buffers, the result)."""
    table = link_table(plan, weighted)
    return 8 * batch * (table.rows + 2 * table.scratch_rows + 2 * int(table.offsets[1]))


def stays_factored(plan: Plan) -> bool:
    """Whether :func:`rfgraph.engine._paths.sweep` keeps every gradient a sum of outer products (never dense)."""
    from ._paths import _dense_is_cheaper

    terms = [0] * len(plan.tensors)
    terms[-1] = 1
    for t in reversed(plan.tensors):
        r = terms[t.index]
        if r == 0 or t.op is None:
            continue
        if _dense_is_cheaper(r, t.shape):
            return False
        for link in t.links:
            terms[link.source] += r
    return True


def float_paths(
    plan: Plan,
    window: tuple[tuple[int, int], ...] | None = None,
    full_shape: tuple[int, ...] | None = None,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> tuple[np.ndarray, float]:
    """float64 paths (or weighted sums) of a cropped plan seeded with ones on its whole output,
    and the largest absolute value.

    A chain is swept as one vector per axis (their outer product written straight into the
    map; its peak is the product of the vectors' peaks, the same float product); a network
    whose gradient stays a few outer products goes through :func:`rfgraph.engine._paths.sweep`; any
    other through :func:`dense_paths`.  With ``window`` and ``full_shape`` the map is returned
    in the uncropped input (zeros outside the window).
    """
    kind = _kind(plan)
    if kind == "chain":
        vectors = chain_paths(plan, weighted=weighted, gains=gains)
        peak = 1.0
        for v in vectors:
            peak *= float(np.abs(v).max(initial=0.0))
        if window is None or full_shape is None:
            return outer(vectors), peak
        out = np.zeros(full_shape)
        inner = out[tuple(slice(lo, hi) for lo, hi in window)]
        if len(vectors) == 1:
            inner[...] = vectors[0]
        else:
            first = vectors[0] if len(vectors) == 2 else np.multiply.outer(vectors[0], vectors[1])
            np.multiply.outer(first, vectors[-1], out=inner)
        return out, peak
    if kind == "factored":
        from ._paths import dense_result, sweep

        g = sweep(plan, [np.ones((1, n)) for n in plan.output.shape], weighted=weighted, gains=gains)
        values = dense_result(g, None)[0]
    else:
        seeds = np.ones((plan.output.size, 1))
        values = dense_paths(plan, seeds, weighted=weighted, gains=gains)[0]
    peak = float(np.abs(values).max(initial=0.0))
    if window is None or full_shape is None or values.shape == full_shape:
        return values, peak
    out = np.zeros(full_shape)
    out[tuple(slice(lo, hi) for lo, hi in window)] = values
    return out, peak


_KINDS: weakref.WeakKeyDictionary[Plan, str] = weakref.WeakKeyDictionary()


def _kind(plan: Plan) -> str:
    """``"chain"``, ``"factored"`` (stays a few outer products) or ``"dense"`` (cached with the plan)."""
    kind = _KINDS.get(plan)
    if kind is None:
        kind = _KINDS[plan] = "chain" if is_chain(plan) else ("factored" if stays_factored(plan) else "dense")
    return kind


def _area(window: tuple[tuple[int, int], ...] | None) -> int:
    return 0 if window is None else math.prod(hi - lo for lo, hi in window)


def batched_paths(
    plan: Plan,
    targets: list[tuple[int, ...]],
    budget: int,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> np.ndarray | None:
    """float64 maps of many targets in batched sweeps: ``(len(targets), *plan.input_shape)``.

    The plan is cropped once to the union of the targets' fields and every target is a one-hot
    seed column; columns go in chunks of at most ``budget`` bytes.  None when one sweep per
    target is cheaper (targets far apart: the union is much larger than one field).
    """
    from ._crop import crop_plan, field_windows

    boxes = [tuple((i, i + 1) for i in t) for t in targets]
    windows = field_windows(plan, boxes)
    if windows[0] is None:
        return None
    # One field (the largest of three samples) against the union: a crop and a table per target
    # cost more than a batch column over a somewhat larger box, so batch unless the targets lie
    # far apart (the union many times one field).
    samples = {boxes[0], boxes[len(boxes) // 2], boxes[-1]}
    field = max(_area(field_windows(plan, [b])[0]) for b in samples)
    if _area(windows[0]) > 8 * max(field, 1):
        return None
    cp = crop_plan(plan, windows)
    out_window = windows[-1]
    assert out_window is not None
    out_shape = cp.output.shape
    flat = [int(np.ravel_multi_index(tuple(i - lo for i, (lo, _) in zip(t, out_window)), out_shape)) for t in targets]
    per_column = sweep_bytes(cp, 1, weighted)
    chunk = max(1, budget // max(per_column, 1))
    result = np.zeros((len(targets),) + plan.input_shape, dtype=np.float64)
    inner = tuple(slice(lo, hi) for lo, hi in windows[0])
    for start in range(0, len(targets), chunk):
        part = flat[start : start + chunk]
        seeds = np.zeros((cp.output.size, len(part)))
        seeds[part, np.arange(len(part))] = 1.0
        values = dense_paths(cp, seeds, weighted=weighted, gains=gains)
        result[(slice(start, start + len(part)),) + inner] = values
    return result
