"""A plan run by torch's own functions (needs the ``torch`` extra; imported lazily).

Every weight-free op is what SPEC section 11 calls "mean": ``F.avg_pool*`` with torch's
defaults, ``F.interpolate``, ``F.adaptive_avg_pool*``, means for global pools and token
mixers, ``F.pad`` and slicing for index maps, sums for merges.  Convolutions are given by
the caller (``conv(tensor, x)``): one-channel averaging kernels for the ``weights="mean"``
oracle, random multi-channel kernels, one set per draw, for :func:`sampled_erf`.
Tensors are ``(batch, channels, *spatial)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import (
    AdaptivePool,
    Concat,
    Conv,
    ConvTranspose,
    Crop,
    Flip,
    GlobalMix,
    GlobalPool,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Pool,
    Resize,
    Roll,
    Slice,
    Upsample,
    WindowMix,
)
from ..plan import Plan, Tensor

__all__ = ["run_plan", "pads_flat", "PAD_MODES"]

PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def pads_flat(pads: Any) -> list[int]:
    """Per-axis (left, right) pairs in ``F.pad``'s order (last axis first)."""
    flat: list[int] = []
    for left, right in reversed(pads):
        flat += [left, right]
    return flat


def _per_axis(v: Any, ndim: int) -> tuple[Any, ...]:
    return v if isinstance(v, tuple) else (v,) * ndim


def _pool(F: Any, x: Any, t: Tensor, ndim: int) -> Any:
    g, op = t.geometry, t.op
    assert g is not None and isinstance(op, Pool)
    if any(d != 1 for d in g.dilation) or any(a != b or a > k // 2 for (a, b), k in zip(g.pads, g.kernel)):
        raise RFGraphError(
            f"Pool {t.name!r}: torch's avg_pool has no dilation and needs symmetric padding <= kernel / 2"
        )
    fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][ndim - 1]
    return fn(x, g.kernel, g.stride, tuple(a for a, _ in g.pads), ceil_mode=op.ceil_mode, count_include_pad=True)


def _resize(F: Any, x: Any, op: Resize, ndim: int, name: str) -> Any:
    mode = {"linear": ["linear", "bilinear", "trilinear"][ndim - 1], "cubic": "bicubic"}.get(op.mode, op.mode)
    kw: dict[str, Any] = {}
    if op.mode in ("linear", "cubic"):
        kw["align_corners"] = op.align_corners
    if op.recompute_scale_factor:
        kw["recompute_scale_factor"] = True
    size = None if op.size is None else _per_axis(op.size, ndim)
    scale = None if op.scale_factor is None else tuple(float(s) for s in _per_axis(op.scale_factor, ndim))
    if op.mode == "cubic" and ndim == 1:  # bicubic is 2-D only: a size-1 second axis is the identity
        y = F.interpolate(
            x[..., None],
            size=None if size is None else (size[0], 1),
            scale_factor=None if scale is None else (scale[0], 1.0),
            mode=mode,
            **kw,
        )
        return y[..., 0]
    if op.mode == "cubic" and ndim != 2:
        raise RFGraphError(f"Resize {name!r}: torch has bicubic interpolation in 2-D only")
    return F.interpolate(x, size=size, scale_factor=scale, mode=mode, **kw)


def _window_mean(torch: Any, x: Any, axis: int, window: int, shift: int, dilation: int) -> Any:
    """Uniform attention inside (shifted, dilated) windows along one spatial axis."""
    dim = 2 + axis
    n = x.shape[dim]
    y = torch.roll(x, -shift, dims=dim)
    shape = list(y.shape)
    blocks = n // (window * dilation)
    split = [*shape[:dim], blocks, window, dilation, *shape[dim + 1 :]]
    y = y.reshape(split).mean(dim=dim + 1, keepdim=True).expand(split)
    return torch.roll(y.reshape(shape), shift, dims=dim)


