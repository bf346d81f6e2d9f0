"""Per-tensor flags of the receptive-field table: global context and wrapping axes (SPEC sections 2, 5).

>>> import rfgraph as rf
>>> from rfgraph.plan import build_plan
>>> plan = build_plan(rf.Sequential(rf.Conv(3), rf.Residual(rf.GlobalPool())), (8,))
>>> global_flags(plan)
[False, False, True, True]
>>> wrapping_axes(build_plan(rf.Roll(2), (8,)))
[(False,), (True,)]
"""

from __future__ import annotations

import numpy as np

from ..geometry import per_axis
from ..ops import GlobalMix, GlobalPool, Op, Roll, WindowMix
from ..plan import Plan, Tensor

__all__ = ["global_flags", "wrapping_axes", "reach_sets", "cyclic_width", "MAX_REACH_CELLS"]


MAX_REACH_CELLS = 20_000_000
"""Largest (edges x input positions) one axis may use for the exact per-axis reach sets."""


def reach_sets(plan: Plan) -> list[list[np.ndarray]] | None:
    """Per tensor and axis, a bool matrix ``(positions, input positions)``: the projection
    of each position's exact field on that axis; ``None`` above :data:`MAX_REACH_CELLS`."""
    ndim = plan.ndim
    cells = max(
        (link.maps[a].nnz * plan.input_shape[a] for t in plan.tensors for link in t.links for a in range(ndim)),
        default=0,
    )
    if cells > MAX_REACH_CELLS:
        return None
    sets: list[list[np.ndarray]] = []
    for t in plan.tensors:
        if t.op is None:
            sets.append([np.eye(n, dtype=bool) for n in t.shape])
            continue
        axes = []
        for a, n in enumerate(t.shape):
            acc = np.zeros((n, plan.input_shape[a]), dtype=bool)
            for link in t.links:
                m = link.maps[a]
                counts = np.diff(m.indptr)
                rows = counts > 0
                if m.nnz:
                    acc[rows] |= np.logical_or.reduceat(sets[link.source][a][m.indices], m.indptr[:-1][rows], axis=0)
            axes.append(acc)
        sets.append(axes)
    return sets


def global_flags(plan: Plan, sets: list[list[np.ndarray]] | None = None) -> list[bool]:
    """Per tensor: does every position reach every input pixel (SPEC section 5)?

    Per axis, the set of input positions that reach each position is kept as a bool
    matrix (:func:`reach_sets`, exact for the projections of the fields).  A tensor is
    global when on every axis every position reaches every input position, and, with two
    or more axes, when that is also true of the whole field: it comes from a global
    source, a global op, or a chain whose fields are products of their projections.  (A
    union of branches that only jointly covers the input, e.g. row and column gates, is
    not global.)  Where none of these settles it, the whole fields are computed as bitsets
    of input pixels (up to :data:`MAX_BITSET_BYTES`).
    """
    ndim = plan.ndim
    if sets is None:
        sets = reach_sets(plan)
    if sets is None:
        return _global_by_hulls(plan)
    flags: list[bool] = []
    product: list[bool] = []
    bits: list[np.ndarray] | None = None
    for t in plan.tensors:
        if t.op is None:
            flags.append(False)
            product.append(True)
            continue
        full = all(_full(x) for x in sets[t.index])
        chain = t.geometry is not None and product[t.links[0].source]
        product.append(chain)
        sources = any(flags[link.source] for link in t.links)
        proven = ndim == 1 or chain or sources or isinstance(t.op, GlobalPool | GlobalMix)
        if full and not proven:
            bits = _bitsets(plan) if bits is None else bits
            proven = bits is not None and _full_bits(bits[t.index], int(np.prod(plan.input_shape)))
        flags.append(full and proven)
    return flags


MAX_BITSET_BYTES = 50_000_000
"""Largest total size of the per-position bitsets of input pixels (exact global flags)."""


