"""Pyramids, rfgraph.answers.testing, units and the practitioners' CLI commands (tile, valid, sizes, pyramid, check)."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.answers.pyramid import pyramid
from rfgraph.answers.testing import assert_receptive_field
from rfgraph.answers.units import parse_length, to_pixels
from rfgraph.cli import build_parser, main


def run(*argv: str) -> int:
    return main(list(argv))


# --------------------------------------------------------------------------- pyramid


def test_pyramid_levels_match_table_and_erf() -> None:
    net = rf.zoo.build("resnet18")
    levels = pyramid(net, (128, 128), ["layer1", "layer2", "layer3"], anchors=[16, 64, 256])
    for level in levels:
        rec = rf.receptive_field(net, (128, 128), level.name)[-1]
        assert level.stride == rec.stride and level.size == rec.size
        assert 0 < level.erf <= max(level.size) and level.erf_fraction >= 0.95
    assert [lv.stride[0] for lv in levels] == [4, 8, 16]
    assert [len(lv.anchors) for lv in levels] == [1, 1, 1]  # one anchor per level
    assert levels[2].anchors[0].field_ratio == pytest.approx(256 / levels[2].size[0])
    assert levels[0].warnings == () and levels[2].warnings and "exceeds the field of layer3" in levels[2].warnings[0]


def test_pyramid_every_anchor_on_every_level_and_bad_anchors() -> None:
    levels = pyramid(rf.zoo.build("vgg16"), (64, 64), ["pool1", "pool2"], anchors=[2, 8, 32])
    assert [len(lv.anchors) for lv in levels] == [3, 3]
    with pytest.raises(rf.RFGraphError, match="anchors"):
        pyramid(rf.zoo.build("vgg16"), (64, 64), ["pool1"], anchors=[-1])


@pytest.mark.slow
def test_pyramid_torchvision_fpn_backbone() -> None:
    pytest.importorskip("torchvision")
    from torchvision.models.detection import retinanet_resnet50_fpn

    from rfgraph.answers.pyramid import levels_from_torch

    backbone = retinanet_resnet50_fpn(weights=None, weights_backbone=None).backbone
    levels = levels_from_torch(backbone, (256, 256))
    assert list(levels) == ["0", "1", "2", "p6", "p7"]
    result = pyramid(levels, (256, 256), anchors=[32, 64, 128, 256, 512])
    assert [lv.stride[0] for lv in result] == [8, 16, 32, 64, 128]
    assert [lv.shape for lv in result] == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
    sizes = [lv.size[0] for lv in result]
    assert sizes == sorted(sizes)


@pytest.mark.slow
def test_pyramid_timm_features_only_strides() -> None:
    timm = pytest.importorskip("timm")
    from rfgraph.answers.pyramid import feature_info_mismatches, levels_from_torch

    model = timm.create_model("resnet18", features_only=True, pretrained=False)
    levels = levels_from_torch(model, (128, 128))
    assert list(levels) == model.feature_info.module_name()
    assert feature_info_mismatches(model, levels, (128, 128)) == []
    assert [lv.stride[0] for lv in pyramid(levels, (128, 128))] == model.feature_info.reduction()


# --------------------------------------------------------------------------- rfgraph.answers.testing and units


def test_assert_receptive_field() -> None:
    net = rf.Sequential(*[rf.Conv(3)] * 5)
    assert assert_receptive_field(net, (32,), min_size=11, max_size=(11,), stride=1).size == (11,)
    with pytest.raises(AssertionError, match=r"is 11 px, above max_size=10$"):
        assert_receptive_field(net, (32,), max_size=10)
    with pytest.raises(AssertionError, match="stride"):
        assert_receptive_field("vgg16", (224, 224), endpoint="pool5", stride=16)
    assert assert_receptive_field("conv3*5", (15,), min_size=11).size == (11,)


def test_assert_receptive_field_on_a_torch_module() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.MaxPool2d(2), torch.nn.Conv2d(2, 2, 3))
    assert assert_receptive_field(model, (16, 16), min_size=8, max_size=8, stride=2).size == (8, 8)


def test_units() -> None:
    assert parse_length("0.65um") == (0.65, "um") == parse_length("0.65 µm")
    assert to_pixels("2km", (2.0, "m")) == 1000.0 and to_pixels("7", None) == 7.0
    for bad in ("0.65", "-1um", "3 parsecs"):
        with pytest.raises(rf.RFGraphError, match="unit"):
            parse_length(bad)
    with pytest.raises(rf.RFGraphError, match="--pixel-size"):
        to_pixels("5um", None)


# --------------------------------------------------------------------------- CLI


def test_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["check", "vgg16", "--input", "224x224", "--endpoint", "pool5"]
    assert run(*base, "--min-rf", "150", "--max-rf", "250") == 0
    assert "212" in capsys.readouterr().out
    assert run(*base, "--min-rf", "250") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "below --min-rf 250" in err
    assert run(*base, "--max-rf", "200") == 1
    assert "above --max-rf 200" in capsys.readouterr().err
    assert run(*base, "--stride", "16") == 1
    assert run(*base, "--max-rf", "150um", "--pixel-size", "0.5um") == 0  # 300 px allowed
    assert run(*base, "--min-rf", "1mm", "--pixel-size", "2um") == 1  # 500 px needed
    capsys.readouterr()
    assert run(*base, "--min-rf", "abc") == 2
    assert run("check", "vgg16", "--input", "224x224", "--endpoint", "nope", "--min-rf", "3") == 2
    assert "Traceback" not in capsys.readouterr().err


def test_tile_json_matches_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tile", "unet_same", "--input", "128x96", "--tile", "32", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    net = rf.zoo.build("unet_same")
    assert data["halo"] == [list(p) for p in rf.halo(net, (128, 96))]
    assert len(data["tiles"]) == len(rf.tiles(net, (128, 96), 32)) == 12
    assert run("tile", "unet_same", "--input", "128x96", "--tile", "40") == 0
    assert "rounded down to 32" in capsys.readouterr().out
    assert run("tile", "unet_same", "--input", "128x96", "--tile", "0") == 2


def test_valid_sizes_pyramid_text(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert run("valid", "conv3p1*3", "--input", "16x12", "--share") == 0
    out = capsys.readouterr().out
    assert "valid outputs" in out and "axis 0: positions 3..12" in out and "share of paths" in out
    pytest.importorskip("matplotlib")
    picture = tmp_path / "share.png"
    assert run("valid", "conv3p1*3", "--input", "16x12", "--out", str(picture)) == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"
    assert run("valid", "conv3p1*3", "--input", "16x12", "--out", str(picture)) == 2  # exists
    assert "--force" in capsys.readouterr().err
    assert run("sizes", "conv3,pool2,conv3") == 0
    assert "min input shape: 8" in capsys.readouterr().out
    assert run("sizes", "resnet18", "--input", "32x32", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["min_input_shape"] == [1, 1]
        and "layer4.0.conv1" in data["unproductive"]
        and "layer4" not in data["unproductive"]
    )
    assert run("pyramid", "vgg16", "--input", "64x64", "--endpoints", "pool1,pool2", "--anchors", "4,32") == 0
    out = capsys.readouterr().out
    assert "pool2" in out and "warning: anchor 32 exceeds the field of pool2" in out


def test_table_pixel_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("table", "conv3*2,pool2", "--input", "16", "--pixel-size", "0.65um") == 0
    out = capsys.readouterr().out
    assert "jump (um)" in out and "size (um)" in out and "3.9" in out  # size 6 px * 0.65
    assert run("table", "conv3", "--input", "16", "--pixel-size", "fast") == 2


@pytest.mark.parametrize("command", ["tile", "valid", "sizes", "pyramid", "check", "table"])
def test_help_example_runs(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if hasattr(a, "choices"))  # type: ignore[union-attr]
    epilog = sub.choices[command].epilog
    example = next(line.strip() for line in epilog.splitlines() if line.strip().startswith("rfgraph "))
    argv = shlex.split(example)[1:]
    assert run(*argv) == 0
    assert np.size(capsys.readouterr().out) > 0
