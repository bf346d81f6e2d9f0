"""Per-axis edges of :class:`~rfgraph.ops.Resize`: torch's ``F.interpolate`` index formulas.

An output position gets an edge from every input position whose interpolation
weight in torch is non-zero.  Whether a weight is exactly zero depends on the
arithmetic torch does, so the source coordinate is computed here the way
PyTorch's CPU kernels compute it for float32 tensors (``aten/src/ATen/native/UpSample.h``):
the scale is a float32 (``1 / scale_factor`` rounded from double, or
``float(n_in) / n_out``), products and sums are rounded to float32 (the linear
kernels with one fused multiply-add).  Checked against torch's Jacobians for every
mode on thousands of (size, scale) pairs.  A float64 model computes the coordinates
in double, which turns a zero weight into one of about 1e-16 (or back) at about 1% of
(size, mode) pairs: compare float64 gradients with care.

>>> resize_axis(2, 4, "linear").dense().astype(int).tolist()
[[1, 0], [1, 1], [1, 1], [0, 1]]
>>> resize_axis(5, 2, "area").dense().astype(int).tolist()
[[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]]
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..ops.base import RESIZE_MODES
from .axismap import AxisMap
from .index import adaptive_axis

__all__ = ["resize_axis", "resize_output_size", "resize_ratio", "RESIZE_MODES"]


def resize_output_size(n: int, size: int | None, scale: float | None) -> int:
    """torch's output size: ``size``, or ``floor(n * scale)`` in double (``n * int(scale)`` for whole scales)."""
    if size is not None:
        return size
    assert scale is not None
    if float(scale).is_integer():
        return n * int(scale)
    return math.floor(float(n) * float(scale))


def _scale(dtype: type, n_in: int, n_out: int, scale: float | None, align_corners: bool) -> np.floating:
    # area_pixel_compute_scale / compute_scales_value
    if align_corners:
        return dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0)
    if scale is not None and scale > 0:
        return dtype(1.0 / float(scale))
    return dtype(n_in) / dtype(n_out)


def resize_axis(
    n_in: int,
    n_out: int,
    mode: str,
    align_corners: bool = False,
    scale: float | None = None,
) -> AxisMap:
    """The edges of torch's resize along one axis.

    ``scale`` is the scale factor torch passes to its kernel (``None`` when a
    size was given or ``recompute_scale_factor=True``).  The map carries torch's
    interpolation weights (float64 arithmetic, as for a float64 tensor) as its
    averaging weights.
    """
    m = _resize_edges(n_in, n_out, mode, align_corners, scale)
    if mode in ("area", "nearest", "nearest-exact") or m.nnz == 0:
        return m  # area: adaptive_axis carries 1/width; nearest: one edge of weight 1
    return _attach(m, *_interp_weights(n_in, n_out, mode, align_corners, scale))


_CUBIC_A = -0.75  # torch's bicubic constant


def _interp_weights(
    n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outs, ins, weights) of torch's linear / cubic interpolation in float64 (UpSample.h)."""
    s = _scale(np.float64, n_in, n_out, scale, align_corners)
    o = np.arange(n_out, dtype=np.int64)
    of = o.astype(np.float64)
    if mode == "linear" and n_out == n_in:
        return o, o, np.ones(n_out)
    real = s * of if align_corners else s * (of + 0.5) - 0.5
    if mode == "linear" and not align_corners:
        real = np.where(real < 0, 0.0, real)
    idx = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    lam = np.clip(real - idx, 0.0, 1.0)
    if mode == "linear":
        nxt = np.where(idx < n_in - 1, idx + 1, idx)
        return np.concatenate([o, o]), np.concatenate([idx, nxt]), np.concatenate([1.0 - lam, lam])
    a = _CUBIC_A

    def near(x: np.ndarray) -> np.ndarray:  # cubic_convolution1, |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # cubic_convolution2, 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    coeffs = [far(lam + 1), near(lam), near(1 - lam), far(2 - lam)]
    outs = np.concatenate([o] * 4)
    ins = np.concatenate([np.clip(idx + t, 0, n_in - 1) for t in (-1, 0, 1, 2)])  # read clamped: weights add
    return outs, ins, np.concatenate(coeffs)


