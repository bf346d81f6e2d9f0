"""Geometry: per-op output sizes and per-axis index maps (SPEC sections 2 and 3).

Every op's edge set is the product over spatial axes of a one-axis relation
"output position ``o`` is fed by input positions ``...``".  :class:`AxisMap`
stores that relation in CSR form (rows = outputs).  :func:`resolve` turns an op
and an input shape into per-axis integer parameters (explicit left/right pads),
the output shape and the maps.

>>> from rfgraph.ops import Conv
>>> g = resolve(Conv(3, stride=2, padding="same"), (7,), where="Conv 'conv1' (op 1)")
>>> g.out_shape, g.pads
((4,), ((1, 1),))
>>> g.maps[0].inputs_of(0).tolist()
[0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import (
    AdaptivePool,
    Conv,
    ConvTranspose,
    Crop,
    Flip,
    GlobalMix,
    GlobalPool,
    Op,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Pool,
    Resize,
    Roll,
    Slice,
    Upsample,
    WindowMix,
    _Windowed,
)
from .axismap import AxisMap
from .index import (
    adaptive_axis,
    all_to_all_axis,
    flip_axis,
    pad_axis,
    pad_source,
    roll_axis,
    shuffle_axis,
    slice_axis,
    unshuffle_axis,
    window_axis,
)
from .resize import resize_axis, resize_output_size

__all__ = [
    "AxisMap",
    "Geometry",
    "resolve",
    "per_axis",
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "same_padding",
    "MAX_NDIM",
    "MAX_AXIS",
    "MAX_MAP_ENTRIES",
]

MAX_NDIM = 3
"""Networks have 1, 2 or 3 spatial axes."""
MAX_AXIS = 1_000_000
"""Largest size of one spatial axis (input or intermediate); the per-axis maps are explicit."""


@dataclass(frozen=True, eq=False)
class Geometry:
    """One leaf op resolved against an input shape."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    maps: tuple[AxisMap, ...]
    kernel: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    pads: tuple[tuple[int, int], ...] = ()


