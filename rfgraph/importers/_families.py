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


_TV_TRANSFORMERS: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
    ("vit_b_16", "vit (class token, MultiheadAttention)", {"image_size": 64}, (64,)),
    ("swin_t", "swin (shifted windows)", {}, SIZES),
    ("swin_v2_t", "swin v2 (cosine attention)", {}, (64,)),
    ("maxvit_t", "maxvit (block and grid attention)", {}, (224,)),
]
_IMG = {"img_size": 64}
# One representative per timm family, at 64 px unless the model fixes its size; 32 px is too
# small a test for some (MaxViT's windows and PVT's reduced keys become a single token).
_TIMM_TRANSFORMERS: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
    ("vit_tiny_patch16_224", "vit (sdpa)", _IMG, (64,)),
    ("deit_tiny_patch16_224", "deit", _IMG, (64,)),
    ("deit3_small_patch16_224", "deit3 (LayerScale)", _IMG, (64,)),
    ("vit_relpos_small_patch16_224", "vit relpos (relative position bias)", _IMG, (64,)),
    ("vit_little_patch16_reg4_gap_256", "vit with register tokens", _IMG, (64,)),
    ("beit_base_patch16_224", "beit", _IMG, (64,)),
    ("eva02_tiny_patch14_224", "eva02 (rotary position embedding)", {"img_size": 56}, (56,)),
    ("cait_xxs24_224", "cait (talking heads, class attention)", _IMG, (64,)),
    ("xcit_nano_12_p16_224", "xcit (cross-covariance attention)", _IMG, (64,)),
    ("convit_tiny", "convit (gated positional attention)", _IMG, (64,)),
    ("crossvit_tiny_240", "crossvit (two patch sizes)", {}, (64,)),
    ("pit_ti_224", "pit (pooling ViT)", _IMG, (64,)),
    ("tnt_s_patch16_224", "tnt (transformer in transformer)", _IMG, (64,)),
    ("volo_d1_224", "volo (outlook attention)", _IMG, (64,)),
    ("swin_tiny_patch4_window7_224", "swin (timm)", {"img_size": 56}, (56,)),
    ("swinv2_tiny_window8_256", "swinv2 (timm)", _IMG, (64,)),
    ("nest_tiny", "nest (nested blocks)", _IMG, (64,)),
    ("twins_svt_small", "twins svt (local and sub-sampled attention)", _IMG, (64,)),
    ("twins_pcpvt_small", "twins pcpvt", _IMG, (64,)),
    ("pvt_v2_b0", "pvt v2 (spatial-reduction attention)", {}, (64,)),
    ("davit_tiny", "davit (windows and channel attention)", {}, (64,)),
    ("hiera_tiny_224", "hiera", _IMG, (64,)),
    ("sam2_hiera_tiny", "sam2 hiera", {}, (64,)),
    ("mvitv2_tiny", "mvit v2 (pooling attention)", _IMG, (64,)),
    ("gcvit_xxtiny", "gcvit (global query tokens)", _IMG, (64,)),
    ("focalnet_tiny_srf", "focalnet (focal modulation)", {}, (64,)),
    ("maxvit_nano_rw_256", "maxvit (timm)", _IMG, (64,)),
    ("maxxvitv2_nano_rw_256", "maxxvit (ConvNeXt blocks, windows)", _IMG, (64,)),
    ("coatnet_nano_rw_224", "coatnet (hybrid)", _IMG, (64,)),
    ("coat_lite_tiny", "coat (convolutional position encoding)", _IMG, (64,)),
    ("efficientformer_l1", "efficientformer (hybrid)", {}, (224,)),
    ("efficientformerv2_s0", "efficientformer v2 (attention downsampling)", _IMG, (64,)),
    ("mobilevit_xxs", "mobilevit (unfold/fold of patches)", {}, (64,)),
    ("mobilevitv2_050", "mobilevit v2 (separable attention)", _IMG, (64,)),
    ("levit_128s", "levit", _IMG, (64,)),
    ("edgenext_xx_small", "edgenext (transposed attention)", {}, (64,)),
    ("efficientvit_b0", "efficientvit mit (linear attention)", {}, (64,)),
    ("efficientvit_m0", "efficientvit msra (cascaded group attention)", _IMG, (64,)),
    ("fastvit_t8", "fastvit (RepMixer)", {}, (64,)),
    ("tiny_vit_5m_224", "tinyvit", {}, (64,)),
    ("swiftformer_xs", "swiftformer (additive attention)", _IMG, (64,)),
    ("mobilenetv4_hybrid_medium", "mobilenetv4 hybrid (multi-query attention)", {}, (64,)),
    ("nextvit_small", "nextvit", {}, (64,)),
    ("vitamin_small_224", "vitamin (MBConv stem, ViT)", _IMG, (64,)),
    ("shvit_s1", "shvit (single-head attention)", {}, (64,)),
    ("visformer_tiny", "visformer", _IMG, (64,)),
    ("caformer_s18", "metaformer: caformer (convolution + attention)", {}, (64,)),
    ("poolformer_s12", "metaformer: poolformer (pooling mixer)", {}, (64,)),
    ("mixer_s16_224", "mlp-mixer (token-mixing MLP)", _IMG, (64,)),
    ("resmlp_12_224", "resmlp", _IMG, (64,)),
    ("gmlp_ti16_224", "gmlp (spatial gating)", _IMG, (64,)),
    ("sequencer2d_s", "sequencer (LSTM mixer)", _IMG, (64,)),
]
# Families checked by tests beyond the list (tests mark them slow: CI runs them).
_TRANSFORMERS_EXTRA = [
    "swin_v2_t",
    "deit3_small_patch16_224",
    "vit_relpos_small_patch16_224",
    "vit_little_patch16_reg4_gap_256",
    "beit_base_patch16_224",
    "focalnet_tiny_srf",
    "edgenext_xx_small",
    "fastvit_t8",
    "swiftformer_xs",
    "vitamin_small_224",
    "caformer_s18",
    "poolformer_s12",
    # split spatial axes, keys on other grids, token-mixing MLPs, class-token slicing (one per mechanism)
    "mobilevitv2_050",
    "maxvit_nano_rw_256",
    "swinv2_tiny_window8_256",
    "twins_svt_small",
    "pvt_v2_b0",
    "levit_128s",
    "hiera_tiny_224",
    "nest_tiny",
    "coat_lite_tiny",
    "pit_ti_224",
    "mixer_s16_224",
    "efficientvit_m0",
    "cait_xxs24_224",
    "xcit_nano_12_p16_224",
]
# Slow in float64 (big models, the 224 px EfficientFormer / MaxViT), or extra: tests mark them slow.
_TRANSFORMERS_HEAVY = {"vit_b_16", "swin_t", "maxvit_t", "efficientformer_l1", *_TRANSFORMERS_EXTRA}

TRANSFORMERS: tuple[Family, ...] = (
    *(Family("torchvision", n, f, k, z, n in _TRANSFORMERS_HEAVY) for n, f, k, z in _TV_TRANSFORMERS),
    *(Family("timm", n, f, k, z, n in _TRANSFORMERS_HEAVY) for n, f, k, z in _TIMM_TRANSFORMERS),
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
        *_TRANSFORMERS_EXTRA,
    ]
)
"""Those checked by ``tests/test_tokens.py`` (they import today; ``docs/make_coverage.py`` lists
every family of :data:`TRANSFORMERS`, with the reason where one does not)."""


def build(family: Family) -> Any:
    """The model, randomly initialised (no download)."""
    if family.source == "timm":
        import timm

        return timm.create_model(family.name, pretrained=False, **family.kwargs).eval()
    import torchvision.models as tvm

    owner = tvm.segmentation if family.source.endswith("segmentation") else tvm
    return getattr(owner, family.name)(weights=None, **family.kwargs).eval()
