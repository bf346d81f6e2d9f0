"""DenseNet (torchvision geometry and names)."""

from __future__ import annotations

from ..ops import Concat, Conv, GlobalPool, Op, Pool, Ref, Sequential
from ._blocks import _SQ224, _alias
from ._registry import register

__all__ = ["densenet"]


_DENSENET_BLOCKS: dict[int, tuple[int, ...]] = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


def densenet(depth: int, include_top: bool = True) -> Sequential:
    """torchvision DenseNet: every dense layer concatenates all earlier tensors of its block.

    Such a graph is no tree of merges over one input, so later layers reach the
    block's tensors with :class:`~rfgraph.ops.Ref`; ``features.denseblockB.denselayerL.cat``
    is the concatenation each layer starts with, ``features.denseblockB`` the block output.
    """
    ops: list[Op] = [
        Conv(7, stride=2, padding=3, name="features.conv0"),
        Pool(3, stride=2, padding=1, name="features.pool0"),
    ]
    previous = "features.pool0"
    blocks = _DENSENET_BLOCKS[depth]
    for b, layers in enumerate(blocks, start=1):
        block = f"features.denseblock{b}"
        tensors = [previous]
        for j in range(1, layers + 1):
            layer = f"{block}.denselayer{j}"
            if j > 1:
                ops.append(Concat(*(Ref(t) for t in tensors), name=f"{layer}.cat"))
            ops += [Conv(1, name=f"{layer}.conv1"), Conv(3, padding=1, name=f"{layer}.conv2"), _alias(layer)]
            tensors.append(f"{layer}.conv2")
        ops.append(Concat(*(Ref(t) for t in tensors), name=block))
        if b < len(blocks):
            ops += [
                Conv(1, name=f"features.transition{b}.conv"),
                Pool(2, stride=2, name=f"features.transition{b}.pool"),
                _alias(f"features.transition{b}"),
            ]
            previous = f"features.transition{b}.pool"
    ops.append(_alias("features"))
    if include_top:
        ops += [GlobalPool(name="adaptive_avg_pool2d"), Conv(1, name="classifier")]
    return Sequential(*ops)


register(
    "densenet121",
    densenet,
    "DenseNet-121 (torchvision names; dense blocks reuse tensors through Refs)",
    _SQ224,
    "torchvision",
    depth=121,
)
