"""The real-model families the import is checked on (tests, ``docs/make_coverage.py``); not public API.

Each family is its smallest variant, built without weights (``weights=None`` /
``pretrained=False``: nothing is downloaded).  :data:`SIZES` are the two input sizes of the
check: 64 (a multiple of every output stride up to 32... and 64) and 97 (a multiple of none).

>>> [f.name for f in FAMILIES if f.source == "torchvision"][:3]
['alexnet', 'vgg11', 'resnet18']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Family", "FAMILIES", "TRANSFORMERS", "SIZES", "build"]

SIZES = (64, 97)
"""Input sizes of the check (97 is not a multiple of any output stride)."""


@dataclass(frozen=True)
class Family:
    """A model family: where it comes from, its smallest variant, and the constructor's options."""

    source: str  # "torchvision", "torchvision.segmentation" or "timm"
    name: str
    family: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    sizes: tuple[int, ...] = SIZES
    heavy: bool = False  # ResNet-50-sized: slower in float64


_TV: list[tuple[str, str, dict[str, Any]]] = [
    ("alexnet", "alexnet", {}),
    ("vgg11", "vgg", {}),
    ("resnet18", "resnet", {}),
    ("resnext50_32x4d", "resnext", {}),
    ("wide_resnet50_2", "wide_resnet", {}),
    ("regnet_x_400mf", "regnet_x", {}),
    ("regnet_y_400mf", "regnet_y", {}),
    ("mobilenet_v2", "mobilenet_v2", {}),
    ("mobilenet_v3_small", "mobilenet_v3", {}),
    ("efficientnet_b0", "efficientnet", {}),
    ("efficientnet_v2_s", "efficientnet_v2", {}),
    ("convnext_tiny", "convnext", {}),
    ("mnasnet0_5", "mnasnet", {}),
    ("shufflenet_v2_x0_5", "shufflenet_v2", {}),
    ("squeezenet1_1", "squeezenet", {}),
    ("googlenet", "googlenet", {"aux_logits": False, "init_weights": False}),
    ("inception_v3", "inception_v3", {"aux_logits": False, "init_weights": False}),
    ("densenet121", "densenet", {}),
]
# Sizes the model itself accepts: Inception-v3 needs at least 75 px; DLA and HRNet join branches
# of different strides, so torch refuses any size that is not a multiple of 32.
_SIZES = {"inception_v3": (80, 97), "dla34": (64, 96), "hrnet_w18_small": (64, 96)}
_SEG: list[tuple[str, str, dict[str, Any]]] = [
    ("fcn_resnet50", "fcn", {"weights_backbone": None, "aux_loss": False}),
    ("deeplabv3_mobilenet_v3_large", "deeplabv3", {"weights_backbone": None, "aux_loss": False}),
    ("lraspp_mobilenet_v3_large", "lraspp", {"weights_backbone": None}),
]
_HEAVY = {"resnext50_32x4d", "wide_resnet50_2", "fcn_resnet50", "efficientnet_v2_s", "convnext_tiny", "inception_v3"}
_TIMM = [
    ("resnet10t", "resnet"),
    ("seresnext26d_32x4d", "seresnext (SE)"),
    ("ecaresnet26t", "ecaresnet (ECA)"),
    ("skresnet18", "skresnet (selective kernel)"),
    ("resnest14d", "resnest (split attention)"),
    ("res2net50_14w_8s", "res2net"),
    ("efficientnet_b0", "efficientnet"),
    ("tf_efficientnet_b0", "tf_efficientnet (same padding)"),
    ("efficientnet_lite0", "efficientnet_lite"),
    ("mobilenetv2_050", "mobilenetv2"),
    ("mobilenetv3_small_050", "mobilenetv3"),
    ("mixnet_s", "mixnet"),
    ("mnasnet_small", "mnasnet"),
    ("fbnetc_100", "fbnet"),
    ("tinynet_e", "tinynet"),
    ("lcnet_050", "lcnet"),
    ("ghostnet_050", "ghostnet"),
    ("rexnet_100", "rexnet"),
    ("regnetx_002", "regnetx"),
    ("regnety_002", "regnety"),
    ("convnext_atto", "convnext"),
    ("densenet121", "densenet"),
    ("dla34", "dla"),
    ("dpn48b", "dpn"),
    ("cspresnet50", "cspnet"),
    ("ese_vovnet19b_slim_dw", "vovnet (eSE)"),
    ("hrnet_w18_small", "hrnet"),
    ("selecsls42b", "selecsls"),
    ("repvgg_a0", "repvgg/byobnet"),
    ("mobileone_s0", "mobileone"),
    ("gernet_s", "gernet"),
    ("nf_regnet_b0", "nfnet (scaled std conv)"),
    ("resnetv2_50x1_bit", "resnetv2/BiT (std conv, same padding)"),
    ("xception41", "xception"),
    ("inception_v3", "inception_v3"),
    ("vgg11", "vgg"),
    ("darknet17", "darknet"),
    ("hgnetv2_b0", "hgnetv2"),
    ("cs3darknet_focus_s", "cs3darknet (Focus: strided slices)"),
]
_TIMM_HEAVY = {"res2net50_14w_8s", "resnetv2_50x1_bit", "xception41", "cspresnet50", "inception_v3", "dpn48b"}

