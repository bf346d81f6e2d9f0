"""Built-in architectures: a registry of builders with keyword options.

Four families:

* ``seed``: the AlexNet table of seed 001 (``alexnet_seed``, 227x227).
* ``torchvision``: the geometry *and the tensor names* of torchvision's models
  (``alexnet``, ``vgg11`` ... ``vgg19``, ``resnet18`` ... ``resnet152``,
  ``inception_v3``, ``densenet121``, ``mobilenet_v2``), so that
  ``rf.from_torch(torchvision.models.X(weights=None), shape)`` and
  ``rf.zoo.build("X")`` give the same graph, tensor by tensor, under the same
  names (``layer4.2.conv3``, ``features.28``, ``Mixed_7c``).  Heads follow
  :func:`rfgraph.from_torch`: ``flatten`` + the first ``Linear`` is a
  :class:`~rfgraph.ops.GlobalPool`, every later ``Linear`` a 1x1 convolution, and an
  adaptive average pool that keeps the size (AlexNet's and VGG's ``avgpool`` at
  224x224) is pointwise, so it is left out.
* ``tf-slim``: the TF-Slim networks of the receptive-field table of Araujo,
  Norris & Sim (Distill 2019), with TensorFlow ``"same"``/``"valid"`` padding
  exactly as in TF-Slim and the article's end-point names (``pool5``,
  ``block4``, ``Mixed_7c``, ``Conv2d_13_pointwise``, ``Conv2d_7b_1x1``).  They
  end at the last end-point of that table unless ``include_top=True``.
* ``segmentation``: U-Net (valid and same padding) and DeepLab-v3 (ResNet
  backbone with dilation, ASPP head; torchvision names).

Every network names its end-points, so any tensor can be analysed:

>>> import rfgraph as rf
>>> "vgg16" in rf.zoo.names()
True
>>> rf.zoo.default_input("inception_v3")
(299, 299)
>>> rec = rf.receptive_field(rf.zoo.build("vgg16", fc_as_conv=True), (224, 224), endpoint="pool5")[-1]
>>> rec.size, rec.stride
((212, 212), (32, 32))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import RFGraphError
from .ops import (
    Concat,
    Conv,
    ConvTranspose,
    Crop,
    GlobalPool,
    Identity,
    Op,
    Pool,
    Ref,
    Residual,
    Sequential,
    Upsample,
)

__all__ = ["ZooEntry", "names", "build", "describe", "default_input", "entries", "options"]

FAMILIES = ("seed", "torchvision", "tf-slim", "segmentation")


@dataclass(frozen=True)
class ZooEntry:
    """One registered network."""

    name: str
    builder: Callable[..., Op]
    description: str
    default_input: tuple[int, ...]
    family: str
    fixed: tuple[tuple[str, Any], ...] = ()

    def build(self, **options: Any) -> Op:
        return self.builder(**dict(self.fixed), **options)

    def options(self) -> dict[str, Any]:
        fixed = dict(self.fixed)
        return {
            p.name: p.default
            for p in inspect.signature(self.builder).parameters.values()
            if p.name not in fixed and p.default is not inspect.Parameter.empty
        }


_REGISTRY: dict[str, ZooEntry] = {}


def _register(
    name: str, builder: Callable[..., Op], description: str, default_input: tuple[int, ...], family: str, **fixed: Any
) -> None:
    assert family in FAMILIES and name not in _REGISTRY
    _REGISTRY[name] = ZooEntry(name, builder, description, default_input, family, tuple(fixed.items()))


def _entry(name: str) -> ZooEntry:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise RFGraphError(f"unknown zoo name {name!r}; choose one of: {', '.join(names())}")
    return _REGISTRY[name]


def names(family: str | None = None) -> list[str]:
    """Names of the built-in networks, optionally of one family (``"torchvision"``, ``"tf-slim"``, ...).

    >>> names("seed")
    ['alexnet_seed']
    """
    if family is not None and family not in FAMILIES:
        raise RFGraphError(f"unknown zoo family {family!r}; choose one of: {', '.join(FAMILIES)}")
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def entries() -> list[ZooEntry]:
    """All registry entries, sorted by name."""
    return [_REGISTRY[n] for n in names()]


def describe(name: str) -> str:
    """A one-line description of a zoo network.

    >>> describe("resnet50")
    'ResNet-50 (torchvision geometry and names; bottleneck blocks, stride in conv2)'
    """
    return _entry(name).description


def default_input(name: str) -> tuple[int, ...]:
    """The input shape the network is usually run at (the CLI's default ``--input``).

    >>> default_input("alexnet_seed"), default_input("unet")
    ((227, 227), (572, 572))
    """
    return _entry(name).default_input


def options(name: str) -> dict[str, Any]:
    """The keyword options of :func:`build` for ``name`` with their defaults.

    >>> options("vgg16")
    {'fc_as_conv': False, 'include_top': True, 'batch_norm': False}
    """
    return _entry(name).options()


def build(name: str, **options: Any) -> Op:
    """Build a zoo network by name.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    **options
        Builder options (see :func:`options`), e.g. ``fc_as_conv=True`` for VGG or
        ``include_top=False`` to stop at the last convolutional end-point.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.zoo.build("alexnet_seed")
    >>> rec = rf.receptive_field(net, rf.zoo.default_input("alexnet_seed"), endpoint="pool5")[-1]
    >>> rec.shape, rec.stride, rec.size, rec.start
    ((6, 6), (32, 32), (195, 195), (33.5, 33.5))
    """
    entry = _entry(name)
    allowed = entry.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        shown = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise RFGraphError(f"zoo network {name!r} has no option {', '.join(map(repr, unknown))}; options: {shown}")
    return entry.build(**options)


# ---------------------------------------------------------------------------------------------
# helpers


def _alias(name: str) -> Identity:
    """An end-point name for the tensor in hand (makes no layer)."""
    return Identity(name=name)


def _branch(name: str, *ops: Op) -> Sequential:
    return Sequential(*ops, name=name)


def _as_pair(size: int | Sequence[int]) -> tuple[int, ...]:
    return (size, size) if isinstance(size, int) else tuple(size)


# ---------------------------------------------------------------------------------------------
# seed 001 and torchvision classification networks


def alexnet_seed(include_top: bool = True) -> Sequential:
    """Seed 001's AlexNet: conv1 [11,4,0] ... pool5 [3,2,0], fc6/fc7 as convolutions."""
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


def _bc(name: str, kernel: Any, stride: int = 1, padding: Any = 0) -> Conv:
    """torchvision's BasicConv2d: the tensor is ``<name>.conv``."""
    return Conv(kernel, stride=stride, padding=padding, name=f"{name}.conv")


def _inception_a(name: str) -> Concat:
    return Concat(
        _bc("branch1x1", 1),
        Sequential(_bc("branch5x5_1", 1), _bc("branch5x5_2", 5, padding=2)),
        Sequential(_bc("branch3x3dbl_1", 1), _bc("branch3x3dbl_2", 3, padding=1), _bc("branch3x3dbl_3", 3, padding=1)),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def _inception_b(name: str) -> Concat:
    return Concat(
        _bc("branch3x3", 3, stride=2),
        Sequential(_bc("branch3x3dbl_1", 1), _bc("branch3x3dbl_2", 3, padding=1), _bc("branch3x3dbl_3", 3, stride=2)),
        Pool(3, stride=2, name="max_pool2d"),
        name=name,
    )


def _inception_c(name: str) -> Concat:
    return Concat(
        _bc("branch1x1", 1),
        Sequential(
            _bc("branch7x7_1", 1),
            _bc("branch7x7_2", (1, 7), padding=(0, 3)),
            _bc("branch7x7_3", (7, 1), padding=(3, 0)),
        ),
        Sequential(
            _bc("branch7x7dbl_1", 1),
            _bc("branch7x7dbl_2", (7, 1), padding=(3, 0)),
            _bc("branch7x7dbl_3", (1, 7), padding=(0, 3)),
            _bc("branch7x7dbl_4", (7, 1), padding=(3, 0)),
            _bc("branch7x7dbl_5", (1, 7), padding=(0, 3)),
        ),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def _inception_d(name: str) -> Concat:
    return Concat(
        Sequential(_bc("branch3x3_1", 1), _bc("branch3x3_2", 3, stride=2)),
        Sequential(
            _bc("branch7x7x3_1", 1),
            _bc("branch7x7x3_2", (1, 7), padding=(0, 3)),
            _bc("branch7x7x3_3", (7, 1), padding=(3, 0)),
            _bc("branch7x7x3_4", 3, stride=2),
        ),
        Pool(3, stride=2, name="max_pool2d"),
        name=name,
    )


def _inception_e(name: str) -> Concat:
    # The inner torch.cat of two convolutions on one tensor: computed with Refs so that the
    # convolutions keep their torch names (a nested Concat would prefix them).
    return Concat(
        _bc("branch1x1", 1),
        Sequential(
            _bc("branch3x3_1", 1),
            _bc("branch3x3_2a", (1, 3), padding=(0, 1)),
            Ref("branch3x3_1.conv"),
            _bc("branch3x3_2b", (3, 1), padding=(1, 0)),
            Concat(Ref("branch3x3_2a.conv"), Identity(), name="cat"),
        ),
        Sequential(
            _bc("branch3x3dbl_1", 1),
            _bc("branch3x3dbl_2", 3, padding=1),
            _bc("branch3x3dbl_3a", (1, 3), padding=(0, 1)),
            Ref("branch3x3dbl_2.conv"),
            _bc("branch3x3dbl_3b", (3, 1), padding=(1, 0)),
            Concat(Ref("branch3x3dbl_3a.conv"), Identity(), name="cat_1"),
        ),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def inception_v3(include_top: bool = True) -> Sequential:
    """torchvision Inception-v3 (``aux_logits=False``); the TF-Slim end-points are aliases.

    The geometry equals TF-Slim's ``inception_v3`` (valid stem, "same" 1-stride
    convolutions), so ``MaxPool_3a_3x3``/``MaxPool_5a_3x3`` name ``maxpool1``/``maxpool2``.
    """
    ops: list[Op] = [
        _bc("Conv2d_1a_3x3", 3, stride=2),
        _alias("Conv2d_1a_3x3"),
        _bc("Conv2d_2a_3x3", 3),
        _alias("Conv2d_2a_3x3"),
        _bc("Conv2d_2b_3x3", 3, padding=1),
        _alias("Conv2d_2b_3x3"),
        Pool(3, stride=2, name="maxpool1"),
        _alias("MaxPool_3a_3x3"),
        _bc("Conv2d_3b_1x1", 1),
        _alias("Conv2d_3b_1x1"),
        _bc("Conv2d_4a_3x3", 3),
        _alias("Conv2d_4a_3x3"),
        Pool(3, stride=2, name="maxpool2"),
        _alias("MaxPool_5a_3x3"),
        _inception_a("Mixed_5b"),
        _inception_a("Mixed_5c"),
        _inception_a("Mixed_5d"),
        _inception_b("Mixed_6a"),
        _inception_c("Mixed_6b"),
        _inception_c("Mixed_6c"),
        _inception_c("Mixed_6d"),
        _inception_c("Mixed_6e"),
        _inception_d("Mixed_7a"),
        _inception_e("Mixed_7b"),
        _inception_e("Mixed_7c"),
    ]
    if include_top:
        ops += [GlobalPool(name="avgpool"), Conv(1, name="fc")]
    return Sequential(*ops)


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


# ---------------------------------------------------------------------------------------------
# segmentation


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
    input_size: int | Sequence[int] = 513,
    upsample: bool = False,
    atrous_rates: Sequence[int] = (12, 24, 36),
    aspp_pooling: bool = True,
) -> Sequential:
    """torchvision DeepLab-v3: dilated ResNet backbone (output stride 8) and the ASPP head.

    The ASPP pooling branch (global pool, 1x1 conv, bilinear resize back to the
    feature size) depends on ``input_size``.  ``upsample=True`` appends the final
    bilinear x8 resize (``interpolate``), exact only when the input is a multiple of 8
    (torchvision resizes to the input size).  The pooling branch sees the whole input,
    so the receptive-field arithmetic stops at ``classifier.0.cat`` (the branches'
    effective strides differ) while contribution maps stay exact;
    ``aspp_pooling=False`` leaves the branch out.
    """
    backbone = resnet(depth, include_top=False, replace_stride_with_dilation=(False, True, True))
    ops: list[Op] = [Sequential(*backbone.ops, name="backbone")]
    factors = []
    for n in _as_pair(input_size):
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
            Upsample(tuple(factors), mode="linear", name=pooling),
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


# ---------------------------------------------------------------------------------------------
# TF-Slim networks (Araujo, Norris & Sim, Distill 2019, table of receptive fields)

SAME, VALID = "same", "valid"


def _sc(name: str, kernel: Any, stride: int = 1, padding: str = SAME) -> Conv:
    return Conv(kernel, stride=stride, padding=padding, name=name)


def _sp(name: str, kernel: int = 3, stride: int = 2, padding: str = VALID) -> Pool:
    return Pool(kernel, stride=stride, padding=padding, name=name)


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


def _mixed(name: str, *branches: Sequence[Op]) -> Concat:
    return Concat(*(_branch(f"Branch_{i}", *ops) for i, ops in enumerate(branches)), name=name)


def inception_v2(include_top: bool = False, separable: bool = True) -> Sequential:
    """TF-Slim ``inception_v2`` ("same" padding everywhere).

    ``Conv2d_1a_7x7`` is a separable convolution (a 7x7 stride-2 depthwise then a 1x1
    pointwise convolution) unless ``separable=False``.
    """
    first: Op = (
        Sequential(_sc("depthwise", 7, 2), _sc("pointwise", 1), name="Conv2d_1a_7x7")
        if separable
        else _sc("Conv2d_1a_7x7", 7, 2)
    )

    def block_a(name: str, pool: str = "AvgPool_0a_3x3") -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp(pool, 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def reduction(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2)],
            [_sp("MaxPool_1a_3x3", 3, 2, SAME)],
        )

    ops: list[Op] = [
        first,
        _sp("MaxPool_2a_3x3", 3, 2, SAME),
        _sc("Conv2d_2b_1x1", 1),
        _sc("Conv2d_2c_3x3", 3),
        _sp("MaxPool_3a_3x3", 3, 2, SAME),
        block_a("Mixed_3b"),
        block_a("Mixed_3c"),
        reduction("Mixed_4a"),
        block_a("Mixed_4b"),
        block_a("Mixed_4c"),
        block_a("Mixed_4d"),
        block_a("Mixed_4e"),
        reduction("Mixed_5a"),
        block_a("Mixed_5b"),
        block_a("Mixed_5c", pool="MaxPool_0a_3x3"),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a"), _sc("Conv2d_1c_1x1", 1)]
    return Sequential(*ops)


def inception_v4(include_top: bool = False) -> Sequential:
    """TF-Slim ``inception_v4``: valid stem and reductions, "same" elsewhere."""

    def block_a(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def block_b(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x7", (1, 7)), _sc("Conv2d_0c_7x1", (7, 1))],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_7x1", (7, 1)),
                _sc("Conv2d_0c_1x7", (1, 7)),
                _sc("Conv2d_0d_7x1", (7, 1)),
                _sc("Conv2d_0e_1x7", (1, 7)),
            ],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def block_c(name: str) -> Concat:
        # The inner tf.concat of a 1x3 and a 3x1 conv on one tensor, written with a Ref.
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x3", (1, 3)),
                Ref("Conv2d_0a_1x1"),
                _sc("Conv2d_0c_3x1", (3, 1)),
                Concat(Ref("Conv2d_0b_1x3"), Identity(), name="concat"),
            ],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_3x1", (3, 1)),
                _sc("Conv2d_0c_1x3", (1, 3)),
                _sc("Conv2d_0d_1x3", (1, 3)),
                Ref("Conv2d_0c_1x3"),
                _sc("Conv2d_0e_3x1", (3, 1)),
                Concat(Ref("Conv2d_0d_1x3"), Identity(), name="concat"),
            ],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    ops: list[Op] = [
        _sc("Conv2d_1a_3x3", 3, 2, VALID),
        _sc("Conv2d_2a_3x3", 3, 1, VALID),
        _sc("Conv2d_2b_3x3", 3),
        _mixed("Mixed_3a", [_sp("MaxPool_0a_3x3")], [_sc("Conv2d_0a_3x3", 3, 2, VALID)]),
        _mixed(
            "Mixed_4a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 1, VALID)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x7", (1, 7)),
                _sc("Conv2d_0c_7x1", (7, 1)),
                _sc("Conv2d_1a_3x3", 3, 1, VALID),
            ],
        ),
        _mixed("Mixed_5a", [_sc("Conv2d_1a_3x3", 3, 2, VALID)], [_sp("MaxPool_1a_3x3")]),
        *(block_a(f"Mixed_5{c}") for c in "bcde"),
        _mixed(
            "Mixed_6a",
            [_sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [_sp("MaxPool_1a_3x3")],
        ),
        *(block_b(f"Mixed_6{c}") for c in "bcdefgh"),
        _mixed(
            "Mixed_7a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x7", (1, 7)),
                _sc("Conv2d_0c_7x1", (7, 1)),
                _sc("Conv2d_1a_3x3", 3, 2, VALID),
            ],
            [_sp("MaxPool_1a_3x3")],
        ),
        *(block_c(f"Mixed_7{c}") for c in "bcd"),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a"), _sc("Logits", 1)]
    return Sequential(*ops)


