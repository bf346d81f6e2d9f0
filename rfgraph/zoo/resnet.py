"""ResNets: torchvision ``resnetN`` and TF-Slim ``resnet_v1_N``/``resnet_v2_N``."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import RFGraphError
from ..ops import Conv, GlobalPool, Identity, Op, Pool, Residual, Sequential
from ._blocks import _SQ224, SAME, _sc, _sp
from ._registry import register

__all__ = ["resnet", "slim_resnet"]


_RESNET_LAYERS: dict[int, tuple[str, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def resnet(
    depth: int, include_top: bool = True, replace_stride_with_dilation: Sequence[bool] = (False, False, False)
) -> Sequential:
    """torchvision ResNet: ``conv1``, ``maxpool``, ``layer1..4`` of blocks ``layerK.i``, ``avgpool``, ``fc``."""
    kind, counts = _RESNET_LAYERS[depth]
    expansion = 4 if kind == "bottleneck" else 1
    if len(replace_stride_with_dilation) != 3:
        raise RFGraphError(f"replace_stride_with_dilation={replace_stride_with_dilation!r} needs 3 entries")
    ops: list[Op] = [Conv(7, stride=2, padding=3, name="conv1"), Pool(3, stride=2, padding=1, name="maxpool")]
    inplanes, dilation = 64, 1
    for layer, (planes, blocks) in enumerate(zip((64, 128, 256, 512), counts, strict=True), start=1):
        stride = 1 if layer == 1 else 2
        previous = dilation
        if layer > 1 and replace_stride_with_dilation[layer - 2]:
            dilation *= stride
            stride = 1
        units: list[Op] = []
        for i in range(blocks):
            s, d = (stride, previous) if i == 0 else (1, dilation)
            if kind == "bottleneck":
                body = Sequential(
                    Conv(1, name="conv1"), Conv(3, stride=s, padding=d, dilation=d, name="conv2"), Conv(1, name="conv3")
                )
            else:
                body = Sequential(
                    Conv(3, stride=s, padding=d, dilation=d, name="conv1"),
                    Conv(3, padding=dilation, dilation=dilation, name="conv2"),
                )
            shortcut = None
            if i == 0 and (s != 1 or inplanes != planes * expansion):
                shortcut = Sequential(Conv(1, stride=s, name="0"), name="downsample")
            units.append(Residual(body, shortcut, name=str(i)))
            inplanes = planes * expansion
        ops.append(Sequential(*units, name=f"layer{layer}"))
    if include_top:
        ops += [GlobalPool(name="avgpool"), Conv(1, name="fc")]
    return Sequential(*ops)


_SLIM_RESNET: dict[int, tuple[int, ...]] = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}


def _conv2d_same(name: str, kernel: int, stride: int) -> Conv:
    """TF-Slim ``resnet_utils.conv2d_same``: "same" at stride 1, explicit symmetric padding otherwise."""
    if stride == 1:
        return _sc(name, kernel)
    total = kernel - 1
    return Conv(kernel, stride=stride, padding=((total // 2, total - total // 2),) * 2, name=name)


def slim_resnet(depth: int, include_top: bool = False) -> Sequential:
    """TF-Slim ``resnet_v1_N`` (and ``resnet_v2_N``, same graph): stride in the *last* unit of a block.

    Units are ``blockB.unit_U`` with ``conv1`` (1x1), ``conv2`` (3x3, ``conv2d_same``),
    ``conv3`` (1x1) and a ``shortcut``: a 1x1 conv when the depth changes, a 1x1 max
    pool of the unit's stride otherwise (``subsample``), the input itself at stride 1.
    """
    ops: list[Op] = [_conv2d_same("conv1", 7, 2), _sp("pool1", 3, 2, SAME)]
    depth_in = 64
    for b, (base, units) in enumerate(zip((64, 128, 256, 512), _SLIM_RESNET[depth], strict=True), start=1):
        stride = 2 if b < 4 else 1
        out = base * 4
        block: list[Op] = []
        for u in range(1, units + 1):
            s = stride if u == units else 1
            if depth_in != out:
                shortcut: Op = _sc("shortcut", 1, s)
            elif s > 1:
                shortcut = _sp("shortcut", 1, s, SAME)
            else:
                shortcut = Identity()
            body = Sequential(_sc("conv1", 1), _conv2d_same("conv2", 3, s), _sc("conv3", 1))
            block.append(Residual(body, shortcut, name=f"unit_{u}"))
            depth_in = out
        ops.append(Sequential(*block, name=f"block{b}"))
    if include_top:
        ops += [GlobalPool(name="pool5"), _sc("logits", 1)]
    return Sequential(*ops)


for _d, (_kind, _) in _RESNET_LAYERS.items():
    register(
        f"resnet{_d}",
        resnet,
        f"ResNet-{_d} (torchvision geometry and names; "
        f"{'bottleneck blocks, stride in conv2' if _kind == 'bottleneck' else 'basic blocks'})",
        _SQ224,
        "torchvision",
        depth=_d,
    )
for _d in _SLIM_RESNET:
    register(
        f"resnet_v1_{_d}",
        slim_resnet,
        f"TF-Slim resnet_v1_{_d} (stride in the last unit of each block; end-points block1 ... block4)",
        _SQ224,
        "tf-slim",
        depth=_d,
    )
    register(
        f"resnet_v2_{_d}",
        slim_resnet,
        f"TF-Slim resnet_v2_{_d} (pre-activation; the same graph as resnet_v1_{_d})",
        _SQ224,
        "tf-slim",
        depth=_d,
    )
