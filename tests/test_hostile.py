"""Hostile input (issue 18): caps before allocation, safe output files, NumPy integer forms."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


# Issue 24: hostile input, second round ------------------------------------------------------
# Every case through the CLI in a subprocess under `prlimit --as=1500000000`: exit 2, one line on
# stderr, within a 15 s guard (a guard against a hang, not a speed assertion: the work is bounded
# by the caps of rfgraph.geometry.limits, so each case is refused before anything large exists).

_AS_LIMIT = 1_500_000_000


def _hostile_files(tmp: Path) -> dict[str, str]:
    digits = "9" * 5000
    (tmp / "bigint.json").write_text(json.dumps({"network": [{"type": "conv", "kernel_size": 1}]}).replace("1", digits))
    (tmp / "bigint.yaml").write_text("network:\n  - {type: conv, kernel_size: " + digits + "}\n")
    (tmp / "bigfloat.json").write_text(
        json.dumps({"network": [{"type": "conv", "kernel_size": 1}]}).replace("1", "1" + "0" * 5000 + ".5")
    )
    (tmp / "roll.json").write_text(json.dumps({"network": [{"type": "roll", "shift": 10**25}]}))
    (tmp / "wmix.json").write_text(json.dumps({"network": [{"type": "windowmix", "window": 5, "shift": 10**25}]}))
    os.symlink("/dev/zero", tmp / "zero.json")
    os.symlink("/dev/urandom", tmp / "urandom.yaml")
    os.symlink("/dev/zero", tmp / "zero.onnx")
    os.mkfifo(tmp / "fifo.json")
    os.mkfifo(tmp / "fifo.onnx")
    (tmp / "dir.json").mkdir()
    np.save(tmp / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    return {p.name: str(p) for p in tmp.iterdir()}


def _onnx_with_evil_op(path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Evil\nOp\x1b[2J", ["x"], ["y"], name="n\r1")
    graph = helper.make_graph([node], "g", [x], [y])
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    assert onnx.load(str(path)).graph.node[0].op_type.startswith("Evil")


HOSTILE_CLI = [
    ("JSON integer of 5,000 digits", ["table", "{bigint.json}", "--input", "15"]),
    ("YAML integer of 5,000 digits", ["table", "{bigint.yaml}", "--input", "15"]),
    ("JSON number of 5,000 digits", ["table", "{bigfloat.json}", "--input", "15"]),
    ("spec path -> /dev/zero", ["table", "{zero.json}", "--input", "15"]),
    ("spec path -> /dev/urandom", ["table", "{urandom.yaml}", "--input", "15"]),
    ("spec path is a FIFO", ["table", "{fifo.json}", "--input", "15"]),
    ("spec path is a directory", ["table", "{dir.json}", "--input", "15"]),
    ("ONNX path -> /dev/zero", ["table", "{zero.onnx}", "--input", "8x8"]),
    ("ONNX path is a FIFO", ["table", "{fifo.onnx}", "--input", "8x8"]),
    ("Roll shift 10^25 (JSON)", ["table", "{roll.json}", "--input", "15"]),
    ("WindowMix shift 10^25 (JSON)", ["table", "{wmix.json}", "--input", "15"]),
    ("roll shift 10^25 (spec)", ["table", "roll1" + "0" * 25, "--input", "15"]),
    ("wmix shift 10^25 (spec)", ["map", "wmix5s1" + "0" * 25, "--input", "15"]),
    ("ONNX op type with newline and ESC", ["table", "{evil.onnx}", "--input", "8x8"]),
    ("tile 10^6 x 10^6 --tile 1x1", ["tile", "conv3x3", "--input", "1000000x1000000", "--tile", "1x1"]),
    ("tile 10^6 x 10^6 --tile 10^6x1", ["tile", "conv3x3", "--input", "1000000x1000000", "--tile", "1000000x1"]),
    ("valid 10^6 x 10^6", ["valid", "conv3x3", "--input", "1000000x1000000"]),
    (
        "map conv3*3 300^3 all edges",
        ["map", "conv3*3", "--input", "300x300x300", "--target", "all", "--metric", "edges"],
    ),
    ("sizes conv3*99999", ["sizes", "conv3*99999"]),
    ("erf-model os:system", ["erf-model", "os:system"]),
    ("erf-model builtins:eval", ["erf-model", "builtins:eval"]),
    ("erf-model object-dtype .npy", ["erf-model", "torchvision:resnet18", "--images", "{objects.npy}"]),
]


def run_limited(argv: list[str], limit: int = _AS_LIMIT, timeout: float = 15.0) -> tuple[int, str, float]:
    """(exit status, stderr, seconds) of the CLI under ``prlimit --as=limit``."""
    import shutil
    import subprocess
    import sys
    import time

    prlimit = shutil.which("prlimit")
    if prlimit is None:  # pragma: no cover - util-linux is on every CI image
        pytest.skip("prlimit (util-linux) is not installed")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.monotonic()
    proc = subprocess.run(
        [prlimit, f"--as={limit}", sys.executable, "-m", "rfgraph.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return proc.returncode, proc.stderr, time.monotonic() - start


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    files = _hostile_files(tmp)
    _onnx_with_evil_op(tmp / "evil.onnx")
    files["evil.onnx"] = str(tmp / "evil.onnx")
    return files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and prlimit as on Linux CI")
@pytest.mark.parametrize("case, argv", HOSTILE_CLI, ids=[c for c, _ in HOSTILE_CLI])
def test_hostile_cli_table(case, argv, hostile_files):
    status, err, _ = run_limited([hostile_files[a[1:-1]] if a.startswith("{") else a for a in argv])
    assert status == 2, err[-800:]
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err
    assert err[:-1].isprintable(), err  # control characters escaped


def test_api_refuses_huge_shifts_and_escapes_names():
    with pytest.raises(rf.RFGraphError, match="shift=10,000,000"):
        rf.receptive_field(rf.Roll(10**25), (15,))
    with pytest.raises(rf.RFGraphError, match="shift=10,000,000"):
        rf.receptive_field(rf.WindowMix(5, shift=10**25), (15,))
    with pytest.raises(rf.RFGraphError, match="shift=10,000,000"):
        rf.receptive_field(rf.Roll((3, -(10**25))), (15, 15))
    # a shift beyond the size is cyclic, as torch.roll
    np.testing.assert_array_equal(rf.reach(rf.Roll(1003), (15,)), rf.reach(rf.Roll(1003 % 15), (15,)))
    net = network_from_dict([{"type": "conv", "kernel_size": 3, "name": "evil\nname\x1b[31m"}])
    records = rf.receptive_field(net, (15,))
    assert records[-1].name == "evil\\nname\\x1b[31m"
    assert str(rf.RFGraphError("a\nb\x1b")) == "a\\nb\\x1b"


def test_table_escapes_control_characters(tmp_path, capsys):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"network": [{"type": "conv", "kernel_size": 3, "name": "a\nb\x1b[2J"}]}))
    assert main(["table", str(spec), "--input", "15"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "a\\nb\\x1b[2J" in out and len(out.splitlines()) == 4


def test_library_warnings_are_one_line(monkeypatch, capsys):
    import warnings

    from rfgraph.cli import table as table_cli

    real = table_cli.cmd_table

    def noisy(args):
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        warnings.warn("another", DeprecationWarning, stacklevel=1)
        return real(args)

    monkeypatch.setattr(table_cli, "cmd_table", noisy)  # registered anew by main()
    assert main(["table", "conv3", "--input", "15"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: first line (and 1 more)" in err

    def failing(args):
        warnings.warn("noise", UserWarning, stacklevel=1)
        raise rf.RFGraphError("bad\ninput")

    monkeypatch.setattr(table_cli, "cmd_table", failing)
    assert main(["table", "conv3", "--input", "15"]) == 2
    err = capsys.readouterr().err
    assert err == "rfgraph table: error: bad\\ninput\n"


def test_fifo_and_devices_are_refused_in_python(tmp_path):
    from rfgraph.importers._files import read_bounded
    from rfgraph.importers.load import load_network

    fifo = tmp_path / "net.json"
    os.mkfifo(fifo)
    with pytest.raises(rf.RFGraphError, match="FIFO"):
        load_network(str(fifo))
    with pytest.raises(rf.RFGraphError, match="character device"):
        read_bounded("/dev/urandom", 100, "file")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(rf.RFGraphError, match="too large"):
        read_bounded(big, 100, "file")
    assert read_bounded(big, 101, "file") == b"x" * 101
