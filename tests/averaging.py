"""Oracle for ``weights="mean"`` (SPEC section 11): the averaging one-channel linear network,
built op by op from torch's own functions, and its input gradient by autograd in float64.

Convolutions are ``F.conv*`` with ``1/prod(kernel_size)`` kernels (padding modes by ``F.pad``),
pools ``F.avg_pool*`` (torch's defaults, ``count_include_pad=True``), resizes ``F.interpolate``,
adaptive pools ``F.adaptive_avg_pool*``, global pools and token mixers means, merges sums.  Only
the index maps the SPEC defines by positions (pixel shuffles, spatial concatenation) are written
from that definition.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

import rfgraph as rf
from rfgraph.plan import build_plan

PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


class Unsupported(Exception):
    """An op the torch oracle cannot express (e.g. a dilated or asymmetric average pool)."""


def _pads_flat(pads):
    """Per-axis (left, right) pairs in F.pad's order (last axis first)."""
    flat = []
    for left, right in reversed(pads):
        flat += [left, right]
    return flat


def _conv(x, g, ndim, op):
    if op.padding_mode != "zeros" or any(left != right for left, right in g.pads):
        x = F.pad(x, _pads_flat(g.pads), mode=PAD_MODES[op.padding_mode])
        padding = 0
    else:
        padding = tuple(left for left, _ in g.pads)
    w = torch.full((1, 1, *g.kernel), 1.0 / math.prod(g.kernel), dtype=x.dtype)
    fn = [F.conv1d, F.conv2d, F.conv3d][ndim - 1]
    return fn(x, w, stride=g.stride, padding=padding, dilation=g.dilation)


def _deconv(x, g, ndim, out_shape):
    w = torch.full((1, 1, *g.kernel), 1.0 / math.prod(g.kernel), dtype=x.dtype)
    fn = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][ndim - 1]
    y = fn(x, w, stride=g.stride, dilation=g.dilation)
    for axis, ((left, _), n_out) in enumerate(zip(g.pads, out_shape)):
        extra = left + n_out - y.shape[2 + axis]
        if extra > 0:  # output_padding: positions no input reaches
            pad = [0, 0] * ndim
            pad[2 * (ndim - 1 - axis) + 1] = extra
            y = F.pad(y, pad)
        y = y.narrow(2 + axis, left, n_out)
    return y


def _pool(x, g, ndim, op):
    if any(d != 1 for d in g.dilation) or any(left != right for left, right in g.pads):
        raise Unsupported("torch's avg_pool has no dilation and symmetric padding only")
    if any(left > k // 2 for (left, _), k in zip(g.pads, g.kernel)):
        raise Unsupported("torch's avg_pool needs padding <= kernel / 2")
    fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][ndim - 1]
    padding = tuple(left for left, _ in g.pads)
    return fn(x, g.kernel, g.stride, padding, ceil_mode=op.ceil_mode, count_include_pad=True)


def _resize(x, op, ndim):
    mode = {"linear": ["linear", "bilinear", "trilinear"][ndim - 1], "cubic": "bicubic"}.get(op.mode, op.mode)
    kw = {}
    if op.mode in ("linear", "cubic"):
        kw["align_corners"] = op.align_corners
    if op.recompute_scale_factor:
        kw["recompute_scale_factor"] = True
    size = op.size if op.size is None or isinstance(op.size, tuple) else (op.size,) * ndim
    scale = op.scale_factor
    if scale is not None and not isinstance(scale, tuple):
        scale = (float(scale),) * ndim
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
        raise Unsupported("torch has bicubic only in 2-D")
    return F.interpolate(x, size=size, scale_factor=scale, mode=mode, **kw)


def _window_mean(x, axis, window, shift, dilation):
    """Uniform attention inside (shifted, dilated) windows along one spatial axis."""
    dim = 2 + axis
    n = x.shape[dim]
    y = torch.roll(x, -shift, dims=dim)
    shape = list(y.shape)
    blocks = n // (window * dilation)
    y = y.reshape(*shape[:dim], blocks, window, dilation, *shape[dim + 1 :])
    y = y.mean(dim=dim + 1, keepdim=True).expand(*shape[:dim], blocks, window, dilation, *shape[dim + 1 :])
    return torch.roll(y.reshape(shape), shift, dims=dim)


def _per_axis(v, ndim):
    return v if isinstance(v, tuple) else (v,) * ndim


