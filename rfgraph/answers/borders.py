"""Per-axis exact field extents and border effects of every output position.

The practitioners' answers (SPEC section 8: halo, tiles, valid region) all ask
one question per spatial axis: which input pixels does output ``o`` read, and
does its computation meet the border of some tensor (a zero-padded tap, a
pooling window cut off by the edge, a clamped interpolation, a transposed
convolution missing taps)?  Both are computed here from the plan's exact
per-axis index maps, composed tensor by tensor through every branch, so they
hold for skip connections, dilation, up-sampling and crops alike; nothing comes
from the receptive-field arithmetic.

Along one axis the N-D answers factor: the N-D field of ``(o0, o1)`` spans the
per-axis extents, and it meets a border iff it does so along some axis (every
link is a product of per-axis maps).

>>> import rfgraph as rf
>>> f = axis_fields(rf.build_plan(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3)), (8,)))[0]
>>> f.lo.tolist(), f.hi.tolist()
([0, 0, 1, 2, 3, 4], [3, 4, 5, 6, 7, 7])
>>> f.left.tolist(), f.right.tolist()
([True, False, False, False, False, False], [False, False, False, False, False, True])
>>> f.stride, f.align
(Fraction(1, 1), 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import RFGraphError
from ..geometry import AxisMap, Geometry, per_axis
from ..ops import ConvTranspose, Crop, GlobalPool, Op, Upsample, _Windowed
from ..ops.index import (
    AdaptivePool,
    Flip,
    GlobalMix,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Resize,
    Roll,
    Slice,
    WindowMix,
)
from ..plan import Plan, Tensor

__all__ = ["AxisFields", "axis_fields", "equivariance_error"]

_EMPTY_LO = np.iinfo(np.int64).max
_EMPTY_HI = -1


@dataclass(frozen=True, eq=False)
class AxisFields:
    """Along one axis, for every position of the plan's output tensor.

    Attributes
    ----------
    lo, hi : numpy.ndarray
        int64; the first and last input index in the position's field (the exact
        extent, holes included).  A position fed by nothing has ``lo > hi``.
    left, right : numpy.ndarray
        bool; the computation meets the left (right) border of some tensor: a
        padded tap, a clipped window, a clamped interpolation or a missing
        transposed-convolution tap.
    stride : Fraction or None
        Effective stride of the output (input pixels per output step); None when
        the output is not translation-equivariant (a global pool, or a merge of
        branches with different strides).
    align : int
        Shifting the input by a multiple of ``align`` pixels shifts every tensor
        by whole positions: the least common multiple of the numerators of all
        tensors' strides.  Tile origins must lie on this grid.
    """

    lo: np.ndarray
    hi: np.ndarray
    left: np.ndarray
    right: np.ndarray
    stride: Fraction | None
    align: int

    @property
    def clean(self) -> np.ndarray:
        """Positions whose computation meets no border (and that read something)."""
        return ~self.left & ~self.right & (self.lo <= self.hi)


def _reduce(m: AxisMap, values: np.ndarray, ufunc: np.ufunc, empty: object) -> np.ndarray:
    """``out[o] = ufunc.reduce(values[inputs_of(o)])``, ``empty`` where nothing feeds ``o``."""
    out = np.full(m.n_out, empty, dtype=values.dtype)
    counts = np.diff(m.indptr)
    rows = counts > 0
    if m.indices.size:
        out[rows] = ufunc.reduceat(values[m.indices], m.indptr[:-1][rows])
    return out


def _own_borders(op: Op, g: Geometry, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Which outputs of a leaf op meet its input's left / right border along ``axis``."""
    n_in, n_out = g.in_shape[axis], g.out_shape[axis]
    o = np.arange(n_out, dtype=np.int64)
    none = np.zeros(n_out, dtype=bool)
    if isinstance(op, ConvTranspose):
        k, s, d, pl = g.kernel[axis], g.stride[axis], g.dilation[axis], g.pads[axis][0]
        left, right = none.copy(), none.copy()
        for t in range(k):
            num = o + pl - t * d
            hit = num % s == 0
            i = num // s
            left |= hit & (i < 0)
            right |= hit & (i >= n_in)
        return left, right
    if isinstance(op, _Windowed):
        k, s, d, pl = g.kernel[axis], g.stride[axis], g.dilation[axis], g.pads[axis][0]
        start = o * s - pl
        return start < 0, start + (k - 1) * d >= n_in
    if isinstance(op, Upsample) and op.mode != "nearest":
        f = g.stride[axis]
        num = 2 * o + 1 - f  # source coordinate times 2f on an unbounded input (see geometry)
        i0, frac = np.divmod(num, 2 * f)
        return i0 < 0, (frac > 0) & (i0 + 1 >= n_in)
    if isinstance(op, Pad):
        start = o - g.pads[axis][0]  # the input position an unbounded pad would copy
        return start < 0, start >= n_in
    if isinstance(op, Roll | WindowMix):
        # Positions whose reads wrap around the tensor (a roll, Swin's cyclic shift).
        shift = per_axis(op.shift, len(g.in_shape), "shift", "")[axis]
        if isinstance(op, Roll):
            raw = (o - shift)[:, None]
        else:
            w = per_axis(op.window, len(g.in_shape), "window", "")[axis]
            d = per_axis(op.dilation, len(g.in_shape), "dilation", "")[axis]
            y = np.mod(o - shift, n_in)
            raw = (y // (w * d) * (w * d) + y % d)[:, None] + np.arange(w) * d + shift
        return (raw < 0).any(axis=1), (raw >= n_in).any(axis=1)
    if isinstance(op, Resize) and op.mode in ("linear", "cubic"):
        # Interpolation clamps at the edges: conservatively, outputs that read an edge pixel.
        m = g.maps[axis]
        rows = np.repeat(np.arange(m.n_out), np.diff(m.indptr))
        return np.bincount(rows[m.indices == 0], minlength=n_out) > 0, (
            np.bincount(rows[m.indices == n_in - 1], minlength=n_out) > 0
        )
    return none, none  # the other ops read real positions only


# Ops whose output does not shift with a shifted input (sizes decide the windows, or every output
# reads every input, or the axis is reversed).
_NOT_EQUIVARIANT = (GlobalPool, GlobalMix, AdaptivePool, Flip, Resize)


def _leaf_stride(op: Op, g: Geometry, axis: int, src: Fraction | None) -> Fraction | None:
    if src is None or isinstance(op, _NOT_EQUIVARIANT):
        return None
    if isinstance(op, ConvTranspose | Upsample):
        return src / g.stride[axis]
    if isinstance(op, PixelShuffle):
        return src / per_axis(op.factor, len(g.in_shape), "factor", "")[axis]
    if isinstance(op, Crop | Pad | Roll | WindowMix):
        return src
    if isinstance(op, Slice):
        nd = len(g.in_shape)
        start = per_axis(op.start, nd, "start", "")[axis]
        stop = per_axis(op.stop, nd, "stop", "")[axis]
        # A start counted from the end, or an absolute stop, ties the kept positions to the size.
        if (start is not None and start < 0) or (stop is not None and stop >= 0):
            return None
        return src * g.stride[axis]
    if isinstance(op, _Windowed | PixelUnshuffle):
        return src * g.stride[axis]
    return None  # an op this module does not know: treat it as not translation-equivariant


def equivariance_error(plan: Plan) -> str | None:
    """Why shifting the input does not shift the output (None when it does, up to the stride)."""
    for t in plan.tensors:
        if isinstance(t.op, GlobalPool | GlobalMix):
            return (
                f"{type(t.op).__name__} {t.name!r} makes every output depend on the whole input (global context), "
                "so no tile reproduces it; run the network on the whole image"
            )
    strides = _strides(plan)
    for t in plan.tensors:
        if t.op is not None and strides[t.index] is None and all(strides[k.source] is not None for k in t.links):
            what = (
                "merges branches with different effective strides, or along a spatial axis, or broadcasts one"
                if t.geometry is None
                else "depends on the input size (adaptive windows, a resize, a slice counted from the end) or reverses an axis"
            )
            return (
                f"{type(t.op).__name__} {t.name!r} {what}, so a shifted input does not shift its output; "
                "tiling needs a translation-equivariant network"
            )
    return None


def _strides(plan: Plan) -> list[tuple[Fraction, ...] | None]:
    out: list[tuple[Fraction, ...] | None] = []
    for t in plan.tensors:
        if t.op is None:
            out.append((Fraction(1),) * plan.ndim)
        elif t.geometry is not None:
            src = out[t.links[0].source]
            per = [_leaf_stride(t.op, t.geometry, a, None if src is None else src[a]) for a in range(plan.ndim)]
            out.append(None if any(s is None for s in per) else tuple(s for s in per if s is not None))
        else:
            branch = {out[link.source] for link in t.links}
            # A merge shifts with its input only if every branch enters position by position (no
            # spatial concatenation, no broadcast of a pooled gate).
            aligned = all(
                m.n_in == m.n_out and np.array_equal(m.indices, np.arange(m.n_in)) and m.indptr[-1] == m.n_in
                for link in t.links
                for m in link.maps
            )
            out.append(branch.pop() if len(branch) == 1 and aligned else None)
    return out


def _axis(plan: Plan, axis: int, strides: list[tuple[Fraction, ...] | None]) -> AxisFields:
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for t in plan.tensors:
        if t.op is None:
            idx = np.arange(t.shape[axis], dtype=np.int64)
            lo.append(idx)
            hi.append(idx)
            left.append(np.zeros(t.shape[axis], dtype=bool))
            right.append(np.zeros(t.shape[axis], dtype=bool))
            continue
        l_, h_, lf, rt = _tensor(t, axis, lo, hi, left, right)
        lo.append(l_)
        hi.append(h_)
        left.append(lf)
        right.append(rt)
    numerators = [s[axis].numerator for s in strides if s is not None]
    for t in plan.tensors:  # windows of a window attention must line up with the tile origin too
        src = strides[t.links[0].source] if t.links else None
        if isinstance(t.op, WindowMix) and src is not None:
            span = (
                per_axis(t.op.window, plan.ndim, "window", "")[axis]
                * per_axis(t.op.dilation, plan.ndim, "dilation", "")[axis]
            )
            numerators.append((src[axis] * span).numerator)
    out_stride = strides[-1]
    return AxisFields(
        lo[-1],
        hi[-1],
        left[-1],
        right[-1],
        None if out_stride is None else out_stride[axis],
        math.lcm(*numerators) if numerators else 1,
    )


def _tensor(
    t: Tensor,
    axis: int,
    lo: list[np.ndarray],
    hi: list[np.ndarray],
    left: list[np.ndarray],
    right: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = t.shape[axis]
    t_lo = np.full(n, _EMPTY_LO, dtype=np.int64)
    t_hi = np.full(n, _EMPTY_HI, dtype=np.int64)
    t_left = np.zeros(n, dtype=bool)
    t_right = np.zeros(n, dtype=bool)
    if t.geometry is not None:
        assert t.op is not None
        t_left, t_right = _own_borders(t.op, t.geometry, axis)
    for link in t.links:
        m, s = link.maps[axis], link.source
        np.minimum(t_lo, _reduce(m, lo[s], np.minimum, _EMPTY_LO), out=t_lo)
        np.maximum(t_hi, _reduce(m, hi[s], np.maximum, _EMPTY_HI), out=t_hi)
        t_left = t_left | _reduce(m, left[s], np.logical_or, False)
        t_right = t_right | _reduce(m, right[s], np.logical_or, False)
    return t_lo, t_hi, t_left, t_right


def axis_fields(plan: Plan, axes: tuple[int, ...] | None = None) -> tuple[AxisFields, ...]:
    """:class:`AxisFields` of the plan's output along each axis (or the given ``axes``).

    Parameters
    ----------
    plan : Plan
        A network resolved against its input shape (:func:`rfgraph.build_plan`).
    axes : tuple of int, optional
        Only these axes (the others are omitted from the result).

    Returns
    -------
    tuple of AxisFields
    """
    if axes is None:
        axes = tuple(range(plan.ndim))
    for a in axes:
        if not 0 <= a < plan.ndim:
            raise RFGraphError(f"axis {a} is out of range for a {plan.ndim}-D network")
    strides = _strides(plan)
    return tuple(_axis(plan, a, strides) for a in axes)