def _attach(m: AxisMap, outs: np.ndarray, ins: np.ndarray, weights: np.ndarray) -> AxisMap:
    """``m`` with the weights of its edges from (out, in, weight) triples (duplicates summed).

    The edge set comes from torch's float32 arithmetic, the weights from float64: an edge of
    one that the other lacks carries a weight of about 1e-16 or less, dropped (or zero)."""
    w = AxisMap.from_pairs(m.n_in, m.n_out, outs, ins, weights)
    assert w.weights is not None
    key_w = np.repeat(np.arange(m.n_out, dtype=np.int64), np.diff(w.indptr)) * m.n_in + w.indices
    key_m = np.repeat(np.arange(m.n_out, dtype=np.int64), np.diff(m.indptr)) * m.n_in + m.indices
    pos = np.minimum(np.searchsorted(key_w, key_m), max(key_w.size - 1, 0))
    found = key_w[pos] == key_m if key_w.size else np.zeros(key_m.size, dtype=bool)
    return m.with_weights(np.where(found, w.weights[pos], 0.0))


def _resize_edges(n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None) -> AxisMap:
    if mode == "area":
        return adaptive_axis(n_in, n_out)
    dtype = np.float32
    o = np.arange(n_out, dtype=np.int64)
    if mode in ("nearest", "nearest-exact"):
        # nearest_idx / nearest_exact_idx: always float arithmetic.
        s = _scale(np.float32, n_in, n_out, scale, False)
        if mode == "nearest":
            if n_out == n_in:
                src = o
            elif n_out == 2 * n_in:
                src = o >> 1
            else:
                src = np.floor(o.astype(np.float32) * s).astype(np.int64)
        else:
            # floorf((dst_index + 0.5) * scale): the product is double, rounded to float by floorf.
            prod = (o.astype(np.float64) + 0.5) * np.float64(s)
            src = np.floor(prod.astype(np.float32)).astype(np.int64)
        src = np.minimum(src, n_in - 1)
        return AxisMap.from_pairs(n_in, n_out, o, src)
    if mode == "linear" and n_out == n_in:
        # compute_source_index_and_lambda copies when the sizes agree
        return AxisMap.identity(n_in)
    s = _scale(dtype, n_in, n_out, scale, align_corners)
    of = o.astype(dtype)
    if align_corners:
        real = s * of
    else:
        if mode == "linear":
            # torch's linear kernels are compiled with FMA contraction: scale * (o + 0.5) - 0.5 is
            # rounded once (the float64 product of two float32 values is exact); bicubic rounds twice.
            real = (np.float64(s) * (o.astype(np.float64) + 0.5) - 0.5).astype(dtype)
        else:
            real = s * (of + dtype(0.5)) - dtype(0.5)
        if mode == "linear":
            real = np.where(real < 0, dtype(0), real)
    # guard_index_and_lambda
    idx = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    lam = np.clip(real - idx.astype(dtype), dtype(0), dtype(1))
    nonzero = lam != 0
    if mode == "linear":
        nxt = np.where(idx < n_in - 1, idx + 1, idx)
        outs = np.concatenate([o, o[nonzero]])
        ins = np.concatenate([idx, nxt[nonzero]])
        # weight of idx is 1 - lambda; it is zero only where lambda was clipped to 1 (then idx == nxt)
        return AxisMap.from_pairs(n_in, n_out, outs, ins)
    # cubic: four taps idx-1 .. idx+2, read clamped; with lambda == 0 the weights are (0, 1, 0, 0)
    outs_list, ins_list = [o], [np.clip(idx, 0, n_in - 1)]
    for t in (-1, 1, 2):
        outs_list.append(o[nonzero])
        ins_list.append(np.clip(idx[nonzero] + t, 0, n_in - 1))
    return AxisMap.from_pairs(n_in, n_out, np.concatenate(outs_list), np.concatenate(ins_list))


def resize_ratio(n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None) -> Fraction:
    """Input positions per output position in exact arithmetic (for the receptive-field tables)."""
    if mode == "area":
        return Fraction(n_in, n_out)
    if align_corners and mode in ("linear", "cubic"):
        return Fraction(n_in - 1, n_out - 1) if n_out > 1 else Fraction(0)
    if scale is not None and scale > 0:
        return Fraction(1.0 / float(scale)).limit_denominator(max(n_in, n_out))
    return Fraction(n_in, n_out)


def resize_taps(o: int, ratio: Fraction, mode: str, align_corners: bool) -> list[int]:
    """Input positions of output ``o`` on an unbounded input, exact rational arithmetic."""
    if mode in ("nearest", "area"):
        if mode == "area":
            return []  # handled as an adaptive window by the caller
        return [math.floor(o * ratio)]
    if mode == "nearest-exact":
        return [math.floor((o + Fraction(1, 2)) * ratio)]
    real = o * ratio if align_corners else (o + Fraction(1, 2)) * ratio - Fraction(1, 2)
    i0 = math.floor(real)
    if real == i0:
        return [i0]
    return [i0, i0 + 1] if mode == "linear" else [i0 - 1, i0, i0 + 1, i0 + 2]
