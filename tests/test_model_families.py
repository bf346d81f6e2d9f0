"""Issue 10's "Must show": every torchvision family and >= 25 timm CNN families import at two input
sizes (one not a multiple of the output stride), ``receptive_field`` returns records, and ``rf.reach``
of the centre output equals the support of torch's input gradient of a linearised copy
(:mod:`rfgraph.importers._support`: positive weights, activations -> identity, max -> average
pooling, positive input, float64).  For a classifier the centre is that of the last spatial
tensor that is a module's output (the head reaches every pixel trivially); every model is also
checked at the last module output whose field is smaller than the input."""

from __future__ import annotations

import logging
import warnings

import pytest

import rfgraph as rf
from rfgraph.importers._families import FAMILIES, SIZES, Family, build

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

# The whole set takes ~10 min on one core (CI's slow job); the default suite keeps a few light
# families at the size that is a multiple of no stride: gating, same padding, channels last,
# channel shuffles, a segmentation head with a non-integer resize.
_QUICK = {
    "resnet18",
    "mobilenet_v3_small",
    "shufflenet_v2_x0_5",
    "tf_efficientnet_b0",
    "convnext_atto",
    "lraspp_mobilenet_v3_large",
}
_CASES = [
    pytest.param(
        f,
        n,
        id=f"{f.source.split('.')[0]}-{f.name}-{n}",
        marks=[] if f.name in _QUICK and not f.heavy and n % 32 else [pytest.mark.slow],
    )
    for f in FAMILIES
    for n in f.sizes
]


def test_the_family_list_covers_issue_10() -> None:
    torchvision = {f.family for f in FAMILIES if f.source.startswith("torchvision")}
    assert torchvision >= {
        "resnet",
        "resnext",
        "wide_resnet",
        "regnet_x",
        "regnet_y",
        "mobilenet_v2",
        "mobilenet_v3",
        "efficientnet",
        "efficientnet_v2",
        "convnext",
        "mnasnet",
        "shufflenet_v2",
        "squeezenet",
        "googlenet",
        "inception_v3",
        "densenet",
        "vgg",
        "alexnet",
        "fcn",
        "deeplabv3",
        "lraspp",
    }
    assert len({f.family for f in FAMILIES if f.source == "timm"}) >= 25
    assert any(n % 32 for n in SIZES)


@pytest.mark.parametrize(("family", "size"), _CASES)
def test_import_reach_equals_gradient_support(family: Family, size: int) -> None:
    from rfgraph.importers._support import compare_reach

    if family.source == "timm":
        pytest.importorskip("timm")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            model = build(family)
            checks = compare_reach(model, (size, size), inplace=True, partial=True)
        finally:
            logging.disable(logging.NOTSET)
    records = rf.receptive_field(checks[0].network, (size, size))
    assert records and records[-1].shape
    for check in checks:
        assert check.equal, check.describe()
