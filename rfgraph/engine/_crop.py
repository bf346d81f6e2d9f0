"""Crop a plan to the target's field: per tensor, per axis, an index window.

Every node that lies on a path to the target is an ancestor of the target, so
it lies inside the per-axis hull of the target's cone.  Restricting every
tensor to that box (and every axis map to the box's rows and columns) keeps
each path and each edge that lies on a path, so paths and edges are unchanged;
the work then follows the size of the field instead of the size of the image.

>>> import rfgraph as rf
>>> from rfgraph.plan import build_plan
>>> plan = build_plan(rf.Sequential(rf.Conv(3), rf.Conv(3)), (1000,))
>>> field_windows(plan, [((497, 498),)])[0]
((497, 502),)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry import AxisMap
from ..plan import Link, Plan, Tensor

__all__ = ["Window", "field_windows", "crop_plan", "crop_map"]

Window = tuple[tuple[int, int], ...]
"""Per axis a half-open index range ``(lo, hi)``."""


def _source_range(m: AxisMap, lo: int, hi: int) -> tuple[int, int] | None:
    """Hull of the inputs that feed outputs ``lo .. hi - 1`` (None when there are none)."""
    seg = m.indices[m.indptr[lo] : m.indptr[hi]]
    if seg.size == 0:
        return None
    # Rows are sorted, so the hull comes from the first and last entry of each row;
    # min/max over the segment is as cheap and does not rely on it.
    return int(seg.min()), int(seg.max()) + 1


def field_windows(plan: Plan, seeds: Sequence[Window]) -> list[Window | None]:
    """Per tensor, the box of nodes that can reach one of the seed boxes of the output.

    ``seeds`` are boxes of the last tensor; the result holds ``None`` for
    tensors with no node on a path.
    """
    windows: list[Window | None] = [None] * len(plan.tensors)
    hull: Window | None = None
    for seed in seeds:
        hull = seed if hull is None else tuple((min(a, c), max(b, d)) for (a, b), (c, d) in zip(hull, seed))
    windows[-1] = hull
    for t in reversed(plan.tensors):
        w = windows[t.index]
        if w is None:
            continue
        for link in t.links:
            ranges = [_source_range(m, lo, hi) for m, (lo, hi) in zip(link.maps, w)]
            if any(r is None for r in ranges):
                continue
            src = windows[link.source]
            new = tuple(r for r in ranges if r is not None)
            windows[link.source] = (
                new if src is None else tuple((min(a, c), max(b, d)) for (a, b), (c, d) in zip(src, new))
            )
    return windows


def crop_map(m: AxisMap, rows: tuple[int, int], cols: tuple[int, int]) -> AxisMap:
    """The rows ``rows`` of ``m`` with inputs renumbered from ``cols[0]``.

    Every input of those rows must lie in ``cols`` (true for windows from
    :func:`field_windows`).
    """
    lo, hi = rows
    if (lo, hi) == (0, m.n_out) and cols == (0, m.n_in):
        return m
    start, stop = int(m.indptr[lo]), int(m.indptr[hi])
    indptr = m.indptr[lo : hi + 1] - start
    indices = m.indices[start:stop] - cols[0]
    weights = None if m.weights is None else m.weights[start:stop]
    return AxisMap(cols[1] - cols[0], hi - lo, indptr, indices, weights)


def crop_plan(plan: Plan, windows: Sequence[Window | None]) -> Plan:
    """The plan restricted to ``windows`` (tensors without a window keep one node and no links)."""
    tensors = []
    for t in plan.tensors:
        w = windows[t.index]
        if w is None:
            tensors.append(Tensor(t.index, t.name, (1,) * plan.ndim, t.op, ()))
            continue
        links = []
        for link in t.links:
            src = windows[link.source]
            if src is None:
                continue
            maps = tuple(crop_map(m, r, c) for m, r, c in zip(link.maps, w, src))
            if all(m.nnz for m in maps):
                links.append(Link(link.source, maps))
        shape = tuple(hi - lo for lo, hi in w)
        tensors.append(Tensor(t.index, t.name, shape, t.op, tuple(links)))
    w0 = windows[0]
    assert w0 is not None
    return Plan(plan.network, tuple(hi - lo for lo, hi in w0), tuple(tensors), plan.endpoints)


def embed(values: np.ndarray, window: Window, shape: tuple[int, ...]) -> np.ndarray:
    """Place a map of the window's shape into zeros of ``shape``."""
    if values.shape == shape:
        return values
    out = np.zeros(shape, dtype=values.dtype)
    if values.dtype == object:
        out[...] = 0
    out[tuple(slice(lo, hi) for lo, hi in window)] = values
    return out
