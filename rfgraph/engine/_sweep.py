"""The float64 path sweep compiled over a flattened link table (issue 28).

:mod:`rfgraph.engine._paths` pulls the gradient through one link at a time from Python: a copy, a
numba call and an allocation per link, which is most of a DAG's map (DenseNet-121 has 717
links, 609 of them identities).  Here a cropped plan is flattened once into arrays (cached
with the plan, and packed into one int64 array for the kernels):

* every tensor is a row range of one pool of shape ``(rows, batch)``, shared by tensors whose
  gradients are not alive at once (:func:`_lifetimes`); the batch holds several seeds at once
  (a list of targets) or one (a target, or ``target="all"`` as one seed of ones); the input is
  written into the returned map;
* every link is a row of a table: source, kind (pull, skip, copy, first write), axis order and
  per axis the id of a map (``-1`` where the link is the identity on that axis); window maps
  carry (stride, dilation, offset, taps) and need no CSR arrays, others keep theirs with the
  edge weights of SPEC section 11 (ones for path counts);
* ``_dense_sweep`` (numba, :mod:`rfgraph.engine._kernels_sweep`) walks the table once from the
  output to the input; per-tensor gains scale a tensor before its links are pulled.

A chain (each tensor one link and one consumer, as VGG) needs no dense array at all: its map
is the outer product of one vector per axis, and ``_chain_map``
(:mod:`rfgraph.engine._kernels_chain`) pulls those vectors through the whole table and writes
their product into the map in one call.  :func:`paths_program` binds either to a function of
no arguments (the engine's bound programs).

Every count is a sum of products of the same edges as the reference's, in float64: exact
below 2**53 (tests/test_engine.py, tests/test_many_targets.py and tests/test_sweep_kernels.py
compare with :mod:`rfgraph.engine.reference` and the Python sweep).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..geometry import AxisMap
from ..plan import Plan

__all__ = ["LinkTable", "link_table", "dense_paths", "paths_program", "float_paths", "is_chain"]

NDIM = 3  # plans have 1 to 3 axes; shorter ones are padded with size-1 axes (identity maps)


@dataclass(frozen=True, eq=False)
class LinkTable:
    """A cropped plan as arrays (see the module docstring)."""

    offsets: np.ndarray  # (tensors,) first row of each tensor in the pool (the input: in its own array)
    sizes: np.ndarray  # (tensors,) rows of each tensor
    live: np.ndarray  # (tensors,) 1 where some link reaches the tensor from the output
    pool_rows: int  # rows of the pool every tensor but the input lives in
    shapes: np.ndarray  # (tensors, 3)
    first_link: np.ndarray  # (tensors + 1,) links of tensor t: first_link[t] .. first_link[t + 1]
    link_src: np.ndarray  # (links,)
    # (links,) 0: pull and add; 1: skip (the source shares the rows); 2: copy (identity, first write)
    link_kind: np.ndarray
    link_order: np.ndarray  # (links,) 0: axes pulled last-first, 1: first-first
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
    def longest(self) -> int:
        return int(self.shapes.max())

    @property
    def biggest(self) -> int:
        return int(self.sizes.max(initial=1))


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


def _axis_order(
    out_shape: np.ndarray, in_shape: np.ndarray, row: list[int], maps: list[AxisMap], weighted: bool
) -> tuple[int, ...]:
    """The cheaper of pulling a link's axes last-first or first-first (``(2, 1, 0)`` or ``(0, 1, 2)``).

    An axis costs the values it moves (rows x edges x run); along runs of one that is a scalar
    loop, and a sum of many outputs into one input (a broadcast's pull) a chain of dependent
    adds, so those count four times: a squeeze-and-excitation gate's (112, 112) <- (1, 1)
    link sums 112 rows of 112 (vectorised) before its one row, not 112 rows one by one.
    """

    def cost(order: tuple[int, ...]) -> float:
        cur = [int(n) for n in out_shape]
        total = 0.0
        for a in order:
            if row[a] < 0:
                continue
            m = maps[row[a]]
            run = math.prod(cur[a + 1 :])
            work = float(math.prod(cur[:a]) * m.nnz * run)
            if run == 1:
                window = _window(m, weighted)
                work *= 4 if window[3] == 0 or window[0] == 0 else 1.5
            total += work
            cur[a] = int(in_shape[a])
        return total

    down, up = tuple(range(NDIM - 1, -1, -1)), tuple(range(NDIM))
    return up if cost(up) < cost(down) else down


# The int64 sections of a packed table, in the order the kernels' packed entries slice them.
_SECTIONS = (
    "offsets",
    "shapes",
    "sizes",
    "live",
    "first_link",
    "link_src",
    "link_kind",
    "link_order",
    "link_maps",
    "map_ptr",
    "idx_ptr",
    "indptr_all",
    "indices_all",
    "map_nin",
    "map_window",
)
_PACKED: weakref.WeakKeyDictionary[LinkTable, np.ndarray] = weakref.WeakKeyDictionary()


def packed(table: LinkTable) -> np.ndarray:
    """The int64 arrays of ``table`` as one array (cached): a header of section starts, the
    sections of ``_SECTIONS``, then the counts (tensors, links, maps, pool rows, scratch rows,
    second scratch rows, axes)."""
    itab = _PACKED.get(table)
    if itab is None:
        parts = [np.ascontiguousarray(getattr(table, name), dtype=np.int64).reshape(-1) for name in _SECTIONS]
        head = len(_SECTIONS) + 1
        starts = np.cumsum([head] + [p.size for p in parts])
        counts = [len(table.sizes), len(table.link_src), len(table.map_nin), table.pool_rows]
        counts += [table.scratch_rows, table.scratch_rows if table.ndim == 3 else 0, table.ndim]
        itab = np.concatenate([starts, *parts, np.array(counts, dtype=np.int64)]).astype(np.int64)
        itab.setflags(write=False)
        _PACKED[table] = itab
    return itab


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
    first_link = np.zeros(n + 1, dtype=np.int64)
    srcs: list[int] = []
    link_maps: list[list[int]] = []
    maps: list[AxisMap] = []
    ids: dict[int, int] = {}
    orders: list[int] = []
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
            axes_order = _axis_order(shapes[t.index], shapes[link.source], row, maps, weighted)
            orders.append(0 if axes_order[0] == NDIM - 1 else 1)
            # Axis by axis: the intermediate shapes mix output and input sizes.
            cur = list(shapes[t.index])
            src_shape = shapes[link.source]
            for a in axes_order:
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
    identity = [all(a < 0 for a in row) for row in link_maps]
    offsets, live, pool_rows, kind = _lifetimes(plan, sizes, first_link, srcs, identity)
    return LinkTable(
        offsets=offsets,
        sizes=sizes,
        live=live,
        pool_rows=pool_rows,
        shapes=shapes,
        first_link=first_link,
        link_src=np.array(srcs, dtype=np.int64),
        link_kind=kind,
        link_order=np.array(orders, dtype=np.int64),
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


def _lifetimes(
    plan: Plan, sizes: np.ndarray, first_link: np.ndarray, srcs: list[int], identity: list[bool]
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Rows of a pool shared by tensors whose gradients are not alive at once, and each link's kind.

    Sweeping from the output down, tensor ``s`` is first written while its highest consumer is
    pulled and is dead once ``s`` itself is pulled; first-fit over a free list keeps the pool
    near the largest live set (ResNet-50: a tenth of all the tensors), so the sweep touches
    less memory.  A tensor whose only consumer reads it through an identity link has that
    consumer's gradient (after its gain): it shares the consumer's rows and the link is skipped
    (kind 1).  Every other tensor's first write copies (an identity link, kind 2) or assigns
    (kind 3: the kernel's row gather writes every row; other pulls zero the rows just before),
    so no tensor is zeroed ahead.  The input is not in the pool: the kernel writes it into the
    returned map.
    """
    n = len(plan.tensors)
    top = n - 1
    birth = np.full(n, -1, dtype=np.int64)
    birth[top] = top
    uses = np.zeros(n, dtype=np.int64)
    for t in range(top, 0, -1):
        if birth[t] < 0:
            continue  # never reached from the output: never written, never pulled
        for li in range(first_link[t], first_link[t + 1]):
            birth[srcs[li]] = max(birth[srcs[li]], t)
            uses[srcs[li]] += 1
    kind = np.zeros(len(srcs), dtype=np.int64)
    owner = np.arange(n)
    for t in range(top, 0, -1):
        if birth[t] < 0:
            continue
        first_into: dict[int, int] = {}
        for li in range(first_link[t], first_link[t + 1]):
            s = srcs[li]
            if s != 0 and uses[s] == 1 and identity[li]:
                kind[li] = 1
                owner[s] = owner[t]
            elif birth[s] == t and s not in first_into:
                first_into[s] = li
                kind[li] = 2 if identity[li] else 3
    last_member = {int(o): min(int(m) for m in np.flatnonzero(owner == o)) for o in set(owner.tolist())}
    free: list[list[int]] = []  # [start, length], sorted by start
    end = 0
    offsets = np.zeros(n, dtype=np.int64)

    def take(size: int) -> int:
        nonlocal end
        for i, (start, length) in enumerate(free):
            if length >= size:
                if length == size:
                    free.pop(i)
                else:
                    free[i] = [start + size, length - size]
                return start
        # Nothing fits: grow the last free block if it ends the pool, else append.
        start = free.pop()[0] if free and free[-1][0] + free[-1][1] == end else end
        end = start + size
        return start

    def give(start: int, size: int) -> None:
        free.append([start, size])
        free.sort()
        merged: list[list[int]] = []
        for block in free:
            if merged and merged[-1][0] + merged[-1][1] == block[0]:
                merged[-1][1] += block[1]
            else:
                merged.append(block)
        free[:] = merged

    born_lists: list[list[int]] = [[] for _ in range(n)]
    for s in range(1, top):
        if birth[s] >= 0 and owner[s] == s:
            born_lists[int(birth[s])].append(s)
    offsets[top] = take(int(sizes[top]))
    for step in range(top, 0, -1):
        for s in born_lists[step]:
            offsets[s] = take(int(sizes[s]))
        if birth[step] >= 0:
            if owner[step] != step:
                offsets[step] = offsets[owner[step]]
            if last_member[int(owner[step])] == step:
                give(int(offsets[step]), int(sizes[step]))
    return offsets, (birth >= 0).astype(np.int64), max(end, 1), kind


_ONES: weakref.WeakKeyDictionary[Plan, np.ndarray] = weakref.WeakKeyDictionary()


def _gain_array(plan: Plan, gains: dict[int, float | int] | None) -> np.ndarray:
    if not gains:  # one read-only array of ones per plan
        ones = _ONES.get(plan)
        if ones is None:
            ones = _ONES[plan] = np.ones(len(plan.tensors), dtype=np.float64)
            ones.setflags(write=False)
        return ones
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
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Path counts (or weighted sums) from every seed column to the input, one compiled sweep.

    ``seeds`` is ``(output nodes, batch)`` float64 (row-major positions of ``plan.output``);
    returns ``(batch, *plan.input_shape)``.  ``out``: for one column, a contiguous float64
    array of the input's size to write the map into (zeros where nothing reaches).
    """
    from ._kernels_sweep import _dense_entry

    table = link_table(plan, weighted)
    batch = seeds.shape[1]
    top = len(plan.tensors) - 1
    pool_rows = table.pool_rows * batch
    work = np.empty(pool_rows + (table.scratch_rows + _scratch2(table)) * batch, dtype=np.float64)
    if out is None:
        out = (np.empty if table.live[0] else np.zeros)(int(table.sizes[0]) * batch, dtype=np.float64)
    else:
        assert batch == 1 and out.size == table.sizes[0] and out.flags.c_contiguous
        if not table.live[0]:
            out[...] = 0.0
    start = int(table.offsets[top]) * batch
    work[start : start + seeds.size] = seeds.reshape(-1)
    _dense_entry(work, out, packed(table), table.weights_all, _gain_array(plan, gains), batch)
    if batch == 1:
        return out.reshape((1,) + plan.input_shape)
    return np.ascontiguousarray(out.reshape(-1, batch).T).reshape((batch,) + plan.input_shape)


def _scratch2(table: LinkTable) -> int:
    """Rows of the second scratch buffer (only a 3-D link pulls through two intermediates)."""
    return table.scratch_rows if table.ndim == 3 else 0


def is_chain(plan: Plan) -> bool:
    """Every tensor but the input has one link, from the tensor just before it."""
    return all(len(t.links) == 1 and t.links[0].source == t.index - 1 for t in plan.tensors[1:])


def biggest(plan: Plan) -> int:
    """Nodes of the largest tensor of ``plan`` (from its cached table)."""
    return link_table(plan).biggest


def sweep_bytes(plan: Plan, batch: int, weighted: bool = False) -> int:
    """Bytes of :func:`dense_paths` for ``batch`` seeds (the buffer, two scratch buffers, the result)."""
    table = link_table(plan, weighted)
    return 8 * batch * (table.pool_rows + 2 * table.scratch_rows + 2 * int(table.sizes[0]))


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


def paths_program(
    plan: Plan,
    window: tuple[tuple[int, int], ...] | None = None,
    full_shape: tuple[int, ...] | None = None,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> Callable[[], tuple[np.ndarray, float]]:
    """:func:`float_paths` as a function of no arguments, every array it reads bound once.

    A repeated map of one target (a loop, the page, a benchmark) then costs the allocation of
    its buffers and one compiled call, not a walk through the Python layers above them.
    """
    kind = _kind(plan)
    if kind == "chain":
        from ._kernels_chain import _chain_entry

        table = link_table(plan, weighted)
        full = plan.input_shape if window is None or full_shape is None else full_shape
        lo = np.array([0] * len(full) if window is None or full_shape is None else [a for a, _ in window], np.int64)
        gain = float(np.prod(_gain_array(plan, gains))) if gains else 1.0
        size = math.prod(full)
        itab, weights_all, full_arr = packed(table), table.weights_all, np.array(full, dtype=np.int64)

        def chain() -> tuple[np.ndarray, float]:
            out = np.empty(size, dtype=np.float64)  # the kernel writes every value
            return out.reshape(full), float(_chain_entry(out, itab, weights_all, full_arr, lo, gain))

        return chain
    signed = bool(gains) and any(float(g) < 0 for g in (gains or {}).values())
    inner = None if window is None or full_shape is None else tuple(slice(a, b) for a, b in window)
    if kind == "dense":
        run = _dense_program(plan, weighted, gains)
    else:
        from ._paths import dense_result, sweep

        def run() -> np.ndarray:
            g = sweep(plan, [np.ones((1, n)) for n in plan.output.shape], weighted=weighted, gains=gains)
            return dense_result(g, None)[0]

    def general() -> tuple[np.ndarray, float]:
        values = run()
        # Path counts and averaging weights are never negative (only a negative gain makes a sum
        # so): the peak is then the maximum, without a pass of abs over the map.
        peak = float((np.abs(values) if signed else values).max(initial=0.0))
        if inner is None or full_shape is None or values.shape == full_shape:
            return values, peak
        out = np.zeros(full_shape)
        out[inner] = values
        return out, peak

    return general


def _dense_program(plan: Plan, weighted: bool, gains: dict[int, float | int] | None) -> Callable[[], np.ndarray]:
    """:func:`dense_paths` of one seed of ones, bound."""
    from ._kernels_sweep import _dense_entry

    table = link_table(plan, weighted)
    top = len(plan.tensors) - 1
    rows, n_in = table.pool_rows + table.scratch_rows + _scratch2(table), int(table.sizes[0])
    start, stop = int(table.offsets[top]), int(table.offsets[top] + table.sizes[top])
    shape = plan.input_shape
    allocate = np.empty if table.live[0] else np.zeros
    itab, weights_all, gain_array = packed(table), table.weights_all, _gain_array(plan, gains)

    def dense() -> np.ndarray:
        work = np.empty(rows, dtype=np.float64)  # the pool, then the scratch buffers
        work[start:stop] = 1.0
        out = allocate(n_in, dtype=np.float64)  # written whole by its first write when reached
        _dense_entry(work, out, itab, weights_all, gain_array, 1)
        return out.reshape(shape)

    return dense


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

    A chain is one compiled call (:func:`chain_map`); a network whose gradient stays a few outer
    products goes through :func:`rfgraph.engine._paths.sweep`; any other through the compiled
    dense sweep.  With ``window`` and ``full_shape`` the map is returned in the uncropped input
    (zeros outside the window).
    """
    return paths_program(plan, window, full_shape, weighted=weighted, gains=gains)()


_KINDS: weakref.WeakKeyDictionary[Plan, str] = weakref.WeakKeyDictionary()
_BATCH_ROWS = 32768  # seed columns x plan rows of one batched sweep on large plans


def _kind(plan: Plan) -> str:
    """``"chain"``, ``"factored"`` (stays a few outer products) or ``"dense"`` (cached with the plan)."""
    kind = _KINDS.get(plan)
    if kind is None:
        kind = _KINDS[plan] = "chain" if is_chain(plan) else ("factored" if stays_factored(plan) else "dense")
    return kind


def _area(window: tuple[tuple[int, int], ...] | None) -> int:
    return 0 if window is None else math.prod(hi - lo for lo, hi in window)


@lru_cache(maxsize=8)  # small: an entry keeps its plan alive (as rfgraph.engine's crop cache)
def _union_crop(plan: Plan, targets: tuple[tuple[int, ...], ...]) -> tuple[Plan, tuple[Any, ...]] | None:
    """The plan cropped to the union of the targets' fields and its windows; None where no input
    reaches them or one sweep per target is cheaper.  Cached: a list asked again (a loop, the
    page) crops and builds its link table once."""
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
    return crop_plan(plan, windows), tuple(windows)


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
    union = _union_crop(plan, tuple(targets))
    if union is None:
        return None
    cp, windows = union
    out_window = windows[-1]
    assert out_window is not None
    out_shape = cp.output.shape
    flat = [int(np.ravel_multi_index(tuple(i - lo for i, (lo, _) in zip(t, out_window)), out_shape)) for t in targets]
    per_column = sweep_bytes(cp, 1, weighted)
    chunk = max(1, budget // max(per_column, 1))
    # Wide seed columns pay off on small plans (one call for many targets); on large ones a
    # column per sweep keeps the buffers in cache and is faster (DenseNet-121, 49 targets at
    # 224x224: 9 ms one by one, 20 ms as one batch).
    chunk = min(chunk, max(1, _BATCH_ROWS // max(per_column // 8, 1)))
    result = np.zeros((len(targets),) + plan.input_shape, dtype=np.float64)
    inner = tuple(slice(lo, hi) for lo, hi in windows[0])
    whole = cp.input_shape == plan.input_shape
    if chunk == 1:
        for i, f in enumerate(flat):
            seeds = np.zeros((cp.output.size, 1))
            seeds[f, 0] = 1.0
            if whole:  # straight into the result
                dense_paths(cp, seeds, weighted=weighted, gains=gains, out=result[i].reshape(-1))
            else:
                result[(i,) + inner] = dense_paths(cp, seeds, weighted=weighted, gains=gains)[0]
        return result
    for start in range(0, len(targets), chunk):
        part = flat[start : start + chunk]
        seeds = np.zeros((cp.output.size, len(part)))
        seeds[part, np.arange(len(part))] = 1.0
        values = dense_paths(cp, seeds, weighted=weighted, gains=gains)
        result[(slice(start, start + len(part)),) + inner] = values
    return result