FAMILIES: tuple[Family, ...] = (
    *(Family("torchvision", n, f, k, _SIZES.get(n, SIZES), n in _HEAVY) for n, f, k in _TV),
    *(Family("torchvision.segmentation", n, f, k, SIZES, n in _HEAVY) for n, f, k in _SEG),
    *(Family("timm", n, f, {}, _SIZES.get(n, SIZES), n in _TIMM_HEAVY) for n, f in _TIMM),
)


TRANSFORMERS: tuple[Family, ...] = (
    Family("torchvision", "vit_b_16", "vit (class token, MultiheadAttention)", {"image_size": 64}, (64,), True),
    Family("torchvision", "swin_t", "swin (shifted windows)", {}, SIZES, True),
    Family("torchvision", "maxvit_t", "maxvit (block and grid attention)", {}, (224,), True),
    Family("timm", "vit_tiny_patch16_224", "vit (sdpa)", {"img_size": 64}, (64,)),
    Family("timm", "deit_tiny_patch16_224", "deit", {"img_size": 64}, (64,)),
    Family("timm", "coatnet_nano_rw_224", "coatnet (hybrid)", {"img_size": 64}, (64,)),
    Family("timm", "efficientformer_l1", "efficientformer (hybrid)", {}, (224,), True),
    Family("timm", "mobilevit_xxs", "mobilevit (unfold/fold of patches)", {}, (64,)),
    Family("timm", "swin_tiny_patch4_window7_224", "swin (timm)", {"img_size": 56}, (56,)),
)
"""Transformer and hybrid families (issue 15); sizes the models accept (ViT/EfficientFormer fix theirs)."""

TRANSFORMERS_SUPPORTED = frozenset(
    [
        "vit_b_16",
        "swin_t",
        "maxvit_t",
        "vit_tiny_patch16_224",
        "deit_tiny_patch16_224",
        "coatnet_nano_rw_224",
        "efficientformer_l1",
        "mobilevit_xxs",
        "swin_tiny_patch4_window7_224",
    ]
)
"""Those that import today (the others are listed by ``docs/make_coverage.py`` with their reason)."""


def build(family: Family) -> Any:
    """The model, randomly initialised (no download)."""
    if family.source == "timm":
        import timm

        return timm.create_model(family.name, pretrained=False, **family.kwargs).eval()
    import torchvision.models as tvm

    owner = tvm.segmentation if family.source.endswith("segmentation") else tvm
    return getattr(owner, family.name)(weights=None, **family.kwargs).eval()
