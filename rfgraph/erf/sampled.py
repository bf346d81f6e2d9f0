"""Monte Carlo estimate of the expected ERF: many random initialisations of the torch model.

:func:`sampled_erf` draws the weights of every ``Conv``/``ConvTranspose`` from ``init``
(``draws`` independent networks at once, as one grouped convolution), runs the plan with
torch's own functions (:mod:`rfgraph.erf._torch_net`: the other ops average as in
``weights="mean"``), and averages ``sum_c (d y_target / d x_c)**2`` over draws.  It is the
independent check of :func:`rfgraph.erf.expected_erf` (exact for linear networks) and
measures how far its ReLU rule (a factor 1/2 per ReLU) is from the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import ConvTranspose, Op
from ..plan import Tensor, build_plan
from .expected import ACTIVATIONS, INITS

__all__ = ["SampledERF", "sampled_erf"]


@dataclass(frozen=True)
class SampledERF:
    """Mean over ``draws`` random networks and its standard error, per input pixel."""

    mean: np.ndarray
    stderr: np.ndarray
    draws: int


def _weights(torch: Any, gen: Any, shape: tuple[int, ...], fan_in: int, fan_out: int, init: str, relu: bool) -> Any:
    gain = math.sqrt(2.0) if relu else 1.0
    if init.startswith("kaiming"):
        std = gain / math.sqrt(fan_in)
    elif init.startswith("xavier"):
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    else:  # torch_default: kaiming_uniform(a=sqrt(5)), bound 1/sqrt(fan_in)
        std = 1.0 / math.sqrt(3.0 * fan_in)
    if init.endswith("normal"):
        return torch.randn(shape, generator=gen, dtype=torch.float64) * std
    bound = std * math.sqrt(3.0)
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound


_LETTERS = "xyz"
_TAPS = "abc"


def _conv(x: Any, w: Any, g: Any) -> Any:
    """Per-draw convolution (one weight set per batch element) by unfolding: ``x`` (D, C, *padded)."""
    nd = len(g.kernel)
    for axis in range(nd):
        span = (g.kernel[axis] - 1) * g.dilation[axis] + 1
        x = x.unfold(2 + axis, span, g.stride[axis])
    x = x[(Ellipsis,) + tuple(slice(None, None, dd) for dd in g.dilation)]
    pos, taps = _LETTERS[:nd], _TAPS[:nd]
    import torch

    return torch.einsum(f"dc{pos}{taps},doc{taps}->do{pos}", x, w)


def _conv_transpose(torch: Any, x: Any, w: Any, g: Any, out_shape: tuple[int, ...]) -> Any:
    """Per-draw transposed convolution: input ``i`` adds ``w[..., j] x[i]`` at ``i*s - pad_left + j*d``."""
    nd = len(g.kernel)
    n = x.shape[2:]
    full = [(m - 1) * s + (k - 1) * dd + 1 for m, s, k, dd in zip(n, g.stride, g.kernel, g.dilation, strict=True)]
    pos = _LETTERS[:nd]
    y = x.new_zeros((x.shape[0], w.shape[1], *full))
    for tap in np.ndindex(*g.kernel):
        z = torch.einsum(f"dc{pos},doc->do{pos}", x, w[(Ellipsis,) + tuple(tap)])
        where = tuple(
            slice(j * dd, j * dd + (m - 1) * s + 1, s) for j, dd, m, s in zip(tap, g.dilation, n, g.stride, strict=True)
        )
        y[(slice(None), slice(None)) + where] += z
    for axis, ((left, _), n_out) in enumerate(zip(g.pads, out_shape, strict=True)):
        extra = left + n_out - y.shape[2 + axis]
        if extra > 0:  # output_padding: positions no input reaches
            pad = [0, 0] * nd
            pad[2 * (nd - 1 - axis) + 1] = extra
            y = torch.nn.functional.pad(y, pad)
        y = y.narrow(2 + axis, left, n_out)
    return y


def sampled_erf(
    network: Op,
    input_shape: Any,
    target: Any = None,
    init: str = "kaiming_normal",
    activation: str = "linear",
    *,
    draws: int = 1000,
    channels: int = 4,
    batch: int = 250,
    seed: int = 0,
    endpoint: str | None = None,
) -> SampledERF:
    """Monte Carlo of ``E[sum_c (d y_target / d x_c)**2]`` over ``draws`` random torch networks.

    ``channels`` input and hidden channels; the target is output channel 0.  With
    ``activation="relu"`` a ReLU follows every (transposed) convolution but the output's
    and the inputs are standard normal (for a linear network they do not matter).

    >>> import rfgraph as rf
    >>> s = rf.erf.sampled_erf(rf.Sequential(rf.Conv(3), rf.Conv(3)), (5,), draws=4000)
    >>> bool(abs(s.mean[2] * 9 - 3) < 5 * s.stderr[2] * 9)
    True
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError("sampled_erf needs PyTorch: pip install 'rfgraph[torch]'") from None
    from ..engine import check_target
    from ._torch_net import PAD_MODES, pads_flat, run_plan

    if init not in INITS:
        raise RFGraphError(f"init={init!r} is unknown; choose one of {', '.join(map(repr, INITS))}")
    if activation not in ACTIVATIONS:
        raise RFGraphError(f"activation={activation!r} is unknown; choose one of {', '.join(map(repr, ACTIVATIONS))}")
    for name, value in (("draws", draws), ("channels", channels), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RFGraphError(f"{name}={value!r} must be a positive int")
    F = torch.nn.functional
    plan = build_plan(network, input_shape, endpoint)
    tgt = check_target(plan, target)
    relu = activation == "relu"
    last = len(plan.tensors) - 1
    gen = torch.Generator().manual_seed(int(seed))
    total = np.zeros(plan.input_shape)
    squares = np.zeros(plan.input_shape)
    done = 0
    while done < draws:
        d = min(batch, draws - done)

        def conv(t: Tensor, src: Any, d: int = d) -> Any:
            g = t.geometry
            assert g is not None
            c = channels
            k = math.prod(g.kernel)
            w = _weights(torch, gen, (d, c, c, *g.kernel), c * k, c * k, init, relu)  # (draw, out, in, *k)
            if isinstance(t.op, ConvTranspose):
                y = _conv_transpose(torch, src, w, g, t.shape)
            else:
                mode = PAD_MODES[getattr(t.op, "padding_mode", "zeros")]
                x = F.pad(src, pads_flat(g.pads), mode=mode) if any(any(p) for p in g.pads) else src
                y = _conv(x, w, g)
            return torch.relu(y) if relu and t.index != last else y

        x = torch.randn((d, channels, *plan.input_shape), generator=gen, dtype=torch.float64, requires_grad=True)
        out = run_plan(plan, x, conv)[-1]
        out[(slice(None), 0) + tgt].sum().backward()
        assert x.grad is not None
        per_draw = (x.grad**2).sum(dim=1).numpy()
        total += per_draw.sum(axis=0)
        squares += (per_draw**2).sum(axis=0)
        done += d
    mean = total / draws
    var = np.maximum(squares / draws - mean**2, 0.0) * draws / max(draws - 1, 1)
    return SampledERF(mean, np.sqrt(var / draws), draws)
