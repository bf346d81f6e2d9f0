"""Mobile networks: torchvision MobileNet-v2 and TF-Slim ``mobilenet_v1``."""

from __future__ import annotations

from ..ops import Conv, GlobalPool, Op, Residual, Sequential
from ._blocks import _SQ224, _alias, _sc
from ._registry import register

__all__ = ["mobilenet_v2", "mobilenet_v1"]


def mobilenet_v2(include_top: bool = True) -> Sequential:
    """torchvision MobileNet-v2: inverted residual blocks ``features.1`` ... ``features.17``."""
    settings = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    features: list[Op] = [Sequential(Conv(3, stride=2, padding=1, name="0"), name="0")]
    channels, k = 32, 1
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            convs: list[Op] = []
            if t != 1:
                convs.append(Conv(1, name="conv.0.0"))
            j = len(convs)
            convs += [Conv(3, stride=stride, padding=1, name=f"conv.{j}.0"), Conv(1, name=f"conv.{j + 1}")]
            if stride == 1 and channels == c:
                features.append(Residual(Sequential(*convs), name=str(k)))
            else:
                features.append(Sequential(*convs, name=str(k)))
            channels, k = c, k + 1
    features.append(Sequential(Conv(1, name="0"), name=str(k)))
    ops: list[Op] = [Sequential(*features, name="features")]
    if include_top:
        ops += [GlobalPool(name="adaptive_avg_pool2d"), Conv(1, name="classifier.1"), _alias("classifier")]
    return Sequential(*ops)


def mobilenet_v1(include_top: bool = False) -> Sequential:
    """TF-Slim ``mobilenet_v1`` ("same" padding): ``Conv2d_0`` and 13 depthwise-separable layers.

    The depth multiplier (``mobilenet_v1_075``) changes channels only, so the graph is the same.
    """
    strides = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
    ops: list[Op] = [_sc("Conv2d_0", 3, 2)]
    for i, s in enumerate(strides, start=1):
        ops += [_sc(f"Conv2d_{i}_depthwise", 3, s), _sc(f"Conv2d_{i}_pointwise", 1)]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a"), _sc("Conv2d_1c_1x1", 1)]
    return Sequential(*ops)


register(
    "mobilenet_v2",
    mobilenet_v2,
    "MobileNet-v2 (torchvision geometry and names, inverted residuals)",
    _SQ224,
    "torchvision",
)
register(
    "mobilenet_v1",
    mobilenet_v1,
    "TF-Slim mobilenet_v1 (end-points Conv2d_0 ... Conv2d_13_pointwise)",
    _SQ224,
    "tf-slim",
)
register(
    "mobilenet_v1_075",
    mobilenet_v1,
    "TF-Slim mobilenet_v1_075 (0.75 depth; same graph as mobilenet_v1)",
    _SQ224,
    "tf-slim",
)
