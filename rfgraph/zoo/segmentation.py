"""Segmentation networks: U-Net (valid and same padding) and DeepLab-v3 (dilated ResNet, ASPP head)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import RFGraphError
from ..ops import Concat, Conv, ConvTranspose, Crop, GlobalPool, Identity, Op, Pool, Ref, Sequential, Upsample
from ._blocks import _alias
from ._registry import register
from .resnet import resnet

__all__ = ["unet", "deeplabv3"]


def _as_pair(size: int | Sequence[int]) -> tuple[int, ...]:
    return (size, size) if isinstance(size, int) else tuple(size)


def _unet_sizes(n: int, depth: int, pad: int) -> list[tuple[int, int]]:
    """Per level: (encoder output size, decoder input size after the up-convolution)."""
    enc = []
    for _ in range(depth):
        n -= 4 - 2 * pad
        enc.append(n)
        if n % 2:
            raise RFGraphError(
                f"U-Net: an encoder feature map of odd size {n} cannot be pooled and restored; "
                "use an input such as 572 (valid) or a multiple of 16 (same)"
            )
        n //= 2
    n -= 4 - 2 * pad  # bottom
    if n < 1:
        raise RFGraphError("U-Net: the input is too small for this depth; use e.g. 572x572")
    out = []
    for level in reversed(range(depth)):
        up = 2 * n
        out.append((enc[level], up))
        n = up - (4 - 2 * pad)
    return list(reversed(out))


def unet(input_size: int | Sequence[int] = 572, depth: int = 4, same: bool = False) -> Sequential:
    """U-Net (Ronneberger et al. 2015): ``enc1`` ... ``enc4``, ``bottleneck``, ``dec4`` ... ``dec1``, ``out``.

    Two 3x3 convolutions per level, 2x2 max pooling, 2x2 stride-2 up-convolutions
    and skip concatenations.  With ``same=False`` (the paper) convolutions are
    unpadded and each skip tensor is centre-cropped (``cropK``) to the decoder size,
    which depends on ``input_size`` (572 -> 388x388 output).  With ``same=True`` the
    convolutions are padded and nothing is cropped (input a multiple of 2**depth).
    """
    pad = 1 if same else 0
    sizes_per_axis = [] if same else [_unet_sizes(n, depth, pad) for n in _as_pair(input_size)]
    ops: list[Op] = []
    for level in range(1, depth + 2):
        stage = f"enc{level}" if level <= depth else "bottleneck"
        if level > 1:
            ops.append(Pool(2, stride=2, name=f"pool{level - 1}"))
        ops += [Conv(3, padding=pad, name=f"{stage}.conv1"), Conv(3, padding=pad, name=f"{stage}.conv2"), _alias(stage)]
    for level in range(depth, 0, -1):
        ops.append(ConvTranspose(2, stride=2, name=f"up{level}"))
        skip = f"enc{level}.conv2"
        if not same:
            crops = []
            for sizes in sizes_per_axis:
                enc, up = sizes[level - 1]
                left = (enc - up) // 2
                crops.append((left, enc - up - left))
            ops += [Ref(skip), Crop(tuple(crops), name=f"crop{level}"), Ref(f"up{level}")]
            skip = f"crop{level}"
        ops += [
            Concat(Ref(skip), Identity(), name=f"cat{level}"),
            Conv(3, padding=pad, name=f"dec{level}.conv1"),
            Conv(3, padding=pad, name=f"dec{level}.conv2"),
            _alias(f"dec{level}"),
        ]
    ops.append(Conv(1, name="out"))
    return Sequential(*ops)


def _conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def deeplabv3(
    depth: int = 50,
    input_size: int | Sequence[int] | None = None,
    upsample: bool = False,
    atrous_rates: Sequence[int] = (12, 24, 36),
    aspp_pooling: bool = True,
) -> Sequential:
    """torchvision DeepLab-v3: dilated ResNet backbone (output stride 8) and the ASPP head.

    The ASPP pooling branch is a global pool and a 1x1 convolution; its one value reaches
    every position of the feature map.  By default (``input_size=None``) the 1x1 result
    broadcasts in the concatenation, so the network works at any input; with
    ``input_size`` it is resized back to the feature size as torchvision does (bilinear,
    the same edges), tensor by tensor equal to ``rf.from_torch`` at that input.
    ``upsample=True`` appends the final bilinear x8 resize (``interpolate``), exact only
    when the input is a multiple of 8 (torchvision resizes to the input size).  The pooling
    branch sees the whole input, so the receptive-field arithmetic stops at
    ``classifier.0.cat`` (the branches' effective strides differ) while contribution maps
    stay exact; ``aspp_pooling=False`` leaves the branch out.

    >>> import rfgraph as rf
    >>> net = rf.zoo.build("deeplabv3_resnet50")
    >>> rf.build_plan(net, (224, 224)).output.shape, rf.build_plan(net, (300, 200)).output.shape
    ((28, 28), (38, 25))
    """
    backbone = resnet(depth, include_top=False, replace_stride_with_dilation=(False, True, True))
    ops: list[Op] = [Sequential(*backbone.ops, name="backbone")]
    factors = []
    for n in _as_pair(input_size) if input_size is not None else ():
        for k, s, p in ((7, 2, 3), (3, 2, 1), (3, 2, 1)):
            n = _conv_out(n, k, s, p)
        factors.append(n)
    features = "backbone.layer4"
    aspp = "classifier.0"
    branches = [f"{aspp}.convs.0.0"]
    ops.append(Conv(1, name=branches[0]))
    for i, rate in enumerate(atrous_rates, start=1):
        branches.append(f"{aspp}.convs.{i}.0")
        ops += [Ref(features), Conv(3, padding=rate, dilation=rate, name=branches[-1])]
    if aspp_pooling:
        pooling = f"{aspp}.convs.{len(atrous_rates) + 1}"
        ops += [
            Ref(features),
            GlobalPool(name=f"{pooling}.0"),
            Conv(1, name=f"{pooling}.1"),
            Upsample(tuple(factors), mode="linear", name=pooling) if factors else _alias(pooling),
        ]
        branches.append(pooling)
    ops += [
        Concat(*(Ref(b) for b in branches), name=f"{aspp}.cat"),
        Conv(1, name=f"{aspp}.project.0"),
        _alias(aspp),
        Conv(3, padding=1, name="classifier.1"),
        Conv(1, name="classifier.4"),
        _alias("classifier"),
    ]
    if upsample:
        ops.append(Upsample(8, mode="linear", name="interpolate"))
    return Sequential(*ops)


register(
    "unet", unet, "U-Net, original: valid 3x3 convs, cropped skips, 572x572 -> 388x388", (572, 572), "segmentation"
)
register(
    "unet_same",
    unet,
    "U-Net with 'same' padding (no crops; input a multiple of 16)",
    (512, 512),
    "segmentation",
    same=True,
)
register(
    "deeplabv3_resnet50",
    deeplabv3,
    "DeepLab-v3, ResNet-50 backbone dilated to output stride 8, ASPP head (torchvision names)",
    (513, 513),
    "segmentation",
    depth=50,
)
register(
    "deeplabv3_resnet101",
    deeplabv3,
    "DeepLab-v3, ResNet-101 backbone dilated to output stride 8, ASPP head (torchvision names)",
    (513, 513),
    "segmentation",
    depth=101,
)
