"""rfgraph networks as PyTorch modules (needs the ``torch`` extra).

:func:`to_torch` builds a ``torch.nn.Module`` with exactly the graph of a plan,
with random weights (the empirical ERFs of :mod:`rfgraph.erf`) or all-ones
weights.  :func:`paths_by_autograd` uses the latter: SPEC section 4 says that
``paths(x)`` equals the gradient of the target in the linear network whose
every edge has weight one, so torch's own convolution arithmetic checks the
engine's geometry.

>>> import rfgraph as rf
>>> torch = __import__("pytest").importorskip("torch")
>>> paths_by_autograd(rf.Sequential(*[rf.Conv(3)] * 5), (15,))[2:13].astype(int).tolist()
[1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import Concat, Conv, ConvTranspose, Crop, GlobalPool, Op, Pool, Upsample
from ..plan import build_plan

__all__ = ["to_torch", "paths_by_autograd", "WEIGHTS", "POOLS"]


WEIGHTS = ("random", "ones")
POOLS = ("avg", "max")


def _import_torch(purpose: str = "this") -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError(f"{purpose} needs PyTorch: pip install 'rfgraph[torch]'") from None
    return torch


def _choice(value: Any, options: tuple[str, ...], what: str) -> str:
    if value not in options:
        raise RFGraphError(f"{what}={value!r} is unknown; choose one of {', '.join(map(repr, options))}")
    return str(value)


_BUILT = (Conv, ConvTranspose, Pool, Upsample, GlobalPool, Crop)


def _check_buildable(t: Any) -> None:
    """Refuse what the torch builder would get wrong, before building anything."""
    op = t.op
    if isinstance(op, Conv) and getattr(op, "padding_mode", "zeros") != "zeros":
        raise RFGraphError(
            f"Conv {t.name!r}: to_torch builds zero padding only, not padding_mode={op.padding_mode!r}; "
            "use rf.from_torch on your own torch module, or padding_mode='zeros'"
        )
    if isinstance(op, Concat) and getattr(op, "axis", None) is not None:
        raise RFGraphError(
            f"Concat {t.name!r}: to_torch joins channels only, not spatial axis {op.axis}; "
            "build that module in torch and import it with rf.from_torch"
        )
    if t.geometry is not None and not isinstance(op, _BUILT):
        raise RFGraphError(
            f"{type(op).__name__} {t.name!r}: to_torch builds {', '.join(c.__name__ for c in _BUILT)} and merges; "
            f"not {type(op).__name__} yet: build that module in torch and import it with rf.from_torch"
        )


def to_torch(
    network: Op,
    input_shape: Any,
    *,
    channels: int = 4,
    relu: bool = False,
    weights: str = "random",
    pool: str = "avg",
    seed: int = 0,
    dtype: Any = None,
    endpoint: str | None = None,
) -> Any:
    """A ``torch.nn.Module`` with exactly the graph of ``network`` on ``input_shape``.

    Every tensor of the plan becomes one torch operation with the same geometry
    (explicit left/right padding, stride, dilation, output size): ``Conv`` ->
    ``conv1d/2d/3d`` with ``channels`` in and out channels and no bias, ``Pool`` ->
    a fixed depthwise window (average, or ``max``), ``ConvTranspose`` ->
    ``conv_transpose`` cropped to the plan's output, ``Upsample`` ->
    ``interpolate``, ``Crop`` -> slicing, ``GlobalPool`` -> mean (sum with
    ``weights="ones"``), ``Add``/``Residual`` -> sum,
    ``Concat`` -> channel concatenation (a sum with ``weights="ones"``, which
    feeds the next convolution alike and keeps one channel count).  The module maps
    ``(batch, channels, *input_shape)`` to the output (or end-point) tensor.

    Parameters
    ----------
    network, input_shape
        The network and its spatial input size.
    channels : int
        Channels of the input and of every convolution.
    relu : bool
        Apply ReLU after every (transposed) convolution except one that produces
        the output.
    weights : {"random", "ones"}
        ``"random"``: i.i.d. normal with variance ``gain**2 / fan_in`` (``gain`` is
        ``sqrt(2)`` with ReLU, else 1; the scale does not change the shape of the
        map of a bias-free linear or ReLU network).  ``"ones"``: every weight one
        and sum pooling, so that the input gradient is ``channels**convs`` times the
        path-count map (SPEC section 4) for a chain.
    pool : {"avg", "max"}
        How ``Pool`` ops compute (the graph is the same).
    seed : int
        Seed of the weights.
    dtype : torch.dtype, optional
        Default ``torch.float64``.
    endpoint : str, optional
        Stop at this tensor.

    Examples
    --------
    >>> import rfgraph as rf
    >>> m = to_torch(rf.Sequential(rf.Conv(3, stride=2, padding="same"), rf.Pool(2)), (9, 9), channels=2)
    >>> import torch
    >>> tuple(m(torch.zeros(1, 2, 9, 9, dtype=torch.float64)).shape)
    (1, 2, 2, 2)
    """
    torch = _import_torch("to_torch")
    import torch.nn.functional as F

    if not isinstance(channels, int) or channels < 1:
        raise RFGraphError(f"channels={channels!r} must be a positive int")
    weights = _choice(weights, WEIGHTS, "weights")
    pool = _choice(pool, POOLS, "pool")
    plan = build_plan(network, input_shape, endpoint)
    nd = plan.ndim
    dtype = torch.float64 if dtype is None else dtype
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
    generator = torch.Generator().manual_seed(int(seed))
    last = len(plan.tensors) - 1

    def pad_to(x: Any, lefts: Sequence[int], rights: Sequence[int], value: float) -> Any:
        # Pads (or crops, for negative amounts) every spatial axis; F.pad lists the last axis first.
        spec: list[int] = []
        for left, right in zip(reversed(lefts), reversed(rights), strict=False):
            spec += [left, right]
        return F.pad(x, spec, value=value) if any(spec) else x

    class PlanModule(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.plan = plan
            self.params = torch.nn.ParameterList()
            self.kinds: list[Any] = []
            chans = [channels]
            for t in plan.tensors[1:]:
                _check_buildable(t)
                op, g = t.op, t.geometry
                c_in = chans[t.links[0].source]
                if isinstance(op, Conv | ConvTranspose):
                    assert g is not None
                    shape = (channels, c_in, *g.kernel) if isinstance(op, Conv) else (c_in, channels, *g.kernel)
                    if weights == "ones":
                        w = torch.ones(shape, dtype=dtype)
                    else:
                        fan_in = c_in * int(np.prod(g.kernel))
                        gain = math.sqrt(2.0) if relu else 1.0
                        w = torch.randn(shape, generator=generator, dtype=dtype) * (gain / math.sqrt(fan_in))
                    self.params.append(torch.nn.Parameter(w, requires_grad=False))
                    self.kinds.append(("conv", len(self.params) - 1))
                    chans.append(channels)
                elif isinstance(op, Pool):
                    assert g is not None
                    volume = int(np.prod(g.kernel))
                    value = 1.0 if weights == "ones" else 1.0 / volume
                    w = torch.full((c_in, 1, *g.kernel), value, dtype=dtype)
                    self.params.append(torch.nn.Parameter(w, requires_grad=False))
                    self.kinds.append(("pool", len(self.params) - 1))
                    chans.append(c_in)
                elif t.geometry is not None:  # Upsample, GlobalPool
                    self.kinds.append(("other", -1))
                    chans.append(c_in)
                else:  # merges
                    srcs = [chans[link.source] for link in t.links]
                    if isinstance(op, Concat) and weights != "ones":
                        chans.append(sum(srcs))
                    else:
                        if len(set(srcs)) > 1:
                            raise RFGraphError(
                                f"{type(op).__name__} {t.name!r}: its branches carry {srcs} channels in the "
                                "torch model (a Concat upstream widens them); put a Conv after the Concat"
                            )
                        chans.append(srcs[0])
                    self.kinds.append(("merge", -1))

        def forward(self, x: Any) -> Any:
            values: list[Any] = [x]
            for t, (kind, p) in zip(plan.tensors[1:], self.kinds, strict=False):
                op, g = t.op, t.geometry
                if kind == "merge":
                    xs = [values[link.source] for link in t.links]
                    # With unit weights a concatenation and a sum feed the next convolution alike.
                    concat = isinstance(op, Concat) and weights != "ones"
                    y = torch.cat(xs, dim=1) if concat else sum(xs[1:], xs[0])
                    values.append(y)
                    continue
                src = values[t.links[0].source]
                assert g is not None
                if isinstance(op, ConvTranspose):
                    full = conv_t(src, self.params[p], stride=g.stride, dilation=g.dilation)
                    lefts = [-pl for pl, _ in g.pads]
                    rights = [
                        n_out - (full.shape[2 + a] - pl)
                        for a, ((pl, _), n_out) in enumerate(zip(g.pads, g.out_shape, strict=False))
                    ]
                    y = pad_to(full, lefts, rights, 0.0)
                elif isinstance(op, Conv | Pool):
                    # Pad so that the window count equals the plan's output size (covers ceil_mode).
                    lefts = [pl for pl, _ in g.pads]
                    rights = [
                        (n_out - 1) * s + d * (k - 1) + 1 - n - pl
                        for n, n_out, s, d, k, (pl, _) in zip(
                            g.in_shape, g.out_shape, g.stride, g.dilation, g.kernel, g.pads, strict=False
                        )
                    ]
                    if isinstance(op, Pool) and pool == "max":
                        xp = pad_to(src, lefts, rights, -math.inf)
                        mp = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
                        y = mp(xp, g.kernel, g.stride, 0, g.dilation)
                    else:
                        xp = pad_to(src, lefts, rights, 0.0)
                        groups = 1 if isinstance(op, Conv) else src.shape[1]
                        y = conv(xp, self.params[p], stride=g.stride, dilation=g.dilation, groups=groups)
                elif isinstance(op, Crop):
                    y = pad_to(src, [pl for pl, _ in g.pads], [pr for _, pr in g.pads], 0.0)  # negative: crop
                elif isinstance(op, GlobalPool):
                    dims = tuple(range(2, 2 + nd))
                    y = src.sum(dim=dims, keepdim=True) if weights == "ones" else src.mean(dim=dims, keepdim=True)
                else:  # Upsample
                    assert isinstance(op, Upsample)
                    mode = "nearest" if op.mode == "nearest" else ("linear", "bilinear", "trilinear")[nd - 1]
                    kw = {} if mode == "nearest" else {"align_corners": False}
                    y = F.interpolate(src, scale_factor=tuple(float(f) for f in g.stride), mode=mode, **kw)
                if relu and isinstance(op, Conv | ConvTranspose) and t.index != last:
                    y = torch.relu(y)
                values.append(y)
            return values[-1]

    return PlanModule()


def paths_by_autograd(network: Op, input_shape: Any, target: Any = None, *, endpoint: str | None = None) -> np.ndarray:
    """Path counts as torch's float64 gradient of the all-ones linear network.

    One channel, ones kernels, sum pooling and sum merges.  Linear upsampling
    has fractional weights and is refused.

    Parameters
    ----------
    network, input_shape, target, endpoint
        As for :func:`rfgraph.contribution_map`.

    Returns
    -------
    numpy.ndarray
        float64, shape ``input_shape``.
    """
    from ..engine import check_target

    torch = _import_torch("paths_by_autograd")
    plan = build_plan(network, input_shape, endpoint)
    for t in plan.tensors:
        if isinstance(t.op, Upsample) and t.op.mode != "nearest":
            raise RFGraphError(
                f"Upsample {t.name!r}: linear interpolation has fractional weights, so it has no all-ones "
                "torch equivalent; use mode='nearest' here or compare with rfgraph.graph.reference"
            )
    tgt = check_target(plan, target)
    model = to_torch(network, input_shape, channels=1, weights="ones", endpoint=endpoint)
    x = torch.zeros((1, 1) + plan.input_shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    out[(0, slice(None)) + tgt].sum().backward()
    assert x.grad is not None
    return x.grad[0, 0].numpy().copy()  # type: ignore[no-any-return]
