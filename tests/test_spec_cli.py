"""The compact spec grammar, network files and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.cli import main
from rfgraph.spec import network_from_dict, network_to_dict


def test_grammar():
    assert rf.parse_spec("conv3s2p1,pool3s2c") == rf.Sequential(
        rf.Conv(3, stride=2, padding=1), rf.Pool(3, stride=2, ceil_mode=True)
    )
    assert rf.parse_spec("conv3x5s2x1psame") == rf.Sequential(rf.Conv((3, 5), stride=(2, 1), padding="same"))
    assert rf.parse_spec("(conv3,pool2)*2") == rf.Sequential(rf.Conv(3), rf.Pool(2), rf.Conv(3), rf.Pool(2))
    net = rf.parse_spec("res:b1(conv3p1,conv3p1|conv1), cat(id|conv3p1|up2,pool2), deconv4s2p1o1, up2linear, gap")
    assert net.ops[0] == rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), rf.Conv(1), name="b1")
    assert net.ops[1] == rf.Concat(rf.Identity(), rf.Conv(3, padding=1), rf.Sequential(rf.Upsample(2), rf.Pool(2)))
    assert net.ops[2] == rf.ConvTranspose(4, stride=2, padding=1, output_padding=1)
    assert net.ops[3] == rf.Upsample(2, mode="linear") and net.ops[4] == rf.GlobalPool()
    assert rf.parse_spec("conv3:first").ops[0].name == "first"


@pytest.mark.parametrize(
    "text, message",
    [
        ("conv", "cannot read layer 'conv'"),
        ("conv3,,pool2", "expected a layer"),
        ("conv3*0", "positive repeat count"),
        ("add(conv3", "expected ')'"),
        ("up2s2", "upsampling takes only a factor"),
        ("conv3o1", "only for deconv"),
        ("", "is empty"),
    ],
)
def test_grammar_errors(text, message):
    with pytest.raises(rf.RFGraphError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        rf.parse_spec(text)


def test_dict_round_trip_and_files(tmp_path):
    net = rf.parse_spec("conv3s2p1:c1, res(conv3p1,conv3p1|conv1), cat(id|conv3x1p1x0), up2linear, gpool")
    assert network_from_dict(json.loads(json.dumps(network_to_dict(net)))) == net
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"network": network_to_dict(net)}))
    assert rf.load_network(str(path)) == net
    yaml = pytest.importorskip("yaml")
    ypath = tmp_path / "net.yaml"
    ypath.write_text(yaml.safe_dump([{"type": "conv", "kernel_size": 3, "name": "c"}, "pool2"]))
    assert rf.load_network(str(ypath)) == rf.Sequential(rf.Conv(3, name="c"), rf.Sequential(rf.Pool(2)))
    with pytest.raises(rf.RFGraphError, match="unknown type 'dense'"):
        network_from_dict({"type": "dense"})
    with pytest.raises(rf.RFGraphError, match="does not exist"):
        rf.load_network(str(tmp_path / "missing.json"))


def test_cli_profile_and_map(tmp_path, capsys):
    assert main(["profile", "conv3*5", "--input", "15"]) == 0
    assert capsys.readouterr().out.split() == "5 13 24 31 36 37 36 31 24 13 5".split()
    assert main(["profile", "conv3*5", "--input", "15", "--metric", "paths"]) == 0
    assert capsys.readouterr().out.split() == "1 5 15 30 45 51 45 30 15 5 1".split()
    out = tmp_path / "m.npy"
    assert main(["map", "conv3*5", "--input", "15x15", "--out", str(out)]) == 0
    assert np.load(out)[7, 7] == 349
    assert "written to" in capsys.readouterr().out
    assert main(["map", "conv3*5", "--input", "15x15", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max"] == 349


def test_cli_table(capsys):
    assert main(["table", "conv11s4,pool3s2,conv5p2", "--input", "227x227"]) == 0
    text = capsys.readouterr().out
    assert "conv2" in text and "51" in text
    assert main(["table", "conv3,conv3", "--input", "9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[-1]["size"] == [5]
    assert "notes:" not in text  # only token mixers get notes


def test_cli_table_says_why_window_attention_is_not_uniform(capsys):
    assert main(["table", "conv4s4,wmix4,wmix4s2d2,gmix", "--input", "64x64"]) == 0
    notes = capsys.readouterr().out.split("notes:\n")[1].splitlines()
    assert notes == [
        "  wmix1: window attention, windows of 4 positions: the field grows by whole windows, "
        "so its size depends on the position (uniform: no)",
        "  wmix2: window attention, windows of 4 positions 2 apart (dilated windows), shifted by 2: "
        "the field grows by whole windows, so its size depends on the position (uniform: no)",
        "  gmix1: global attention: every position reads every position of its input (global: yes)",
    ]
    assert main(["table", "conv4s4,wmix4", "--input", "32x32", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)  # --json stays the records only
    assert [r["name"] for r in rows] == ["input", "conv1", "wmix1"] and rows[-1]["uniform"] is False


@pytest.mark.parametrize(
    "argv, message",
    [
        (["table", "conv0", "--input", "5"], "kernel_size=0"),
        (["table", "conv3", "--input", "abc"], "--input 'abc' is not a size"),
        (["map", "conv3", "--input", "2"], "output size would be 0"),
        (["profile", "conv3*5", "--input", "15", "--target", "9"], "outside the output"),
        (["map", "conv3", "--input", "9", "--out", "x.bmpx"], "unknown extension"),
        (["table", "conv3"], "needs --input"),
    ],
)
def test_cli_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_demo_runs():
    result = subprocess.run([sys.executable, "-m", "rfgraph.cli", "demo"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "5 13 24 31 36 37 36 31 24 13 5" in result.stdout and "centre 349" in result.stdout


def test_demo_json(capsys):
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile_edges"] == [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
    assert data["profile_2d"] == {"centre": 349, "corner": 5, "paths_centre": 2601}
    assert data["vgg16_pool5"]["size"] == [212, 212]


def test_unknown_name_suggests_zoo_networks(capsys):
    assert main(["table", "resnet5"]) == 2
    assert "did you mean the zoo network 'resnet50'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["table", "conv3", "--input", "100000000000"], "at most 1,000,000 positions per axis"),
        (["table", "conv200000p100000", "--input", "200000"], "index pairs, above rfgraph's limits"),
        (["map", "conv3*5", "--input", "15", "--out", "{tmp}/missing/y.npy"], "cannot access"),
        (["graph", "conv3*5", "--input", "15", "--out", "{tmp}/afile/y.png"], "cannot access"),
        (["table", "{tmp}/bad.yaml", "--input", "15"], "invalid YAML"),
        (["table", "{tmp}/dir.json", "--input", "15"], "cannot read"),
        (["table", "{tmp}/layers.json", "--input", "15"], "'layers' must be a list"),
    ],
)
def test_cli_bad_files_and_sizes_are_one_line_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "bad.yaml").write_text(": - :")
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "layers.json").write_text('{"type": "sequential", "layers": "conv3"}')
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_zoo_networks_follow_the_input_size(capsys):
    assert main(["map", "deeplabv3_resnet50", "--input", "256x256", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [256, 256]


def test_map_picture_of_a_non_uniform_field_draws_the_exact_field(tmp_path, monkeypatch):
    # conv3s2p1 then deconv4s2p1: fields step irregularly (uniform False); the box drawn must be the
    # bounding box of the exact field (the map's support), not the arithmetic's largest window.
    pytest.importorskip("matplotlib")
    seen = {}
    import rfgraph.plot as plot

    real = plot.save_map_figure

    def spy(values, out, records=None, **kw):
        seen["box"] = records
        return real(values, out, records=records, **kw)

    monkeypatch.setattr(plot, "save_map_figure", spy)
    out = tmp_path / "m.png"
    assert main(["map", "conv3s2p1,deconv4s2p1", "--input", "64", "--target", "21", "--out", str(out)]) == 0
    values = rf.contribution_map(rf.parse_spec("conv3s2p1,deconv4s2p1"), (64,), target=(21,))
    nz = np.flatnonzero(values)
    assert seen["box"] == ((int(nz[0]), int(nz[-1])),)
    assert plot.exact_box(values) == seen["box"]