def _bitsets(plan: Plan) -> list[np.ndarray] | None:
    """Per tensor, ``(positions, bytes)``: the input pixels each position reaches, packed."""
    n_in = int(np.prod(plan.input_shape))
    width = -(-n_in // 8)
    if sum(t.size for t in plan.tensors) * width > MAX_BITSET_BYTES:
        return None
    eye = np.packbits(np.eye(n_in, dtype=bool), axis=1)
    out: list[np.ndarray] = []
    for t in plan.tensors:
        if t.op is None:
            out.append(eye)
            continue
        acc = np.zeros((*t.shape, width), dtype=np.uint8)
        for link in t.links:
            cur = out[link.source].reshape(*plan.tensors[link.source].shape, width)
            for a, m in enumerate(link.maps):
                moved = np.moveaxis(cur, a, 0)
                new = np.zeros((m.n_out, *moved.shape[1:]), dtype=np.uint8)
                rows = np.diff(m.indptr) > 0
                if m.nnz:
                    new[rows] = np.bitwise_or.reduceat(moved[m.indices], m.indptr[:-1][rows], axis=0)
                cur = np.moveaxis(new, 0, a)
            acc |= cur
        out.append(acc.reshape(t.size, width))
    return out


def _full(rows: np.ndarray) -> bool:
    """Every position reads every input position."""
    return bool(rows.all())


def _full_bits(bits: np.ndarray, n_in: int) -> bool:
    """:func:`_full` of packed rows of ``n_in`` bits."""
    return bool((bits == np.packbits(np.ones(n_in, dtype=bool))).all())


def cyclic_width(rows: np.ndarray) -> int:
    """Largest over rows of a bool matrix ``(positions, n)`` of the shortest arc of the circle
    of ``n`` positions that holds the row's True entries (0 for an empty row).

    >>> cyclic_width(np.array([[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]], dtype=bool))
    2
    """
    n = rows.shape[1]
    best = 0
    for row in rows:
        hit = np.flatnonzero(row)
        if hit.size:
            gaps = np.diff(np.concatenate([hit, hit[:1] + n]))
            best = max(best, int(n - gaps.max() + 1))
    return best


def _global_by_hulls(plan: Plan) -> list[bool]:
    """Like :func:`_global_flags` with per-axis hulls instead of sets (very large inputs)."""
    big = np.iinfo(np.int64).max
    spans: list[list[tuple[np.ndarray, np.ndarray]]] = []
    flags: list[bool] = []
    for t in plan.tensors:
        if t.op is None:
            spans.append([(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)) for n in t.shape])
            flags.append(False)
            continue
        axes = []
        for a, n in enumerate(t.shape):
            lo = np.full(n, big, dtype=np.int64)
            hi = np.full(n, -1, dtype=np.int64)
            for link in t.links:
                m = link.maps[a]
                src_lo, src_hi = spans[link.source][a]
                rows = np.repeat(np.arange(m.n_out), np.diff(m.indptr))
                np.minimum.at(lo, rows, src_lo[m.indices])
                np.maximum.at(hi, rows, src_hi[m.indices])
            axes.append((lo, hi))
        spans.append(axes)
        full = all(bool((lo == 0).all() and (hi == n - 1).all()) for (lo, hi), n in zip(axes, plan.input_shape))
        sources = any(flags[link.source] for link in t.links)
        flags.append(full and (sources or isinstance(t.op, GlobalPool | GlobalMix) or t.geometry is not None))
    return flags


def _wraps(op: Op | None, t: Tensor, axis: int) -> bool:
    """Does this op read around the end of ``axis`` (circular padding, a roll, shifted windows)?"""
    g = t.geometry
    if g is None or op is None:
        return False
    if isinstance(op, Roll | WindowMix):
        m = g.maps[axis]
        if isinstance(op, Roll):
            return m.n_in > 1 and int(m.inputs_of(0)[0]) != 0
        nd = len(g.in_shape)
        w, sh, d = (per_axis(getattr(op, a), nd, a, "")[axis] for a in ("window", "shift", "dilation"))
        return sh % (w * d) != 0
    mode = getattr(op, "padding_mode", getattr(op, "mode", "zeros"))
    return mode == "circular" and g.pads[axis] != (0, 0)


def wrapping_axes(plan: Plan) -> list[tuple[bool, ...]]:
    """Per tensor and axis: does some path into it wrap around?  Such fields are measured
    cyclically (SPEC section 2): a record is never wider than the input there."""
    out: list[tuple[bool, ...]] = []
    for t in plan.tensors:
        out.append(tuple(_wraps(t.op, t, a) or any(out[link.source][a] for link in t.links) for a in range(plan.ndim)))
    return out
