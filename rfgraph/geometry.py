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

from .errors import RFGraphError
from .ops import ConvTranspose, Crop, GlobalPool, Op, Pool, Upsample, _Windowed

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
class AxisMap:
    """The edges of one op along one spatial axis, CSR by output position.

    Output ``o`` is fed by input positions ``indices[indptr[o]:indptr[o + 1]]``
    (sorted, distinct).  Arrays are int64 and read-only.
    """

    n_in: int
    n_out: int
    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_pairs(cls, n_in: int, n_out: int, outs: np.ndarray, ins: np.ndarray) -> AxisMap:
        """Build from parallel arrays of (output, input) pairs; duplicates are dropped."""
        keep = (ins >= 0) & (ins < n_in) & (outs >= 0) & (outs < n_out)
        outs, ins = outs[keep].astype(np.int64), ins[keep].astype(np.int64)
        order = np.lexsort((ins, outs))
        outs, ins = outs[order], ins[order]
        if outs.size:
            distinct = np.ones(outs.size, dtype=bool)
            distinct[1:] = (outs[1:] != outs[:-1]) | (ins[1:] != ins[:-1])
            outs, ins = outs[distinct], ins[distinct]
        indptr = np.zeros(n_out + 1, dtype=np.int64)
        np.cumsum(np.bincount(outs, minlength=n_out), out=indptr[1:])
        indptr.setflags(write=False)
        ins.setflags(write=False)
        return cls(n_in, n_out, indptr, ins)

    @classmethod
    def window(cls, n_in: int, n_out: int, stride: int, offset: int, taps: np.ndarray) -> AxisMap:
        """Output ``o`` fed by ``o * stride + offset + taps`` (ascending taps) inside ``[0, n_in)``.

        The same map as :meth:`from_pairs` for a sliding window, built without sorting
        (rows and taps are already in order): several times faster on long axes.
        """
        i = np.arange(n_out, dtype=np.int64)[:, None] * stride + offset + np.asarray(taps, dtype=np.int64)[None, :]
        counts = np.full(n_out, i.shape[1], dtype=np.int64)
        border = (i[:, 0] < 0) | (i[:, -1] >= n_in)  # only rows near the ends lose taps
        if border.any():
            valid = (i[border] >= 0) & (i[border] < n_in)
            counts[border] = valid.sum(axis=1)
            indices = i[(i >= 0) & (i < n_in)]
        else:
            indices = i.ravel()
        indptr = np.zeros(n_out + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indptr.setflags(write=False)
        indices.setflags(write=False)
        return cls(n_in, n_out, indptr, indices)

    @classmethod
    def identity(cls, n: int) -> AxisMap:
        idx = np.arange(n, dtype=np.int64)
        return cls.from_pairs(n, n, idx, idx)

    def inputs_of(self, o: int) -> np.ndarray:
        """Input positions feeding output ``o``."""
        return self.indices[self.indptr[o] : self.indptr[o + 1]]

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def dense(self) -> np.ndarray:
        """The relation as a boolean matrix of shape ``(n_out, n_in)``."""
        out = np.zeros((self.n_out, self.n_in), dtype=bool)
        rows = np.repeat(np.arange(self.n_out), np.diff(self.indptr))
        out[rows, self.indices] = True
        return out


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
        if transposed:
            i = np.repeat(np.arange(n, dtype=np.int64), k)
            o = i * s - pad[0] + np.tile(taps, n)
            maps.append(AxisMap.from_pairs(n, n_out, o, i))
        else:
            maps.append(AxisMap.window(n, n_out, s, -pad[0], taps))
        out_shape.append(n_out)
    return Geometry(shape, tuple(out_shape), tuple(maps), tuple(ks), tuple(ss), tuple(ds), pads)


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
    return AxisMap.from_pairs(n, n * f, np.concatenate([o, o]), np.concatenate([i0, i1]))


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


def resolve(op: Op, shape: tuple[int, ...], where: str) -> Geometry:
    """Resolve a leaf op against an input ``shape``; ``where`` names the op in errors."""
    if isinstance(op, _Windowed):
        return _windowed(op, shape, where)
    if isinstance(op, Upsample):
        fs = per_axis(op.scale_factor, len(shape), "scale_factor", where)
        for axis, (n, f) in enumerate(zip(shape, fs)):
            _check_map_size(where, axis, 2 * n * f, n * f)
        maps = tuple(_upsample_map(n, f, op.mode) for n, f in zip(shape, fs))
        return Geometry(shape, tuple(n * f for n, f in zip(shape, fs)), maps, stride=tuple(fs))
    if isinstance(op, Crop):
        return _crop(op, shape, where)
    if isinstance(op, GlobalPool):
        maps = tuple(AxisMap.from_pairs(n, 1, np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64)) for n in shape)
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
