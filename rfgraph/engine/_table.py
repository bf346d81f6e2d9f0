"""The link table: a cropped plan flattened once into arrays for the compiled sweep (issue 28).

Every tensor is a row range of one pool shared by tensors whose gradients are not alive at once
(:func:`_lifetimes`); every link is a row of the table (source, kind, axis order, one map id per
axis); window maps carry (stride, dilation, offset, taps) and need no CSR arrays.  Tables are
cached with their plan; :func:`packed` lays one out as a single int64 array for the kernels.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from ..geometry import AxisMap
from ..plan import Plan

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
