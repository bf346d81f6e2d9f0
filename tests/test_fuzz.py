"""Fuzzing hostile input (issue 18): the spec grammar, CLI arguments, ONNX attribute mutations
and truncations.  Every input either works or raises ``RFGraphError`` (exit 2 with one line from
the CLI); never another exception.

Time and memory are bounded by construction, not asserted: the in-process cases stay under the
caps of :mod:`rfgraph.geometry.limits` (small inputs), and the CLI cases run in a subprocess with an
address-space limit (``resource.RLIMIT_AS``); its timeout is only a guard against a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfgraph as rf
from rfgraph.cli import main
from rfgraph.spec import parse_spec

FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_TOKENS = [
    "conv",
    "pool",
    "maxpool",
    "deconv",
    "up",
    "res(",
    "add(",
    "cat(",
    "(",
    ")",
    "|",
    ",",
    "*",
    ":",
    "x",
    "s",
    "p",
    "d",
    "o",
    "c",
    "same",
    "linear",
    "gpool",
    "id",
    "0",
    "1",
    "3",
    "99999999999999999999",
    "500000000",
    "１",
    " ",
    # index ops of the grammar
    "resize",
    "pad",
    "slice",
    "to",
    "apool",
    "shuffle",
    "unshuffle",
    "roll",
    "flip",
    "wmix",
    "gmix",
    "cat1(",
    "-",
    ".",
    "5",
    "reflect",
]


@st.composite
def spec_texts(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=30)))


def _works_or_refuses(spec: str, shape: tuple[int, ...] = (15,)) -> None:
    try:
        net = parse_spec(spec)
        rf.receptive_field(net, shape)
    except rf.RFGraphError as err:
        assert str(err) and "\n" not in str(err)


@FAST
@given(spec_texts())
def test_spec_grammar_fuzz(spec):
    _works_or_refuses(spec)


@FAST
@given(st.text(max_size=40))
def test_spec_any_text(spec):
    _works_or_refuses(spec)


@FAST
@given(
    st.sampled_from(["conv", "pool", "deconv", "up", "resize", "pad", "apool", "shuffle", "wmix", "roll", "slice"]),
    st.integers(0, 10**30),
    st.sampled_from(["", "s", "d", "p", "o", "*"]),
    st.integers(0, 10**30),
)
def test_huge_numbers_are_refused_cheaply(kind, k, mod, value):
    # Every number up to 10**30 in every position: nothing proportional to it is allocated,
    # since the caps are compared with exact integers first.
    _works_or_refuses(f"{kind}{k}{mod}{value}" if mod else f"{kind}{k}", (15,))


_INPUTS = st.one_of(
    st.sampled_from(["15", "224x224", "224x224x3", "0", "-1", "１５", "", "x", "15.0", "nan", "1e3", "99999999999999"]),
    st.text(max_size=8),
)


def _run(capsys, *argv: str) -> None:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    err = capsys.readouterr().err
    assert status in (0, 2)
    if status == 2:
        assert err.count("\n") == 1 and "Traceback" not in err


@FAST
@given(text=_INPUTS, command=st.sampled_from(["table", "map", "profile", "erf"]), joined=st.booleans())
def test_cli_inputs_fuzz(text, command, joined, capsys):
    _run(capsys, command, "conv3", *([f"--input={text}"] if joined else ["--input", text]))


@FAST
@given(text=st.text(max_size=8), command=st.sampled_from(["map", "profile"]))
def test_cli_targets_fuzz(text, command, capsys):
    _run(capsys, command, "conv3", "--input", "15", f"--target={text}")


@FAST
@given(
    argv=st.lists(
        st.sampled_from(["map", "--out", "--force", "-x", "--metric", "nope", "conv3", "--input"]), max_size=6
    )
)
def test_cli_argument_soup(argv, capsys):
    _run(capsys, *argv)


# -- the CLI in a subprocess with bounded memory -------------------------------------------

_LIMIT = 1_500_000_000

_HOSTILE = [
    ["table", "conv99999999999999999999", "--input", "15"],
    ["table", "conv500000000", "--input", "15"],
    ["table", "conv3d99999999999999999999", "--input", "15"],
    ["table", "conv3*99999999", "--input", "15"],
    ["table", "(conv3p1*1000)*1000", "--input", "15"],
    ["table", "res(" * 250 + "conv1" + ")" * 250, "--input", "15"],
    pytest.param(["table", "conv11*2000", "--input", "1000000"], marks=pytest.mark.slow),  # ~1 GB, 10 s
    ["map", "conv50", "--input", "1000000"],
    ["table", "up100000", "--input", "100000"],
]


def _limited() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (_LIMIT + 2_000_000_000, _LIMIT + 2_000_000_000))


@pytest.mark.skipif(sys.platform != "linux", reason="resource limits as on CI")
@pytest.mark.parametrize("argv", _HOSTILE, ids=lambda a: str(a[1])[:24])
def test_cli_hostile_bounded(argv):
    # RLIMIT_AS bounds virtual memory (numba/LLVM reserve some address space up front, hence the
    # margin above the 1.5 GB resident budget); the timeout only guards against a hang.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "rfgraph.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# -- ONNX ------------------------------------------------------------------------------------


def _model(attrs: dict, op: str = "Conv", spatial=(8, 8), extra_inputs=(), initializers=None):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, *spatial])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inputs = ["x", "w"] if op in ("Conv", "ConvTranspose") else ["x", *extra_inputs]
    node = helper.make_node(op, inputs, ["y"], name="/layer/" + op, **attrs)
    if initializers is None:
        initializers = []
        if op in ("Conv", "ConvTranspose"):
            initializers = [helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.0] * 108)]
    return helper.make_model(helper.make_graph([node], "g", [x], [y], initializers))


def _import_refuses(model, match: str | None = None) -> None:
    with pytest.raises(rf.RFGraphError, match=match) as info:
        rf.from_onnx(model)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "attrs, match",
    [
        ({"kernel_shape": [3, 3, 3]}, "kernel_shape has 3 entries"),  # was silently 3x3
        ({"kernel_shape": [3]}, "kernel_shape has 1 entries"),
        ({"kernel_shape": [3, 3], "pads": [1, 1]}, "pads has 2 entries"),
        ({"kernel_shape": [2**40, 2**40]}, "1,000,000"),
        ({"kernel_shape": [3, 3], "strides": [0, 1]}, "strides"),
        ({"kernel_shape": [3, 3], "dilations": [1, 1, 1]}, "dilations"),
        ({"kernel_shape": [3, 3], "auto_pad": "BOGUS"}, "auto_pad"),
        ({"kernel_shape": [3, 3], "pads": [-1, 0, 0, 0]}, "pads"),
    ],
)
def test_onnx_conv_attributes_validated(attrs, match):
    pytest.importorskip("onnx")
    _import_refuses(_model(attrs), match)


def test_onnx_pool_without_kernel_shape():
    pytest.importorskip("onnx")
    _import_refuses(_model({}, "MaxPool"), "kernel_shape is missing")
    _import_refuses(_model({"kernel_shape": [2, 2], "ceil_mode": 5}, "MaxPool"), "ceil_mode")


def test_onnx_resize_and_slice_shapes():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    scales = helper.make_tensor("scales", TensorProto.FLOAT, [2], [2.0, 2.0])
    model = _model({}, "Resize", extra_inputs=["", "scales"], initializers=[scales])
    _import_refuses(model)
    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [1])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [7])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    model = _model({}, "Slice", extra_inputs=["starts", "ends", "axes"], initializers=[starts, ends, axes])
    _import_refuses(model, "axes must hold 1 ints")


def test_onnx_initializer_dims_not_matching_data():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [1])
    starts.dims[:] = [3]  # dims say 3 values, the data holds 1
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [7])
    model = _model({}, "Slice", extra_inputs=["starts", "ends"], initializers=[starts, ends])
    _import_refuses(model)


def test_onnx_non_string_scopes_metadata_is_ignored():
    pytest.importorskip("onnx")
    model = _model({"kernel_shape": [3, 3]})
    for value in ("[1, 2, 3]", "{'a': 1}", "not python", "[" * 100):
        prop = model.graph.node[0].metadata_props.add()
        prop.key, prop.value = "pkg.torch.onnx.name_scopes", value
        assert rf.from_onnx(model) == rf.Sequential(rf.Conv(3, name="layer"))
        del model.graph.node[0].metadata_props[:]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_onnx_truncations_and_byte_flips(data):
    pytest.importorskip("onnx")
    raw = _model({"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}).SerializeToString()
    cut = data.draw(st.integers(0, len(raw) - 1))
    mutated = bytearray(raw[:cut]) if data.draw(st.booleans()) else bytearray(raw)
    if mutated and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(mutated) - 1))
        mutated[i] = data.draw(st.integers(0, 255))
    try:
        rf.from_onnx(bytes(mutated), (8, 8))
    except rf.RFGraphError as err:
        assert "\n" not in str(err)


_ATTR_VALUES = st.one_of(
    st.lists(st.integers(-3, 2**41), max_size=5),
    st.integers(-3, 5),
    st.sampled_from(["SAME_UPPER", "VALID", "x", ""]),
    st.floats(allow_nan=True),
)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["Conv", "ConvTranspose", "MaxPool", "AveragePool"]),
    st.dictionaries(
        st.sampled_from(["kernel_shape", "strides", "pads", "dilations", "auto_pad", "ceil_mode", "output_padding"]),
        _ATTR_VALUES,
        max_size=4,
    ),
)
def test_onnx_attribute_mutations(op, attrs):
    pytest.importorskip("onnx")
    try:
        model = _model(attrs, op)
    except (ValueError, TypeError):  # onnx.helper refuses to build it at all
        return
    try:
        rf.from_onnx(model, (8, 8))
    except rf.RFGraphError as err:
        assert "\n" not in str(err)