def _leaf(torch: Any, x: Any, t: Tensor, ndim: int) -> Any:
    F = torch.nn.functional
    op, g = t.op, t.geometry
    assert g is not None
    if isinstance(op, Pool):
        return _pool(F, x, t, ndim)
    if isinstance(op, Upsample):
        mode = "nearest" if op.mode == "nearest" else ["linear", "bilinear", "trilinear"][ndim - 1]
        kw = {} if op.mode == "nearest" else {"align_corners": False}
        return F.interpolate(x, scale_factor=tuple(float(f) for f in _per_axis(op.scale_factor, ndim)), mode=mode, **kw)
    if isinstance(op, Resize):
        return _resize(F, x, op, ndim, t.name)
    if isinstance(op, GlobalPool):
        return x.mean(dim=tuple(range(2, 2 + ndim)), keepdim=True)
    if isinstance(op, AdaptivePool):
        fn = [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d][ndim - 1]
        return fn(x, t.shape if ndim > 1 else t.shape[0])
    if isinstance(op, GlobalMix):
        return x.mean(dim=tuple(range(2, 2 + ndim)), keepdim=True).expand(x.shape)
    if isinstance(op, WindowMix):
        per = zip(_per_axis(op.window, ndim), _per_axis(op.shift, ndim), _per_axis(op.dilation, ndim), strict=True)
        for axis, (w, s, d) in enumerate(per):
            x = _window_mean(torch, x, axis, w, s, d)
        return x
    if isinstance(op, Pad | Crop):  # a crop's pads are negative: F.pad crops
        return F.pad(x, pads_flat(g.pads), mode=PAD_MODES[getattr(op, "mode", "zeros")])
    if isinstance(op, Slice):
        starts, stops, steps = (_per_axis(v, ndim) for v in (op.start, op.stop, op.step))
        return x[(slice(None), slice(None)) + tuple(slice(a, b, c) for a, b, c in zip(starts, stops, steps))]
    if isinstance(op, Flip):
        axes = range(ndim) if op.axes is None else _per_axis(op.axes, 1)
        return torch.flip(x, dims=tuple(2 + a % ndim for a in axes))
    if isinstance(op, Roll):
        return torch.roll(x, shifts=_per_axis(op.shift, ndim), dims=tuple(range(2, 2 + ndim)))
    if isinstance(op, PixelShuffle):  # o reads o // r (SPEC section 2): each position repeated r times
        for axis, r in enumerate(_per_axis(op.factor, ndim)):
            x = torch.repeat_interleave(x, r, dim=2 + axis)
        return x
    if isinstance(op, PixelUnshuffle):  # o reads o*r .. o*r + r - 1: their sum
        r = _per_axis(op.factor, ndim)
        fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][ndim - 1]
        return fn(x, r, r) * math.prod(r)
    raise RFGraphError(f"{type(op).__name__} {t.name!r} has no torch equivalent here")  # pragma: no cover


def _merge(torch: Any, t: Tensor, values: list[Any], ndim: int) -> Any:
    op = t.op
    if isinstance(op, Concat) and op.axis is not None:
        # Each link places its source by an offset map along the axis (SPEC section 2).
        axis = op.axis % ndim
        first = values[t.links[0].source]
        out = first.new_zeros((*first.shape[:2], *t.shape))
        for link in t.links:
            m = link.maps[axis]
            rows = torch.as_tensor(np.repeat(np.arange(m.n_out), np.diff(m.indptr)))
            cols = torch.as_tensor(np.array(m.indices))
            out = out.index_add(2 + axis, rows, values[link.source].index_select(2 + axis, cols))
        return out
    total = None
    for link in t.links:  # Add, Residual and channel Concat: a sum (SPEC section 11); sizes 1 broadcast
        v = values[link.source]
        total = v if total is None else total + v
    assert total is not None
    return total.expand((*total.shape[:2], *t.shape))


def run_plan(plan: Plan, x: Any, conv: Callable[[Tensor, Any], Any]) -> list[Any]:
    """Every tensor of ``plan`` for input ``x``; ``conv(t, src)`` computes Conv/ConvTranspose tensors."""
    import torch

    ndim = plan.ndim
    values: list[Any] = [x]
    for t in plan.tensors[1:]:
        if isinstance(t.op, Conv | ConvTranspose):
            y = conv(t, values[t.links[0].source])
        elif t.geometry is not None:
            y = _leaf(torch, values[t.links[0].source], t, ndim)
        else:
            y = _merge(torch, t, values, ndim)
        if tuple(y.shape[2:]) != t.shape:  # pragma: no cover - a bug, not bad input
            raise AssertionError(f"{t.name}: torch gives {tuple(y.shape[2:])}, the plan {t.shape}")
        values.append(y)
    return values
