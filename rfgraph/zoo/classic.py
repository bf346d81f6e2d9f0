"""Classic networks: the receptive-field calculation guide's AlexNet, torchvision AlexNet and VGG, TF-Slim ``alexnet_v2`` and VGG."""

from __future__ import annotations

from collections.abc import Sequence

from ..ops import Conv, GlobalPool, Op, Pool, Sequential
from ._blocks import _SQ224, VALID, _alias, _sc, _sp
from ._registry import register

__all__ = ["alexnet_seed", "alexnet", "vgg", "alexnet_v2", "slim_vgg"]


def alexnet_seed(include_top: bool = True) -> Sequential:
    """The AlexNet of the receptive-field calculation guide: conv1 [11,4,0] ... pool5 [3,2,0], fc6/fc7 as convolutions."""
    ops: list[Op] = [
        Conv(11, stride=4, name="conv1"),
        Pool(3, stride=2, name="pool1"),
        Conv(5, padding=2, name="conv2"),
        Pool(3, stride=2, name="pool2"),
        Conv(3, padding=1, name="conv3"),
        Conv(3, padding=1, name="conv4"),
        Conv(3, padding=1, name="conv5"),
        Pool(3, stride=2, name="pool5"),
    ]
    if include_top:
        ops += [Conv(6, name="fc6-conv"), Conv(1, name="fc7-conv")]
    return Sequential(*ops)


def _torchvision_head(linears: Sequence[str], container: str) -> list[Op]:
    """``flatten`` + Linear = GlobalPool, later Linears = 1x1 convolutions (see rf.from_torch)."""
    ops: list[Op] = [GlobalPool(name=linears[0])]
    ops += [Conv(1, name=n) for n in linears[1:]]
    return [*ops, _alias(container)]


def alexnet(include_top: bool = True) -> Sequential:
    """torchvision AlexNet (``features.0`` ... ``classifier.6``)."""
    ops: list[Op] = [
        Conv(11, stride=4, padding=2, name="features.0"),
        _alias("conv1"),
        Pool(3, stride=2, name="features.2"),
        _alias("pool1"),
        Conv(5, padding=2, name="features.3"),
        _alias("conv2"),
        Pool(3, stride=2, name="features.5"),
        _alias("pool2"),
        Conv(3, padding=1, name="features.6"),
        _alias("conv3"),
        Conv(3, padding=1, name="features.8"),
        _alias("conv4"),
        Conv(3, padding=1, name="features.10"),
        _alias("conv5"),
        Pool(3, stride=2, name="features.12"),
        _alias("pool5"),
        _alias("features"),
    ]
    if include_top:
        ops += _torchvision_head(["classifier.1", "classifier.4", "classifier.6"], "classifier")
    return Sequential(*ops)


_VGG_CFGS: dict[int, tuple[int, ...]] = {
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}


def vgg(depth: int, fc_as_conv: bool = False, include_top: bool = True, batch_norm: bool = False) -> Sequential:
    """torchvision VGG (``features.i`` names, plus Caffe aliases ``conv5_3``, ``pool5``).

    ``fc_as_conv=True`` replaces the classifier by Caffe's fully convolutional head:
    ``fc6`` a 7x7 convolution, ``fc7`` and ``fc8`` 1x1 convolutions.
    """
    ops: list[Op] = []
    index = 0
    step = 3 if batch_norm else 2
    for block, convs in enumerate(_VGG_CFGS[depth], start=1):
        for j in range(1, convs + 1):
            ops += [Conv(3, padding=1, name=f"features.{index}"), _alias(f"conv{block}_{j}")]
            index += step
        ops += [Pool(2, stride=2, name=f"features.{index}"), _alias(f"pool{block}")]
        index += 1
    ops.append(_alias("features"))
    if include_top:
        if fc_as_conv:
            ops += [Conv(7, name="fc6"), Conv(1, name="fc7"), Conv(1, name="fc8")]
        else:
            ops += _torchvision_head(["classifier.0", "classifier.3", "classifier.6"], "classifier")
    return Sequential(*ops)


def alexnet_v2(include_top: bool = False) -> Sequential:
    """TF-Slim ``alexnet_v2``: valid conv1 and pools, "same" conv2..conv5; ``fc6`` is a valid 5x5 conv."""
    ops: list[Op] = [
        _sc("conv1", 11, 4, VALID),
        _sp("pool1"),
        _sc("conv2", 5),
        _sp("pool2"),
        _sc("conv3", 3),
        _sc("conv4", 3),
        _sc("conv5", 3),
        _sp("pool5"),
    ]
    if include_top:
        ops += [_sc("fc6", 5, padding=VALID), _sc("fc7", 1), _sc("fc8", 1)]
    return Sequential(*ops)


_SLIM_VGG: dict[str, tuple[int, ...]] = {"a": (1, 1, 2, 2, 2), "16": (2, 2, 3, 3, 3), "19": (2, 2, 4, 4, 4)}


def slim_vgg(config: str, include_top: bool = False) -> Sequential:
    """TF-Slim ``vgg_a``/``vgg_16``/``vgg_19``: "same" 3x3 convs ``convB.convB_j``, 2x2 pools ``poolB``."""
    ops: list[Op] = []
    for block, convs in enumerate(_SLIM_VGG[config], start=1):
        ops.append(Sequential(*(_sc(f"conv{block}_{j}", 3) for j in range(1, convs + 1)), name=f"conv{block}"))
        ops.append(_sp(f"pool{block}", 2, 2))
    if include_top:
        ops += [_sc("fc6", 7, padding=VALID), _sc("fc7", 1), _sc("fc8", 1)]
    return Sequential(*ops)


register(
    "alexnet_seed",
    alexnet_seed,
    "AlexNet of the receptive-field calculation guide (conv1 11/4 ... pool5, fc6/fc7 as convolutions)",
    (227, 227),
    "seed",
)
register("alexnet", alexnet, "AlexNet (torchvision geometry and names)", _SQ224, "torchvision")
for _d in (11, 13, 16, 19):
    register(
        f"vgg{_d}",
        vgg,
        f"VGG-{_d} (torchvision names, Caffe aliases conv5_3/pool5; fc_as_conv=True: fc6 as a 7x7 conv)",
        _SQ224,
        "torchvision",
        depth=_d,
    )
register("alexnet_v2", alexnet_v2, "TF-Slim alexnet_v2 (end-points conv1 ... pool5)", _SQ224, "tf-slim")
register(
    "vgg_a",
    slim_vgg,
    "TF-Slim vgg_a (VGG-11, 'same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="a",
)
register(
    "vgg_16",
    slim_vgg,
    "TF-Slim vgg_16 ('same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="16",
)
register(
    "vgg_19",
    slim_vgg,
    "TF-Slim vgg_19 ('same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="19",
)
