"""The all-ones linear network in PyTorch (needs the ``torch`` extra).

SPEC section 4: ``paths(x)`` equals the gradient of the target with respect to
input ``x`` in the linear network whose every edge has weight one
(convolutions with ones kernels, sum pooling, sum merges, nearest upsampling).
This module builds that network from real torch operators, so that the
engine's geometry is checked against torch's own convolution arithmetic.

>>> import rfgraph as rf
>>> torch = __import__("pytest").importorskip("torch")
>>> net = rf.Sequential(*[rf.Conv(3)] * 5)
>>> paths_by_autograd(net, (15,))[2:13].astype(int).tolist()
[1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import RFGraphError
from .geometry import Geometry
from .ops import ConvTranspose, GlobalPool, Op, Upsample
from .plan import Plan, Tensor, build_plan

__all__ = ["ones_network_forward", "paths_by_autograd"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError("this needs PyTorch: pip install 'rfgraph[torch]'") from None
    return torch


def _windowed(torch: Any, x: Any, op: Op, g: Geometry) -> Any:
    """Ones-kernel convolution (or transposed convolution) with rfgraph's geometry."""
    F = torch.nn.functional
    nd = len(g.in_shape)
    weight = torch.ones((1, 1, *g.kernel), dtype=x.dtype)
    if isinstance(op, ConvTranspose):
        conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        full = conv_t(x, weight, stride=g.stride, dilation=g.dilation)
        # The full output starts at -pad_left; crop to rfgraph's output window.
        index = [slice(None), slice(None)]
        for axis, (pl, _) in enumerate(g.pads):
            n_out = g.out_shape[axis]
            have = full.shape[2 + axis]
            if pl + n_out > have:  # output_padding: zeros past the last tap
                extra = [0, 0] * nd
                extra[2 * (nd - 1 - axis) + 1] = pl + n_out - have
                full = F.pad(full, extra)
            index.append(slice(pl, pl + n_out))
        return full[tuple(index)]
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    pad: list[int] = []
    for axis in reversed(range(nd)):
        pl, pr = g.pads[axis]
        # ceil_mode windows may run past the right padding: extend with zeros, then crop.
        needed = (g.out_shape[axis] - 1) * g.stride[axis] + g.dilation[axis] * (g.kernel[axis] - 1) + 1
        pr = max(pr, needed - g.in_shape[axis] - pl)
        pad += [pl, pr]
    out = conv(F.pad(x, pad), weight, stride=g.stride, dilation=g.dilation)
    crop = (slice(None), slice(None)) + tuple(slice(0, n) for n in g.out_shape)
    return out[crop]


def _leaf(torch: Any, x: Any, t: Tensor) -> Any:
    op, g = t.op, t.geometry
    assert op is not None and g is not None
    if isinstance(op, GlobalPool):
        return x.sum(dim=tuple(range(2, x.dim())), keepdim=True)
    if isinstance(op, Upsample):
        if op.mode != "nearest":
            raise RFGraphError(
                f"Upsample {t.name!r}: linear interpolation has fractional weights, so it has no all-ones "
                "torch equivalent; use mode='nearest' here or compare with rfgraph.reference"
            )
        return torch.nn.functional.interpolate(x, scale_factor=g.stride, mode="nearest")
    if g.kernel:  # Conv, Pool, ConvTranspose
        return _windowed(torch, x, op, g)
    raise RFGraphError(f"{t.name!r}: no torch equivalent for {type(op).__name__}")  # pragma: no cover


def ones_network_forward(plan: Plan, x: Any) -> Any:
    """Run the all-ones linear network of ``plan`` on ``x`` (shape ``(1, 1, *input_shape)``)."""
    torch = _torch()
    values: list[Any] = [x]
    for t in plan.tensors[1:]:
        if t.geometry is None:  # a merge: sum of its branches
            total = values[t.links[0].source]
            for link in t.links[1:]:
                total = total + values[link.source]
            values.append(total)
        else:
            values.append(_leaf(torch, values[t.links[0].source], t))
    return values[-1]


def paths_by_autograd(network: Op, input_shape: Any, target: Any = None, *, endpoint: str | None = None) -> np.ndarray:
    """Path counts as torch's float64 gradient of the all-ones linear network.

    Parameters
    ----------
    network, input_shape, target, endpoint
        As for :func:`rfgraph.contribution_map`.

    Returns
    -------
    numpy.ndarray
        float64, shape ``input_shape``.
    """
    from .engine import _check_target

    torch = _torch()
    plan = build_plan(network, input_shape, endpoint)
    tgt = _check_target(plan, target)
    x = torch.zeros((1, 1, *plan.input_shape), dtype=torch.float64, requires_grad=True)
    out = ones_network_forward(plan, x)
    out[(0, 0) + tgt].backward()
    assert x.grad is not None
    return x.grad[0, 0].numpy().copy()  # type: ignore[no-any-return]