def inception_resnet_v2(include_top: bool = False, align_feature_maps: bool = False) -> Sequential:
    """TF-Slim ``inception_resnet_v2``: 10 ``block35``, 20 ``block17``, 10 ``block8`` residual units.

    ``align_feature_maps=True`` pads the stem and reductions "same" (the table's
    ``inception_resnet_v2-same``); the default is TF-Slim's "valid".
    """
    pad = SAME if align_feature_maps else VALID

    def unit(name: str, *branches: Sequence[Op]) -> Residual:
        body = Sequential(_mixed("concat", *branches), _sc("Conv2d_1x1", 1))
        return Residual(body, name=name)

    def block35(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
        )

    def block17(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x7", (1, 7)), _sc("Conv2d_0c_7x1", (7, 1))],
        )

    def block8(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x3", (1, 3)), _sc("Conv2d_0c_3x1", (3, 1))],
        )

    ops: list[Op] = [
        _sc("Conv2d_1a_3x3", 3, 2, pad),
        _sc("Conv2d_2a_3x3", 3, 1, pad),
        _sc("Conv2d_2b_3x3", 3),
        _sp("MaxPool_3a_3x3", 3, 2, pad),
        _sc("Conv2d_3b_1x1", 1, 1, pad),
        _sc("Conv2d_4a_3x3", 3, 1, pad),
        _sp("MaxPool_5a_3x3", 3, 2, pad),
        _mixed(
            "Mixed_5b",
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_5x5", 5)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        ),
        *(block35(f"block35_{i}") for i in range(1, 11)),
        _mixed(
            "Mixed_6a",
            [_sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sp("MaxPool_1a_3x3", 3, 2, pad)],
        ),
        *(block17(f"block17_{i}") for i in range(1, 21)),
        _alias("PreAuxLogits"),
        _mixed(
            "Mixed_7a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sp("MaxPool_1a_3x3", 3, 2, pad)],
        ),
        *(block8(f"block8_{i}") for i in range(1, 10)),
        block8("Block8"),
        _sc("Conv2d_7b_1x1", 1),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a_8x8"), _sc("Logits", 1)]
    return Sequential(*ops)


# ---------------------------------------------------------------------------------------------
# registry

_SQ224, _SQ299 = (224, 224), (299, 299)

_register(
    "alexnet_seed",
    alexnet_seed,
    "AlexNet of seed 001 (conv1 11/4 ... pool5, fc6/fc7 as convolutions)",
    (227, 227),
    "seed",
)
_register("alexnet", alexnet, "AlexNet (torchvision geometry and names)", _SQ224, "torchvision")
for _d in (11, 13, 16, 19):
    _register(
        f"vgg{_d}",
        vgg,
        f"VGG-{_d} (torchvision names, Caffe aliases conv5_3/pool5; fc_as_conv=True: fc6 as a 7x7 conv)",
        _SQ224,
        "torchvision",
        depth=_d,
    )
for _d, (_kind, _) in _RESNET_LAYERS.items():
    _register(
        f"resnet{_d}",
        resnet,
        f"ResNet-{_d} (torchvision geometry and names; "
        f"{'bottleneck blocks, stride in conv2' if _kind == 'bottleneck' else 'basic blocks'})",
        _SQ224,
        "torchvision",
        depth=_d,
    )
_register(
    "inception_v3",
    inception_v3,
    "Inception-v3 (torchvision geometry and names; TF-Slim end-points MaxPool_3a_3x3 ... Mixed_7c)",
    _SQ299,
    "torchvision",
)
_register(
    "densenet121",
    densenet,
    "DenseNet-121 (torchvision names; dense blocks reuse tensors through Refs)",
    _SQ224,
    "torchvision",
    depth=121,
)
_register(
    "mobilenet_v2",
    mobilenet_v2,
    "MobileNet-v2 (torchvision geometry and names, inverted residuals)",
    _SQ224,
    "torchvision",
)
_register(
    "unet", unet, "U-Net, original: valid 3x3 convs, cropped skips, 572x572 -> 388x388", (572, 572), "segmentation"
)
_register(
    "unet_same",
    unet,
    "U-Net with 'same' padding (no crops; input a multiple of 16)",
    (512, 512),
    "segmentation",
    same=True,
)
_register(
    "deeplabv3_resnet50",
    deeplabv3,
    "DeepLab-v3, ResNet-50 backbone dilated to output stride 8, ASPP head (torchvision names)",
    (513, 513),
    "segmentation",
    depth=50,
)
_register(
    "deeplabv3_resnet101",
    deeplabv3,
    "DeepLab-v3, ResNet-101 backbone dilated to output stride 8, ASPP head (torchvision names)",
    (513, 513),
    "segmentation",
    depth=101,
)
_register("alexnet_v2", alexnet_v2, "TF-Slim alexnet_v2 (end-points conv1 ... pool5)", _SQ224, "tf-slim")
_register(
    "vgg_a",
    slim_vgg,
    "TF-Slim vgg_a (VGG-11, 'same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="a",
)
_register(
    "vgg_16",
    slim_vgg,
    "TF-Slim vgg_16 ('same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="16",
)
_register(
    "vgg_19",
    slim_vgg,
    "TF-Slim vgg_19 ('same' convs; end-points conv1.conv1_1 ... pool5)",
    _SQ224,
    "tf-slim",
    config="19",
)
_register(
    "mobilenet_v1",
    mobilenet_v1,
    "TF-Slim mobilenet_v1 (end-points Conv2d_0 ... Conv2d_13_pointwise)",
    _SQ224,
    "tf-slim",
)
_register(
    "mobilenet_v1_075",
    mobilenet_v1,
    "TF-Slim mobilenet_v1_075 (0.75 depth; same graph as mobilenet_v1)",
    _SQ224,
    "tf-slim",
)
for _d in _SLIM_RESNET:
    _register(
        f"resnet_v1_{_d}",
        slim_resnet,
        f"TF-Slim resnet_v1_{_d} (stride in the last unit of each block; end-points block1 ... block4)",
        _SQ224,
        "tf-slim",
        depth=_d,
    )
    _register(
        f"resnet_v2_{_d}",
        slim_resnet,
        f"TF-Slim resnet_v2_{_d} (pre-activation; the same graph as resnet_v1_{_d})",
        _SQ224,
        "tf-slim",
        depth=_d,
    )
_register(
    "inception_v2", inception_v2, "TF-Slim inception_v2 (end-points Conv2d_1a_7x7 ... Mixed_5c)", _SQ224, "tf-slim"
)
_register(
    "inception_v4", inception_v4, "TF-Slim inception_v4 (end-points Conv2d_1a_3x3 ... Mixed_7d)", _SQ299, "tf-slim"
)
_register(
    "inception_resnet_v2",
    inception_resnet_v2,
    "TF-Slim inception_resnet_v2 (end-points Conv2d_1a_3x3 ... PreAuxLogits, Mixed_7a, Conv2d_7b_1x1)",
    _SQ299,
    "tf-slim",
)