def per_axis(value: Any, ndim: int, what: str, where: str) -> tuple[Any, ...]:
    """Expand an int (or a per-axis tuple) to one entry per spatial axis."""
    if isinstance(value, tuple):
        if len(value) != ndim:
            raise RFGraphError(
                f"{where}: {what}={value!r} has {len(value)} entries but the input has {ndim} "
                f"spatial {'axes' if ndim != 1 else 'axis'}; give one int" + (f" or {ndim} entries" if ndim > 1 else "")
            )
        return value
    return (value,) * ndim


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow "same" padding for any stride: output ``ceil(n / s)``, extra pad on the right."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def conv_output_size(n: int, k: int, s: int, pad: tuple[int, int], d: int) -> int:
    """PyTorch's ``Conv`` formula ``floor((n + pl + pr - d*(k-1) - 1) / s) + 1``."""
    return (n + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def pool_output_size(n: int, k: int, s: int, pad: tuple[int, int], d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling formula; with ``ceil_mode`` the last window must start inside
    the input or the left padding."""
    span = n + pad[0] + pad[1] - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + pad[0]:
        out -= 1
    return out


def conv_transpose_output_size(n: int, k: int, s: int, pad: tuple[int, int], d: int, output_padding: int) -> int:
    """PyTorch's ``ConvTranspose`` formula ``(n-1)*s - pl - pr + d*(k-1) + output_padding + 1``."""
    return (n - 1) * s - pad[0] - pad[1] + d * (k - 1) + output_padding + 1


def _pads(
    op: _Windowed, shape: tuple[int, ...], ks: tuple[int, ...], ss: tuple[int, ...], ds: tuple[int, ...], where: str
) -> tuple[tuple[int, int], ...]:
    ndim = len(shape)
    padding = op.padding
    if padding == "valid":
        return ((0, 0),) * ndim
    if padding == "same":
        if isinstance(op, ConvTranspose):
            # Output n*s; crop what the full transposed output has beyond that.
            pads = []
            for k, s, d in zip(ks, ss, ds):
                total = max(d * (k - 1) + 1 - s, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(shape, ks, ss, ds))
    if isinstance(padding, int):
        return ((padding, padding),) * ndim
    entries = per_axis(padding, ndim, "padding", where)
    return tuple(e if isinstance(e, tuple) else (e, e) for e in entries)


def _windowed(op: _Windowed, shape: tuple[int, ...], where: str) -> Geometry:
    ndim = len(shape)
    ks = per_axis(op.kernel_size, ndim, "kernel_size", where)
    ss = per_axis(op.effective_stride, ndim, "stride", where)
    ds = per_axis(op.dilation, ndim, "dilation", where)
    pads = _pads(op, shape, ks, ss, ds, where)
    transposed = isinstance(op, ConvTranspose)
    if transposed:
        assert isinstance(op, ConvTranspose)
        ops_ = per_axis(op.output_padding, ndim, "output_padding", where)
        same_extra = [max(s - d * (k - 1) - 1, 0) if op.padding == "same" else 0 for k, s, d in zip(ks, ss, ds)]
        for axis, (p, s, d) in enumerate(zip(ops_, ss, ds)):
            if p >= max(s, d):
                raise RFGraphError(
                    f"{where}: output_padding={op.output_padding!r} on axis {axis} must be smaller than "
                    f"stride or dilation ({max(s, d)}); lower output_padding"
                )
    mode = op.padding_mode if isinstance(op, Conv) else "zeros"
    if mode != "zeros":
        _check_pad_mode(where, "padding_mode", mode, shape, pads)
    maps, out_shape = [], []
    for axis, n in enumerate(shape):
        k, s, d, pad = ks[axis], ss[axis], ds[axis], pads[axis]
        taps = np.arange(k, dtype=np.int64) * d
        if transposed:
            extra = ops_[axis] + same_extra[axis]
            n_out = conv_transpose_output_size(n, k, s, pad, d, extra)
        elif isinstance(op, Pool):
            n_out = pool_output_size(n, k, s, pad, d, op.ceil_mode)
        else:
            n_out = conv_output_size(n, k, s, pad, d)
        if n_out < 1:
            need = d * (k - 1) + 1 - pad[0] - pad[1]
            raise RFGraphError(
                f"{where}: output size would be {n_out} on axis {axis} (input {n}, kernel {k}, stride {s}, "
                f"dilation {d}, padding {pad}); the input must be at least {max(need, 1)} there: "
                "use a larger input, more padding or a smaller kernel"
            )
        _check_map_size(where, axis, (n if transposed else n_out) * k, n_out)
        # Averaging weights (SPEC section 11): 1/k per tap; pools divide like torch's avg_pool.
        if transposed:
            i = np.repeat(np.arange(n, dtype=np.int64), k)
            o = i * s - pad[0] + np.tile(taps, n)
            maps.append(AxisMap.from_pairs(n, n_out, o, i, np.full(o.size, 1.0 / k)))
        elif mode == "zeros":
            m = AxisMap.window(n, n_out, s, -pad[0], taps)  # sorted already: no sort needed
            maps.append(
                m.row_weights(1.0 / _pool_divisors(n, n_out, k, s, d, pad))
                if isinstance(op, Pool)
                else m.with_weights(1.0 / k)
            )
        else:
            o = np.repeat(np.arange(n_out, dtype=np.int64), k)
            i = o * s - pad[0] + np.tile(taps, n_out)
            i = pad_source(i, n, mode)  # the position torch reads in the padding
            maps.append(AxisMap.from_pairs(n, n_out, o, i, np.full(o.size, 1.0 / k)))  # same input: weights add
        out_shape.append(n_out)
    return Geometry(shape, tuple(out_shape), tuple(maps), tuple(ks), tuple(ss), tuple(ds), pads)


def _pool_divisors(n: int, n_out: int, k: int, s: int, d: int, pad: tuple[int, int]) -> np.ndarray:
    """torch's ``avg_pool`` divisor per output (``count_include_pad=True``): the taps inside
    the padded input ``[-pad_left, n + pad_right)`` (a ``ceil_mode`` window may end beyond it)."""
    start = np.arange(n_out, dtype=np.int64) * s - pad[0]
    taps = start[:, None] + np.arange(k, dtype=np.int64)[None, :] * d
    return (taps < n + pad[1]).sum(axis=1).astype(np.float64)


MAX_MAP_ENTRIES = 50_000_000
"""Largest number of (output, input) pairs one op may have along one axis."""


def _check_map_size(where: str, axis: int, entries: int, n_out: int) -> None:
    # Maps are explicit arrays: refuse before numpy tries to allocate gigabytes.
    if n_out > MAX_AXIS or entries > MAX_MAP_ENTRIES:
        raise RFGraphError(
            f"{where}: axis {axis} would have {n_out:,} outputs and {entries:,} index pairs, above rfgraph's limits "
            f"({MAX_AXIS:,} positions, {MAX_MAP_ENTRIES:,} pairs per axis); use a smaller input or kernel"
        )


def _upsample_map(n: int, f: int, mode: str) -> AxisMap:
    o = np.arange(n * f, dtype=np.int64)
    if mode == "nearest":
        return AxisMap.from_pairs(n, n * f, o, o // f)
    # align_corners=False: source x = (o + 0.5)/f - 0.5 = (2o + 1 - f) / (2f), clamped at 0.
    # Integer arithmetic keeps "weight exactly zero" exact.
    num = 2 * o + 1 - f
    clamped = num < 0
    i0 = np.where(clamped, 0, num // (2 * f))
    frac = np.where(clamped, 0, num % (2 * f))
    i1 = np.where(frac > 0, np.minimum(i0 + 1, n - 1), i0)
    lam = frac / (2.0 * f)  # torch's interpolation weights 1 - lambda and lambda (same input: they add up)
    weights = np.concatenate([1.0 - lam, lam])
    return AxisMap.from_pairs(n, n * f, np.concatenate([o, o]), np.concatenate([i0, i1]), weights)


def _crop(op: Crop, shape: tuple[int, ...], where: str) -> Geometry:
    ndim = len(shape)
    crop = op.crop
    entries = per_axis(crop, ndim, "crop", where) if isinstance(crop, tuple) else (crop,) * ndim
    pairs = tuple(e if isinstance(e, tuple) else (e, e) for e in entries)
    maps, out_shape = [], []
    for axis, (n, (left, right)) in enumerate(zip(shape, pairs, strict=True)):
        n_out = n - left - right
        if n_out < 1:
            raise RFGraphError(
                f"{where}: cropping ({left}, {right}) from {n} positions on axis {axis} leaves {n_out}; "
                "crop less or use a larger input"
            )
        o = np.arange(n_out, dtype=np.int64)
        maps.append(AxisMap.from_pairs(n, n_out, o, o + left))
        out_shape.append(n_out)
    # A crop is a one-tap window at offset ``left``: kernel 1, stride 1, padding -left.
    return Geometry(
        shape,
        tuple(out_shape),
        tuple(maps),
        kernel=(1,) * ndim,
        stride=(1,) * ndim,
        dilation=(1,) * ndim,
        pads=tuple((-left, -right) for left, right in pairs),
    )


def _check_pad_mode(where: str, what: str, mode: str, shape: tuple[int, ...], pads: Any) -> None:
    # torch: reflect needs pad < n, circular pad <= n (it wraps around at most once)
    for axis, (n, (left, right)) in enumerate(zip(shape, pads)):
        limit = n - 1 if mode == "reflect" else n if mode == "circular" else None
        if limit is not None and max(left, right) > limit:
            raise RFGraphError(
                f"{where}: {what}={mode!r} pads ({left}, {right}) on axis {axis} of size {n}; torch needs "
                f"{'padding < size' if mode == 'reflect' else 'padding <= size'} there: pad less, use "
                "'replicate', or use a larger input"
            )


def _pad(op: Pad, shape: tuple[int, ...], where: str) -> Geometry:
    ndim = len(shape)
    entries = per_axis(op.pads, ndim, "pads", where)
    pairs = tuple(e if isinstance(e, tuple) else (e, e) for e in entries)
    if op.mode != "zeros":
        _check_pad_mode(where, "mode", op.mode, shape, pairs)
    maps, out_shape = [], []
    for axis, (n, (left, right)) in enumerate(zip(shape, pairs)):
        n_out = n + left + right
        if n_out < 1:
            raise RFGraphError(
                f"{where}: pads ({left}, {right}) leave {n_out} positions of {n} on axis {axis}; crop less"
            )
        _check_map_size(where, axis, n_out, n_out)
        maps.append(pad_axis(n, left, right, op.mode))
        out_shape.append(n_out)
    # For the receptive-field arithmetic a pad is a one-tap window at offset -left.
    ones = (1,) * ndim
    return Geometry(shape, tuple(out_shape), tuple(maps), ones, ones, ones, pairs)


def _resize(op: Resize, shape: tuple[int, ...], where: str) -> Geometry:
    ndim = len(shape)
    sizes = per_axis(op.size, ndim, "size", where) if op.size is not None else (None,) * ndim
    scales = per_axis(op.scale_factor, ndim, "scale_factor", where) if op.scale_factor is not None else (None,) * ndim
    outs = []
    for axis, (n, m, sf) in enumerate(zip(shape, sizes, scales)):
        n_out = resize_output_size(n, m, sf)
        if n_out < 1:
            raise RFGraphError(
                f"{where}: scale_factor {sf} gives an output of {n_out} on axis {axis} (input {n}); "
                "use a larger scale_factor or give size="
            )
        window = -(-n // n_out) + 1 if op.mode == "area" else 4
        _check_map_size(where, axis, n_out * window, n_out)
        outs.append(n_out)
    maps = tuple(
        resize_axis(n, m, op.mode, op.align_corners, None if op.recompute_scale_factor else sf)
        for n, m, sf in zip(shape, outs, scales)
    )
    return Geometry(shape, tuple(outs), maps)


def _index_op(op: Op, shape: tuple[int, ...], where: str) -> Geometry:
    """Adaptive pools, pixel (un)shuffles, slices, flips, rolls and token mixers."""
    ndim = len(shape)
    maps, outs = [], []
    ones = (1,) * ndim
    kernel, stride, pads = ones, ones, ((0, 0),) * ndim
    if isinstance(op, AdaptivePool):
        sizes = per_axis(op.output_size, ndim, "output_size", where)
        for axis, (n, m) in enumerate(zip(shape, sizes)):
            m = n if m is None else m
            _check_map_size(where, axis, m * (-(-n // m) + 1), m)
            maps.append(adaptive_axis(n, m))
    elif isinstance(op, PixelShuffle | PixelUnshuffle):
        rs = per_axis(op.factor, ndim, "factor", where)
        for axis, (n, r) in enumerate(zip(shape, rs)):
            if isinstance(op, PixelShuffle):
                _check_map_size(where, axis, n * r, n * r)
                maps.append(shuffle_axis(n, r))
            else:
                if n % r:
                    raise RFGraphError(
                        f"{where}: size {n} on axis {axis} is not divisible by factor {r}; "
                        f"use an input whose size there is a multiple of {r}"
                    )
                maps.append(unshuffle_axis(n, r))
        if isinstance(op, PixelUnshuffle):
            kernel = stride = tuple(rs)
    elif isinstance(op, Slice):
        starts = per_axis(op.start, ndim, "start", where)
        stops = per_axis(op.stop, ndim, "stop", where)
        steps = per_axis(op.step, ndim, "step", where)
        first = []
        for axis, (n, a, b, c) in enumerate(zip(shape, starts, stops, steps)):
            kept = range(n)[slice(a, b, c)]
            if not len(kept):
                raise RFGraphError(
                    f"{where}: slice {a}:{b}:{c} of {n} positions on axis {axis} is empty; "
                    "change start/stop or use a larger input"
                )
            maps.append(slice_axis(n, kept.start, c, len(kept)))
            first.append(kept.start)
        stride = tuple(steps)
        pads = tuple((-f, 0) for f in first)
    elif isinstance(op, Flip):
        axes = tuple(range(ndim)) if op.axes is None else op.axes if isinstance(op.axes, tuple) else (op.axes,)
        for a in axes:
            if not -ndim <= a < ndim:
                raise RFGraphError(
                    f"{where}: axes={op.axes!r} names axis {a}, but the input has {ndim} spatial "
                    f"{'axes' if ndim > 1 else 'axis'}; use 0 .. {ndim - 1} (spatial axes only)"
                )
        flipped = {a % ndim for a in axes}
        maps = [flip_axis(n) if axis in flipped else AxisMap.identity(n) for axis, n in enumerate(shape)]
    elif isinstance(op, Roll):
        shifts = per_axis(op.shift, ndim, "shift", where)
        maps = [roll_axis(n, sh) for n, sh in zip(shape, shifts)]
    elif isinstance(op, GlobalMix):
        for axis, n in enumerate(shape):
            _check_map_size(where, axis, n * n, n)
            maps.append(all_to_all_axis(n))
    elif isinstance(op, WindowMix):
        windows = per_axis(op.window, ndim, "window", where)
        shifts = per_axis(op.shift, ndim, "shift", where)
        dilations = per_axis(op.dilation, ndim, "dilation", where)
        for axis, (n, w, sh, d) in enumerate(zip(shape, windows, shifts, dilations)):
            if n % (w * d):
                what = f"the window {w}" if d == 1 else f"window * dilation = {w} * {d} = {w * d}"
                raise RFGraphError(
                    f"{where}: size {n} on axis {axis} is not a multiple of {what}; "
                    "pad the input to a multiple first (rf.Pad), as Swin does, or change the window"
                    + ("" if d == 1 else " or the dilation")
                )
            _check_map_size(where, axis, n * w, n)
            maps.append(window_axis(n, w, sh, d))
    else:  # pragma: no cover
        raise RFGraphError(f"{where}: {type(op).__name__} is not a leaf op")
    outs = [m.n_out for m in maps]
    return Geometry(shape, tuple(outs), tuple(maps), kernel, stride, ones, pads)


def resolve(op: Op, shape: tuple[int, ...], where: str) -> Geometry:
    """Resolve a leaf op against an input ``shape``; ``where`` names the op in errors."""
    if isinstance(op, _Windowed):
        return _windowed(op, shape, where)
    if isinstance(op, Pad):
        return _pad(op, shape, where)
    if isinstance(op, Resize):
        return _resize(op, shape, where)
    if isinstance(op, AdaptivePool | PixelShuffle | PixelUnshuffle | Slice | Flip | Roll | GlobalMix | WindowMix):
        return _index_op(op, shape, where)
    if isinstance(op, Upsample):
        fs = per_axis(op.scale_factor, len(shape), "scale_factor", where)
        for axis, (n, f) in enumerate(zip(shape, fs)):
            _check_map_size(where, axis, 2 * n * f, n * f)
        maps = tuple(_upsample_map(n, f, op.mode) for n, f in zip(shape, fs))
        return Geometry(shape, tuple(n * f for n, f in zip(shape, fs)), maps, stride=tuple(fs))
    if isinstance(op, Crop):
        return _crop(op, shape, where)
    if isinstance(op, GlobalPool):
        maps = tuple(
            AxisMap.from_pairs(n, 1, np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64), np.full(n, 1.0 / n))
            for n in shape
        )
        return Geometry(
            shape,
            (1,) * len(shape),
            maps,
            kernel=shape,
            stride=shape,
            dilation=(1,) * len(shape),
            pads=((0, 0),) * len(shape),
        )
    raise RFGraphError(f"{where}: {type(op).__name__} is not a leaf op")  # pragma: no cover
