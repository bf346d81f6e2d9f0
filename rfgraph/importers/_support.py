"""Check an import against torch autograd: the support of the input gradient of a linearised copy.

SPEC's second correctness check on real models: copy the model, make every weight positive,
replace activations by the identity and max pooling by average pooling, feed a positive input
in float64, and back-propagate the centre of an output.  The input positions with a non-zero
gradient are exactly those with a path to that output, which :func:`rfgraph.reach` computes.

Used by the test suite and by ``docs/make_coverage.py``; not public API.

>>> torch = __import__("pytest").importorskip("torch")
>>> m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
>>> (check,) = compare_reach(m, (9, 9))
>>> check.equal, check.endpoint, int(check.support.sum())
(True, None, 16)
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RFGraphError

__all__ = ["linearised_copy", "gradient_support", "gradient_supports", "compare_reach", "ReachCheck"]

# Functions whose gradient can be exactly zero (or underflow) on a positive input once
# normalisation has made some values negative: the identity during the gradient pass.
_FUNCTIONAL = (
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "hardtanh_",
    "hardswish",
    "silu",
    "gelu",
    "mish",
    "elu",
    "leaky_relu",
    "tanh",
    "softplus",
)


def _identity(x: Any, *args: Any, **kwargs: Any) -> Any:
    return x


def _sigmoid(x: Any, *args: Any, **kwargs: Any) -> Any:
    import torch

    return torch.special.expit(x)


@contextlib.contextmanager
def _linear_functions(torch: Any) -> Iterator[None]:
    """Functional activations (``F.relu``, ``x.relu()``) act as the identity; gates stay gates.

    A gate ``x * sigmoid(s)`` made linear would square magnitudes block after block (overflow
    in EfficientNet), so sigmoids are kept (their gradient is never zero at moderate values)
    and hard sigmoids, whose gradient is zero outside [-3, 3], become sigmoids.
    """
    saved = []
    patches = [(owner, name, _identity) for owner in (torch.nn.functional, torch, torch.Tensor) for name in _FUNCTIONAL]
    patches += [(torch.nn.functional, "hardsigmoid", _sigmoid)]
    try:
        import timm.layers.activations as timm_act

        patches += [(timm_act, "hard_sigmoid", _sigmoid)]
    except ImportError:  # pragma: no cover - timm is optional
        pass
    for owner, name, value in patches:
        if hasattr(owner, name):
            saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
            setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


_MISSING = object()


def _is_activation(torch: Any, module: Any) -> bool:
    nn = torch.nn
    if isinstance(module, nn.MultiheadAttention | nn.Softmax | nn.LogSoftmax | nn.Softmin | nn.Softmax2d):
        return False
    if isinstance(module, nn.Sigmoid | nn.Hardsigmoid) or "sigmoid" in type(module).__name__.lower():
        return False  # gates: see _linear_functions
    home = type(module).__module__
    if home == "torch.nn.modules.activation":
        return True
    # timm's own activation layers (timm.layers.activations, activations_me, ...)
    return home.startswith("timm.layers.activations") and not any(True for _ in module.children())


def _avg_for_max(torch: Any, module: Any) -> Any:
    nn = torch.nn
    if isinstance(module, nn.modules.pooling._AdaptiveMaxPoolNd):
        cls = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[int(type(module).__name__[-2]) - 1]
        return cls(module.output_size)
    if isinstance(module, nn.modules.pooling._MaxPoolNd) and type(module).__name__.endswith("Same"):
        from timm.layers.pool2d_same import AvgPool2dSame  # timm's MaxPool2dSame pads dynamically

        return AvgPool2dSame(module.kernel_size, module.stride, module.padding, module.ceil_mode)
    if isinstance(module, nn.modules.pooling._MaxPoolNd):
        dilation = module.dilation if isinstance(module.dilation, tuple) else (module.dilation,)
        if any(d != 1 for d in dilation):
            return None  # no dilated average pool in torch: keep the max pool (rare)
        cls = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[int(type(module).__name__[-2]) - 1]
        return cls(module.kernel_size, module.stride, module.padding, module.ceil_mode, count_include_pad=True)
    return None


def linearised_copy(model: Any, *, seed: int = 0, inplace: bool = False, drop_heads: bool = False) -> Any:
    """A float64 eval-mode copy: positive weights, activations -> identity, max -> average pooling.

    Batch norms are calibrated on one positive input (running statistics := that input's), so
    that activations stay O(1) through depth and no gate saturates.  ``inplace`` modifies
    ``model`` itself (no copy of a large model); ``drop_heads`` replaces huge Linear layers
    (only when the check stops at an earlier end-point).
    """
    import torch

    m = (model if inplace else copy.deepcopy(model)).eval()
    generator = torch.Generator().manual_seed(seed)
    replace: list[tuple[str, Any]] = []
    for name, sub in m.named_modules():
        if not name:
            continue
        if _is_activation(torch, sub):
            replace.append((name, torch.nn.Identity()))
        elif isinstance(sub, torch.nn.Hardsigmoid) or type(sub).__name__ in ("HardSigmoid", "HardSigmoidMe"):
            replace.append((name, torch.nn.Sigmoid()))
        elif drop_heads and isinstance(sub, torch.nn.Linear) and sub.in_features >= 8192:
            replace.append((name, torch.nn.Identity()))  # VGG's 100M-weight head lies after the end-point
        else:
            avg = _avg_for_max(torch, sub)
            if avg is not None:
                replace.append((name, avg))
    for name, new in replace:
        parent_name, _, child = name.rpartition(".")
        parent = m.get_submodule(parent_name) if parent_name else m
        setattr(parent, child, new)
    with torch.no_grad():
        for name, p in m.named_parameters():
            # Positive, varied weights of mean ~1/fan_in keep activations O(1) through depth.
            fan_in = p[0].numel() if p.dim() > 1 else 1
            if p.dim() <= 1 and name.endswith("bias"):
                p.zero_()
                continue
            p.copy_((0.5 + torch.rand(p.shape, generator=generator, dtype=torch.float64)) / fan_in)
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.zero_()
            elif name.endswith("running_var"):
                b.fill_(1.0)
    return m.to(torch.float64)


def _calibrate(torch: Any, m: Any, x: Any) -> None:
    """Batch-norm running statistics := those of ``x`` (one pass, only the batch norms in train mode)."""
    norms = [b for b in m.modules() if isinstance(b, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [(b, b.momentum) for b in norms]
    for b in norms:
        b.momentum = 1.0
        b.train()
    # two samples: batch statistics exist even on the 1x1 maps of attention branches
    other = 0.5 + torch.rand(x.shape, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    try:
        with torch.no_grad(), _linear_functions(torch):
            m(torch.cat([x, other]))
    except _Stop:
        pass
    finally:
        for b, momentum in saved:
            b.momentum = momentum
            b.eval()


class _Stop(Exception):
    """Raised by the end-point hook: nothing after it is computed."""


def _in_channels(torch: Any, model: Any) -> int:
    for sub in model.modules():
        channels = getattr(sub, "in_channels", None)
        if isinstance(channels, int) and channels > 0:
            return channels
    return 3


def gradient_support(
    model: Any,
    input_shape: tuple[int, ...],
    *,
    module: str | None = None,
    in_channels: int | None = None,
    inplace: bool = False,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Boolean map of input positions whose gradient at the centre is non-zero, and the output shape.

    ``module`` names the submodule whose output holds the target (default: the model's
    output, or its first tensor when it returns a tuple or dict).  The centre is ``n // 2``
    per spatial axis; channels are summed.
    """
    return gradient_supports(model, input_shape, [module], in_channels=in_channels, inplace=inplace)[0]


def gradient_supports(
    model: Any,
    input_shape: tuple[int, ...],
    modules: list[str | None],
    *,
    in_channels: int | None = None,
    inplace: bool = False,
    grids: list[tuple[int, ...] | None] | None = None,
) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """:func:`gradient_support` at several module outputs, with one linearised copy and one forward pass."""
    import torch

    channels = _in_channels(torch, model) if in_channels is None else in_channels
    m = linearised_copy(model, inplace=inplace, drop_heads=None not in modules)
    generator = torch.Generator().manual_seed(1)
    x = 0.5 + torch.rand((1, channels, *input_shape), generator=generator, dtype=torch.float64)
    captured: dict[str, Any] = {}
    wanted = {name for name in modules if name is not None}

    def hook(name: str) -> Any:
        def capture(mod: Any, inputs: Any, output: Any) -> None:
            captured.setdefault(name, output)
            if wanted <= set(captured) and None not in modules:
                raise _Stop  # nothing after the end-points is computed

        return capture

    handles = [m.get_submodule(name).register_forward_hook(hook(name)) for name in wanted]
    try:
        _calibrate(torch, m, x)
        captured.clear()
        x.requires_grad_(True)
        out: Any = None
        with _linear_functions(torch), contextlib.suppress(_Stop):
            out = m(x)
    finally:
        for h in handles:
            h.remove()
    results: list[tuple[np.ndarray, tuple[int, ...]]] = []
    nd = len(input_shape)
    for name in modules:
        value: Any = out if name is None else captured[name]
        while isinstance(value, dict | list | tuple):
            value = (
                value["out"]
                if isinstance(value, dict) and "out" in value
                else next(iter(value.values() if isinstance(value, dict) else value))
            )
        spatial = tuple(value.shape[2:]) if value.dim() == nd + 2 else ()
        grid = grids[len(results)] if grids else None
        if grid and spatial != tuple(grid) and tuple(value.shape[1 : 1 + nd]) == tuple(grid):
            value = value.movedim(-1, 1)  # channels last (Swin, ConvNeXt blocks)
            spatial = tuple(grid)
        if not spatial and grid and math.prod(grid) > 1 and value.dim() >= 2:
            # tokens (N, [extra +] H*W, C): the centre token, after any class tokens
            axis = next((a for a in range(1, value.dim()) if 0 <= value.shape[a] - math.prod(grid) <= 8), None)
            if axis is not None:
                extra = value.shape[axis] - math.prod(grid)
                token = extra + int(np.ravel_multi_index(tuple(n // 2 for n in grid), grid))
                target = value[0].select(axis - 1, token).sum()
                (grad,) = torch.autograd.grad(target, x, retain_graph=True)
                results.append((grad[0].abs().sum(0).numpy() != 0, tuple(grid)))
                continue
        centre = tuple(n // 2 for n in spatial)
        index = (0, slice(None), *centre)
        target = value[index].sum() if spatial else value.sum()
        (grad,) = torch.autograd.grad(target, x, retain_graph=True)
        g = grad[0].abs().sum(0).numpy()
        if not np.all(np.isfinite(g)):
            raise RFGraphError("the gradient overflowed; use a smaller input")
        results.append((g != 0, spatial))
    return results


@dataclass
class ReachCheck:
    """Result of :func:`compare_reach`."""

    network: Any
    endpoint: str | None
    reach: np.ndarray
    support: np.ndarray

    @property
    def equal(self) -> bool:
        return bool(np.array_equal(self.reach, self.support))

    def describe(self) -> str:
        extra = int((self.reach & ~self.support).sum())
        missing = int((self.support & ~self.reach).sum())
        return f"at {self.endpoint or 'the output'}: {extra} pixels reached without gradient, {missing} missed"


def _spatial_endpoints(model: Any, net: Any, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]] | None:
    """Tensors with more than one position that are module outputs, last first (None: the output itself)."""
    from ..plan import build_plan

    plan = build_plan(net, shape)
    if math.prod(plan.output.shape) > 1:
        return None
    modules = dict(model.named_modules())
    by_index: dict[int, list[str]] = {}
    for name, index in plan.endpoints.items():
        by_index.setdefault(index, []).append(name)
    found = []
    for t in reversed(plan.tensors):
        if math.prod(t.shape) > 1:
            found += [
                (name, tuple(t.shape)) for name in [t.name, *by_index.get(t.index, [])] if name in modules and name
            ]
    return found


def _spatial_endpoint(torch: Any, model: Any, net: Any, shape: tuple[int, ...]) -> str | None:
    """The last tensor with more than one position that is a module's output (None: the output itself)."""
    found = _spatial_endpoints(model, net, shape)
    return found[0][0] if found else None


def _partial_endpoints(model: Any, net: Any, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Module outputs whose exact field is smaller than the input (no global context), last first,
    with their grids."""
    from ..arithmetic import receptive_field

    modules = {name for name, _ in model.named_modules() if name}
    found = []
    for record in receptive_field(net, shape):
        if record.name not in modules or math.prod(record.shape) <= 1 or getattr(record, "global_context", False):
            continue
        if all(s < n for s, n in zip(record.size, shape, strict=True)):
            found.append((record.name, tuple(record.shape)))
    return found[::-1]


def _readable(out_shape: Any, grid: tuple[int, ...]) -> bool:
    """Whether :func:`gradient_supports` can find the positions of ``grid`` in a module output of this shape:
    channels first, channels last, or tokens ``(N, [extra +] H*W, C)``."""
    if out_shape is None:
        return False
    nd, dims = len(grid), tuple(out_shape)
    if len(dims) == nd + 2 and (dims[2:] == grid or dims[1 : 1 + nd] == grid):
        return True
    return len(dims) == 3 and 0 <= dims[1] - math.prod(grid) <= 8


def _first_readable(
    torch: Any, model: Any, candidates: list[tuple[str, tuple[int, ...]]], shape: tuple[int, ...], channels: int
) -> str | None:
    """The first candidate module whose output layout the gradient check reads (a blockified or tuple
    output is skipped)."""
    if not candidates:
        return None
    shapes: dict[str, Any] = {}
    handles = []
    for name, _ in candidates:

        def capture(mod: Any, inputs: Any, output: Any, name: str = name) -> None:
            shapes.setdefault(name, tuple(output.shape) if hasattr(output, "shape") else None)

        handles.append(model.get_submodule(name).register_forward_hook(capture))
    try:
        with torch.no_grad():
            model(torch.rand((1, channels, *shape), dtype=next(model.parameters()).dtype))
    finally:
        for h in handles:
            h.remove()
    return next((name for name, grid in candidates if _readable(shapes.get(name), grid)), None)


def compare_reach(
    model: Any, input_shape: tuple[int, ...], *, inplace: bool = False, partial: bool = False, **import_options: Any
) -> list[ReachCheck]:
    """Import ``model``, and compare ``rf.reach`` of a centre output with the gradient support.

    For a classifier the target is the centre of the last spatial tensor that is a module's
    output (the head would reach every pixel trivially).  With ``partial``, also at the last
    module output whose field is smaller than the input (a sharper check of the geometry).
    Returns one :class:`ReachCheck` per checked tensor.
    """
    import torch

    from ..engine import reach
    from ..plan import build_plan
    from .torch import from_torch

    net = from_torch(model, input_shape, **import_options)
    channels = import_options.get("in_channels") or _in_channels(torch, model)
    lasts = _spatial_endpoints(model, net, input_shape)
    endpoints = [None if lasts is None else _first_readable(torch, model, lasts, input_shape, channels)]
    if partial:
        inner = _first_readable(torch, model, _partial_endpoints(model, net, input_shape), input_shape, channels)
        if inner is not None and inner not in endpoints:
            endpoints.append(inner)
    grids: list[tuple[int, ...] | None] = [build_plan(net, input_shape, e).output.shape for e in endpoints]
    supports = gradient_supports(
        model, input_shape, endpoints, in_channels=import_options.get("in_channels"), inplace=inplace, grids=grids
    )
    checks = []
    for endpoint, (support, spatial) in zip(endpoints, supports, strict=True):
        if endpoint is not None:
            got = build_plan(net, input_shape, endpoint).output.shape
            if got != spatial:
                raise RFGraphError(f"end-point {endpoint!r}: rfgraph shape {got}, torch shape {spatial}")
        checks.append(ReachCheck(net, endpoint, reach(net, input_shape, endpoint=endpoint), support))
    return checks
