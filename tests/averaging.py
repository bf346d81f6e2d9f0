"""Oracle for ``weights="mean"`` (SPEC section 11): the averaging one-channel linear network,
run by torch's own functions (:func:`rfgraph.erf._torch_net.run_plan`: ``F.avg_pool*`` with
torch's defaults, ``F.interpolate``, ``F.adaptive_avg_pool*``, means, ``F.pad``, sums), with
convolutions as ``F.conv*`` / ``F.conv_transpose*`` of ``1/prod(kernel_size)`` kernels, and its
input gradient by autograd in float64.  Nothing here reads the engine's maps or weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

import rfgraph as rf
from rfgraph.erf._torch_net import PAD_MODES, pads_flat, run_plan
from rfgraph.plan import build_plan


class Unsupported(Exception):
    """An op the torch oracle cannot express (e.g. a dilated or asymmetric average pool)."""


def _conv(t, x):
    g, ndim = t.geometry, len(t.shape)
    w = torch.full((1, 1, *g.kernel), 1.0 / math.prod(g.kernel), dtype=x.dtype)
    if isinstance(t.op, rf.ConvTranspose):
        y = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][ndim - 1](
            x, w, stride=g.stride, dilation=g.dilation
        )
        for axis, ((left, _), n_out) in enumerate(zip(g.pads, t.shape)):
            extra = left + n_out - y.shape[2 + axis]
            if extra > 0:  # output_padding: positions no input reaches
                pad = [0, 0] * ndim
                pad[2 * (ndim - 1 - axis) + 1] = extra
                y = F.pad(y, pad)
            y = y.narrow(2 + axis, left, n_out)
        return y
    x = F.pad(x, pads_flat(g.pads), mode=PAD_MODES[t.op.padding_mode])
    return [F.conv1d, F.conv2d, F.conv3d][ndim - 1](x, w, stride=g.stride, dilation=g.dilation)


def mean_gradient(net, shape, target=None):
    """d y[target] / d x (float64) of the averaging one-channel network (``"all"``: of the sum)."""
    plan = build_plan(net, shape)
    x = torch.rand((1, 1, *shape), dtype=torch.float64, requires_grad=True)
    try:
        out = run_plan(plan, x, _conv)[-1]
    except rf.RFGraphError as err:  # an op torch cannot run (dilated pool, 3-D bicubic)
        raise Unsupported(str(err)) from None
    if isinstance(target, str) and target == "all":
        out.sum().backward()
    else:
        target = tuple(n // 2 for n in plan.output.shape) if target is None else target
        out[(0, 0) + tuple(target)].backward()
    return x.grad[0, 0].numpy()