def _leaf(x, t, ndim):
    op, g = t.op, t.geometry
    if isinstance(op, rf.Conv):
        return _conv(x, g, ndim, op)
    if isinstance(op, rf.ConvTranspose):
        return _deconv(x, g, ndim, t.shape)
    if isinstance(op, rf.Pool):
        return _pool(x, g, ndim, op)
    if isinstance(op, rf.Upsample):
        mode = "nearest" if op.mode == "nearest" else ["linear", "bilinear", "trilinear"][ndim - 1]
        kw = {} if op.mode == "nearest" else {"align_corners": False}
        scale = tuple(float(f) for f in _per_axis(op.scale_factor, ndim))
        return F.interpolate(x, scale_factor=scale, mode=mode, **kw)
    if isinstance(op, rf.Resize):
        return _resize(x, op, ndim)
    if isinstance(op, rf.GlobalPool):
        return x.mean(dim=tuple(range(2, 2 + ndim)), keepdim=True)
    if isinstance(op, rf.AdaptivePool):
        fn = [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d][ndim - 1]
        return fn(x, t.shape if ndim > 1 else t.shape[0])
    if isinstance(op, rf.GlobalMix):
        return x.mean(dim=tuple(range(2, 2 + ndim)), keepdim=True).expand(x.shape)
    if isinstance(op, rf.WindowMix):
        for axis, (w, s, d) in enumerate(
            zip(_per_axis(op.window, ndim), _per_axis(op.shift, ndim), _per_axis(op.dilation, ndim))
        ):
            x = _window_mean(x, axis, w, s, d)
        return x
    if isinstance(op, rf.Pad | rf.Crop):  # a crop's pads are negative: F.pad crops
        return F.pad(x, _pads_flat(g.pads), mode=PAD_MODES[getattr(op, "mode", "zeros")])
    if isinstance(op, rf.Slice):
        return x[(slice(None), slice(None)) + _slices(op, ndim, x.shape[2:])]
    if isinstance(op, rf.Flip):
        axes = range(ndim) if op.axes is None else _per_axis(op.axes, 1)
        return torch.flip(x, dims=tuple(2 + a % ndim for a in axes))
    if isinstance(op, rf.Roll):
        shifts = _per_axis(op.shift, ndim)
        return torch.roll(x, shifts=shifts, dims=tuple(range(2, 2 + ndim)))
    if isinstance(op, rf.PixelShuffle):  # o reads o // r: repeat every position r times
        for axis, r in enumerate(_per_axis(op.factor, ndim)):
            x = torch.repeat_interleave(x, r, dim=2 + axis)
        return x
    if isinstance(op, rf.PixelUnshuffle):  # o reads o*r .. o*r + r - 1: a sum
        r = _per_axis(op.factor, ndim)
        fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][ndim - 1]
        return fn(x, r, r) * math.prod(r)
    raise Unsupported(type(op).__name__)


def _slices(op, ndim, shape):
    starts, stops, steps = (_per_axis(v, ndim) for v in (op.start, op.stop, op.step))
    return tuple(slice(a, b, c) for a, b, c in zip(starts, stops, steps))


def _merge(t, values, ndim):
    op = t.op
    if isinstance(op, rf.Concat) and op.axis is not None:
        # Each link places its source by an offset map along the axis (the SPEC's definition).
        axis = op.axis % ndim
        out = torch.zeros((1, 1, *t.shape), dtype=torch.float64)
        for link in t.links:
            m = link.maps[axis]
            rows = np.repeat(np.arange(m.n_out), np.diff(m.indptr))
            src = values[link.source]
            out = out.index_add(
                2 + axis, torch.as_tensor(rows), src.index_select(2 + axis, torch.as_tensor(np.array(m.indices)))
            )
        return out
    total = None
    for link in t.links:  # Add, Residual and channel Concat: a sum (sizes 1 broadcast)
        v = values[link.source]
        total = v if total is None else total + v
    return total.expand((1, 1, *t.shape))


def mean_gradient(net, shape, target=None):
    """d y[target] / d x (float64) of the averaging one-channel network (``"all"``: of the sum)."""
    plan = build_plan(net, shape)
    ndim = len(shape)
    x = torch.rand((1, 1, *shape), dtype=torch.float64, requires_grad=True)
    values = [x]
    for t in plan.tensors[1:]:
        if t.geometry is not None:
            (link,) = t.links
            y = _leaf(values[link.source], t, ndim)
        else:
            y = _merge(t, values, ndim)
        assert tuple(y.shape[2:]) == t.shape, (t.name, tuple(y.shape[2:]), t.shape)
        values.append(y)
    out = values[-1]
    if isinstance(target, str) and target == "all":
        out.sum().backward()
        return x.grad[0, 0].numpy()
    target = tuple(n // 2 for n in plan.output.shape) if target is None else target
    out[(0, 0) + tuple(target)].backward()
    return x.grad[0, 0].numpy()
