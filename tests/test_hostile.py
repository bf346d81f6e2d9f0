"""Hostile input (issue 18): caps before allocation, safe output files, NumPy integer forms."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.cli import main
from rfgraph.geometry import limits
from rfgraph.importers.load import load_network
from rfgraph.spec import network_from_dict, parse_spec


def one_line_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize(
    "spec, message",
    [
        ("conv99999999999999999999", "maximum of 1,000,000"),
        ("conv500000000", "maximum of 1,000,000"),
        ("conv3d99999999999999999999", "dilation"),
        ("conv3s99999999999999999999", "stride"),
        ("conv3p99999999999999999999", "padding"),
        ("up99999999999", "scale_factor"),
        ("conv3*99999999", "100,000 layers"),
        ("(conv3p1*1000)*1000", "100,000 layers"),
        ("res(conv3p1*1000)*1000", "100,000 layers"),
        ("conv3*" + "9" * 5000, "100,000 layers"),
        ("res(" * 250 + "conv1" + ")" * 250, "nesting deeper than 100"),
        ("(" * 500, "nesting deeper than 100"),
        ("conv\uff11\uff15", "not ASCII"),
        ("conv3*0", "positive repeat count"),
        ("conv3," * 40_000, "characters long"),
    ],
)
def test_spec_caps_refuse_before_building(spec, message, capsys):
    assert message in one_line_error(capsys, "table", spec, "--input", "15")


def test_caps_are_documented_and_raisable(monkeypatch):
    assert "MAX_OPS" in limits.__doc__ and "100,000" in limits.__doc__
    monkeypatch.setattr(limits, "MAX_OPS", 10)
    with pytest.raises(rf.RFGraphError, match="more than 10 layers"):
        parse_spec("conv1*11")
    assert len(parse_spec("conv1*10")) == 10


def test_api_networks_are_checked_before_allocation():
    with pytest.raises(rf.RFGraphError, match="maximum of 1,000,000"):
        rf.receptive_field(rf.Conv(500_000_000), (15,))
    with pytest.raises(rf.RFGraphError, match="maximum of 1,000,000"):
        rf.receptive_field(rf.Conv(3, dilation=10**20), (15,))
    with pytest.raises(rf.RFGraphError, match="index pairs"):
        rf.receptive_field(rf.Conv(50), (1_000_000,))
    deep: rf.Op = rf.Conv(1)
    for _ in range(150):
        deep = rf.Sequential(deep, rf.Conv(1))
    with pytest.raises(rf.RFGraphError, match="nesting deeper"):
        rf.receptive_field(deep, (15,))
    # Shared sub-networks (as an alias bomb makes them) are refused without being expanded.
    wide: rf.Op = rf.Conv(1)
    for _ in range(40):
        wide = rf.Sequential(wide, wide)
    with pytest.raises(rf.RFGraphError, match="100,000 layers"):
        rf.receptive_field(wide, (15,))


def test_plan_budget_refuses_runaway_plans(monkeypatch):
    # The same check as for "conv11*2000" at 10**6 samples, scaled down (no gigabytes in tests).
    monkeypatch.setattr(limits, "MAX_PLAN_ENTRIES", 100_000)
    with pytest.raises(rf.RFGraphError, match="100,000 index pairs"):
        rf.receptive_field(parse_spec("conv11*2000"), (10_000,))
    monkeypatch.setattr(limits, "MAX_OP_ENTRIES", 10_000)
    with pytest.raises(rf.RFGraphError, match="10,000 per op and axis"):
        rf.receptive_field(rf.Conv(11), (10_000,))


def test_json_and_yaml_bombs(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 2000 + '{"type": "conv", "kernel_size": 1}' + "]" * 2000)
    assert "nested too deeply" in one_line_error(capsys, "table", str(deep), "--input", "15")
    shallow_deep = tmp_path / "deep2.json"
    shallow_deep.write_text("[" * 150 + '"conv1"' + "]" * 150)
    assert "nesting deeper than 100" in one_line_error(capsys, "table", str(shallow_deep), "--input", "15")
    big = tmp_path / "big.json"
    big.write_text('["conv1"' + ', "conv1"' * 300_000 + "]")
    assert "too large" in one_line_error(capsys, "table", str(big), "--input", "15")
    pytest.importorskip("yaml")
    bomb = "a0: &a0 [conv1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 41))
    (tmp_path / "bomb.yaml").write_text(bomb + "network: *a40\n")
    assert "100,000 layers" in one_line_error(capsys, "table", str(tmp_path / "bomb.yaml"), "--input", "15")


def test_json_values_are_capped():
    with pytest.raises(rf.RFGraphError, match="maximum of 1,000,000"):
        network_from_dict([{"type": "conv", "kernel_size": 2**40}])
    with pytest.raises(rf.RFGraphError, match="100,000 layers"):
        network_from_dict(["conv1*60000", "conv1*60000"])


def test_dotted_names_never_shadow_scoped_names():
    net = rf.Sequential(rf.Conv(3, name="a.conv1"), rf.Sequential(rf.Conv(3), name="a"))
    with pytest.raises(rf.RFGraphError, match="'a.conv1' is used by two different tensors"):
        rf.receptive_field(net, (15,))
    net = rf.Sequential(rf.Sequential(rf.Conv(3), name="a"), rf.Conv(3, name="a.conv1"))
    with pytest.raises(rf.RFGraphError, match="two different tensors"):
        rf.receptive_field(net, (15,))


@pytest.mark.parametrize("value", [np.array(2), np.int32(2), 2, [2], (np.int64(2),), np.array([2])])
def test_integer_forms_are_positions(value):
    assert limits.as_position(value) == (2,)


@pytest.mark.parametrize("value", [2.0, float("nan"), True, np.bool_(True), "2", np.array([2.0]), [2.5], [True], None])
def test_non_integers_are_refused(value):
    with pytest.raises(rf.RFGraphError):
        limits.as_position(value)


@pytest.mark.parametrize("shape", [np.array([15, 15]), (np.int64(15), 15), np.array(15)])
def test_shapes_accept_numpy_integers(shape):
    assert rf.receptive_field(rf.Conv(3), shape)[-1].size[0] == 3


@pytest.mark.parametrize("shape", [(15.0,), (True,), "15", (float("nan"),), np.array([15.0])])
def test_shapes_refuse_other_types(shape):
    with pytest.raises(rf.RFGraphError, match="input_shape"):
        rf.receptive_field(rf.Conv(3), shape)


# Output files -----------------------------------------------------------------------


def test_out_never_writes_through_a_link(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "target.npy"
    os.symlink(target, "link.npy")
    os.symlink(tmp_path / "nowhere" / "x.npy", "dangling.npy")
    for out in ("link.npy", "dangling.npy"):
        assert "symbolic link" in one_line_error(capsys, "map", "conv3", "--input", "15", "--out", out)
    assert not target.exists()
    assert main(["map", "conv3", "--input", "15", "--out", "link.npy", "--force"]) == 0
    assert not target.exists() and not os.path.islink("link.npy")
    assert np.load("link.npy").tolist() == [0] * 6 + [1, 1, 1] + [0] * 6


def test_out_never_overwrites_unasked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["graph", "conv3*5", "--input", "15"], ["profile", "conv3*5", "--input", "15", "--plot"]):
        assert main(argv) == 0
        capsys.readouterr()
        assert "already exists" in one_line_error(capsys, *argv)
        assert main([*argv, "--force"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "profile.png"]  # no temporary files left


@pytest.mark.parametrize("name", ["X.NPY", "x.Csv", "x.PNG", "x.svg", "x.PDF"])
def test_out_extensions_any_case(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["map", "conv3x3", "--input", "9x9", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    if name.lower().endswith(".npy"):
        assert np.load(out).shape == (9, 9)
    assert "already exists" in one_line_error(capsys, "map", "conv3x3", "--input", "9x9", "--out", str(out))


@pytest.mark.parametrize("name", ["deep/a/x.npy", "deep/a/x.png", "deep/a/x.csv"])
def test_out_folders_are_never_created_by_the_cli(name, tmp_path, capsys):
    out = tmp_path / name
    assert "does not exist" in one_line_error(capsys, "map", "conv3", "--input", "15", "--out", str(out))
    assert not (tmp_path / "deep").exists()


def test_out_empty_is_an_error(capsys):
    assert "empty" in one_line_error(capsys, "map", "conv3", "--input", "15", "--out", "")


def test_api_save_refuses_existing_files(tmp_path):
    pytest.importorskip("matplotlib")
    from rfgraph.plot import save_map_figure

    out = tmp_path / "sub" / "m.png"
    save_map_figure(np.ones((5, 5)), out)
    with pytest.raises(rf.RFGraphError, match="overwrite=True"):
        save_map_figure(np.ones((5, 5)), out)
    save_map_figure(np.ones((5, 5)), out, overwrite=True)


def test_json_output_is_strict(capsys):
    assert main(["map", "conv3", "--input", "15", "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


def test_load_network_files_are_bounded(tmp_path):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"network": "conv3*5"}))
    assert len(load_network(str(spec))) == 5


# Newcomer's rough edges (issue 14) ------------------------------------------------------


def test_classifier_maps_default_to_the_last_spatial_tensor(capsys):
    assert main(["map", "resnet18", "--input", "64x64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["endpoint"] == "layer4.1" and data["shape"] == [64, 64]
    assert main(["map", "resnet18", "--input", "64x64"]) == 0
    assert "end-point 'layer4.1'" in capsys.readouterr().out
    # --endpoint still chooses, and a network without a head keeps its output.
    assert main(["map", "resnet18", "--input", "64x64", "--endpoint", "layer2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["endpoint"] == "layer2"
    assert main(["map", "conv3*5", "--input", "15", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["endpoint"] is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["map", "resnet18", "--input", "224"], "network is 2-D"),
        (["map", "resnet18", "--input", "224x224x3"], "looks like channels"),
        (["table", "conv3x3", "--input", "15"], "network is 2-D"),
        (["table", "conv3", "--input", "\uff11\uff15"], "ASCII digits"),
        (["table", "conv3", "--input", "1x2x3x4"], "spatial sizes only"),
        (["table", "conv3", "--input", "15.0"], "not a size"),
    ],
)
def test_input_sizes_say_what_was_expected(argv, message, capsys):
    assert message in one_line_error(capsys, *argv)


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["map", "conv3", "--metric", "nope"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--help" in err


@pytest.mark.parametrize(
    "pool, ok",
    [
        (rf.Pool(3, padding=1), True),
        (rf.Pool(2, padding=1), True),
        (rf.Pool(3, padding=2), False),
        (rf.Pool((3, 1), padding=1), False),
        (rf.Pool(3, dilation=2, padding=2), True),
        (rf.Pool(3, padding=((0, 2), (1, 1))), False),
    ],
)
def test_pool_padding_at_most_half_the_window(pool, ok):
    if ok:
        rf.receptive_field(pool, (15, 15))
    else:
        with pytest.raises(rf.RFGraphError, match="more than half the pooling window"):
            rf.receptive_field(pool, (15, 15))


def test_dump_json_never_writes_infinity():
    from rfgraph.cli._common import dump_json

    assert json.loads(dump_json({"a": [1, 2.5]})) == {"a": [1, 2.5]}
    for bad in (float("inf"), float("nan")):
        with pytest.raises(rf.RFGraphError, match="JSON cannot represent"):
            dump_json({"max": bad})
