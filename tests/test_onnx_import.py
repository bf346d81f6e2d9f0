"""rf.from_onnx: torchvision exports against rf.from_torch, and every supported ONNX construct."""

from __future__ import annotations

import io
import warnings
from typing import Any

import pytest

import rfgraph as rf
from rfgraph.cli import main

from .plan_compare import assert_same_graph, plans_equivalent, without_nested_concats

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")


def _export(model: Any, shape: tuple[int, ...]) -> bytes:
    """TorchScript-based export: quick, offline, static shapes."""
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(1, 3, *shape),), f, dynamo=False)
    return f.getvalue()


# torchvision constructor, keyword arguments, input (small: the import is compared to the torch import
# of the very same model, so any size the architecture accepts will do)
EXPORTS = {
    "resnet18": (tvm.resnet18, {}, (64, 64)),
    "densenet121": (tvm.densenet121, {}, (64, 64)),
    "mobilenet_v2": (tvm.mobilenet_v2, {}, (64, 64)),
    "inception_v3": (tvm.inception_v3, {"aux_logits": False, "init_weights": False}, (96, 96)),
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_onnx_import_equals_torch_import(name: str) -> None:
    constructor, kwargs, shape = EXPORTS[name]
    model = constructor(weights=None, **kwargs)
    from_onnx = rf.build_plan(rf.from_onnx(_export(model, shape)), shape)  # input size read from the graph
    from_torch = rf.build_plan(rf.from_torch(model, shape), shape)
    if name == "inception_v3":
        # the exporter flattens cat([a, cat([b, c])]) into one Concat (Mixed_7b/7c): 4 fewer merge layers
        assert len(from_torch.tensors) - len(from_onnx.tensors) == 4
        from_torch = without_nested_concats(from_torch)
    assert plans_equivalent(from_onnx, from_torch)
    if name == "resnet18":  # module scopes in node names give torch's tensor names
        assert_same_graph(from_onnx, from_torch, by_name=True)


def test_onnx_file_zoo_style_names_and_cli(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "resnet18.onnx"
    path.write_bytes(_export(tvm.resnet18(weights=None), (64, 64)))
    net = rf.load_network(str(path))
    assert rf.build_plan(net, (64, 64)).tensor("layer4").name == "layer4.1"
    assert main(["table", str(path), "--endpoint", "layer2"]) == 0  # --input taken from the graph
    assert "layer2.1" in capsys.readouterr().out
    assert rf.build_plan(rf.from_onnx(path, (96, 96)), (96, 96)).output.shape == (1, 1)


# --- hand-built graphs ----------------------------------------------------------------------


def _model(
    nodes: list[Any], inits: list[Any] = (), dims: Any = (1, 1, 16, 16), outputs: Any = ("y",), opset: int = 18
) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims) if dims is not None else None)
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    graph = helper.make_graph(nodes, "g", [x], ys, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _w(name: str, *dims: int) -> Any:
    return helper.make_tensor(name, TensorProto.FLOAT, list(dims), [0.0] * int(__import__("math").prod(dims)))


def _ints(name: str, values: list[int]) -> Any:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def _floats(name: str, values: list[float]) -> Any:
    return helper.make_tensor(name, TensorProto.FLOAT, [len(values)], values)


def _same(model: Any, shape: tuple[int, ...], expected: rf.Op) -> rf.Op:
    net = rf.from_onnx(model, shape)
    assert plans_equivalent(rf.build_plan(net, shape), rf.build_plan(expected, shape)), net
    return net


def test_auto_pad_and_pools() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[4, 4], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["a", "w2"], ["b"], kernel_shape=[4, 4], auto_pad="SAME_LOWER"),
        helper.make_node(
            "AveragePool", ["b"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 0], ceil_mode=1
        ),
        helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], auto_pad="VALID"),
    ]
    expected = rf.Sequential(
        rf.Conv(4, stride=2, padding="same"),
        rf.Conv(4, padding=((2, 1), (2, 1))),
        rf.Pool(3, stride=2, padding=((0, 1), (1, 0)), ceil_mode=True),
        rf.Pool(2, stride=1),
    )
    _same(_model(nodes, [_w("w", 2, 1, 4, 4), _w("w2", 2, 2, 4, 4)]), (16, 16), expected)


def test_resize_slice_pad_and_merges() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["a", "", "scales"], ["up"], mode="nearest"),
        helper.make_node(
            "Resize", ["a", "", "scales"], ["lin"], mode="linear", coordinate_transformation_mode="half_pixel"
        ),
        helper.make_node("Sum", ["up", "lin", "up"], ["s"]),
        helper.make_node("Slice", ["s", "starts", "ends", "axes"], ["cut"]),
        helper.make_node("Pad", ["cut", "pads"], ["y"]),
    ]
    inits = [
        _w("w", 1, 1, 3, 3),
        _floats("scales", [1, 1, 2, 2]),
        _ints("starts", [0, 2]),
        _ints("ends", [1, -2]),
        _ints("axes", [1, 2]),
        _ints("pads", [0, 0, 0, -1, 0, 0, 0, -3]),
    ]
    expected = rf.Sequential(
        rf.Conv(3, padding=1, name="a"),
        rf.Upsample(2, name="up"),
        rf.Ref("a"),
        rf.Upsample(2, mode="linear", name="lin"),
        rf.Add(rf.Ref("up"), rf.Identity()),
        rf.Crop(((2, 2), (0, 0))),
        rf.Crop(((0, 0), (1, 3))),
    )
    _same(_model(nodes, inits, dims=(1, 1, 8, 8)), (8, 8), expected)


def test_heads_reshape_gemm_and_global_pool() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3]),
        helper.make_node("Reshape", ["a", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["h"]),
        helper.make_node("MatMul", ["h", "fc2"], ["y"]),
    ]
    inits = [_w("w", 2, 1, 3, 3), _ints("shape", [1, -1]), _w("fc", 4, 72), _w("fc2", 4, 3)]
    _same(_model(nodes, inits, dims=(1, 1, 8, 8)), (8, 8), rf.Sequential(rf.Conv(3), rf.GlobalPool(), rf.Conv(1)))
    pooled = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3]),
        helper.make_node("ReduceMean", ["a", "axes"], ["y"], keepdims=0),
    ]
    _same(
        _model(pooled, [_w("w", 2, 1, 3, 3), _ints("axes", [2, 3])], dims=(1, 1, 8, 8)),
        (8, 8),
        rf.Sequential(rf.Conv(3), rf.GlobalPool()),
    )


def test_names_from_torch_name_scopes_metadata() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="node_Conv_7", kernel_shape=[3, 3])
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']"
    net = rf.from_onnx(_model([node], [_w("w", 1, 1, 3, 3)]))
    assert net.ops[0].name == "layer1.0.conv1"
    assert rf.build_plan(net, (16, 16)).tensor("layer1").name == "layer1.0.conv1"


def test_resize_modes_pad_modes_strided_slices_and_depth_to_space() -> None:
    """The index-map ops through the shared table (issue 10): ONNX gains what from_torch has."""
    shape = (16, 16)
    corners = [
        helper.make_node(
            "Resize", ["x", "", "scales"], ["y"], mode="linear", coordinate_transformation_mode="align_corners"
        )
    ]
    assert rf.from_onnx(_model(corners, [_floats("scales", [1, 1, 1.5, 1.5])])).ops[-1] == rf.Resize(
        size=24, mode="linear", align_corners=True, name="resize"
    )
    half = [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic")]
    assert rf.from_onnx(_model(half, [_floats("scales", [1, 1, 0.75, 0.75])])).ops[-1] == rf.Resize(
        scale_factor=0.75, mode="cubic", name="resize"
    )
    reflect = [helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")]
    net = rf.from_onnx(_model(reflect, [_ints("pads", [0, 0, 1, 2, 0, 0, 1, 2])]))
    assert net.ops[-1] == rf.Pad(((1, 1), (2, 2)), mode="reflect", name="pad")
    focus = [helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"])]
    inits = [_ints("s", [0, 1]), _ints("e", [16, 16]), _ints("a", [2, 3]), _ints("st", [2, 2])]
    net = rf.from_onnx(_model(focus, inits))
    assert rf.build_plan(net, shape).output.shape == (8, 8)
    s2d = [helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)]
    assert rf.from_onnx(_model(s2d)).ops[-1] == rf.PixelUnshuffle(2, name="spacetodepth")
    cat = [helper.make_node("Concat", ["x", "x2"], ["y"], axis=3), helper.make_node("Relu", ["x"], ["x2"])]
    assert rf.build_plan(rf.from_onnx(_model(cat[::-1])), shape).output.shape == (16, 32)


def test_errors_name_the_node_and_suggest_a_fix() -> None:
    bad = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3]),
        helper.make_node("GridSample", ["a", "grid"], ["y"], name="gs"),
    ]
    grid = helper.make_tensor("grid", TensorProto.FLOAT, [1, 4, 4, 2], [0.0] * 32)
    model = _model(bad, [_w("w", 1, 1, 3, 3), grid])
    with pytest.raises(rf.RFGraphError, match=r"'gs' \(GridSample\) is not supported.*identity=\('GridSample',\)"):
        rf.from_onnx(model)
    with pytest.raises(rf.RFGraphError, match="not pointwise, so identity= cannot ignore it"):
        rf.from_onnx(model, identity=["GridSample"])
    custom = [bad[0], helper.make_node("Swish", ["a"], ["y"], name="act", domain="custom")]
    with pytest.raises(rf.RFGraphError, match=r"'act' \(Swish\) is not supported"):
        rf.from_onnx(_model(custom, [_w("w", 1, 1, 3, 3)]))
    assert len(rf.from_onnx(_model(custom, [_w("w", 1, 1, 3, 3)]), identity=["Swish"]).ops) == 1
    with pytest.raises(rf.RFGraphError, match="dynamic spatial size.*input_shape"):
        rf.from_onnx(_model(bad[:1], [_w("w", 1, 1, 3, 3)], dims=(1, 1, "h", "w")))
    pad = [helper.make_node("Pad", ["x", "pads"], ["y"])]
    with pytest.raises(rf.RFGraphError, match="pads a non-spatial axis"):
        rf.from_onnx(_model(pad, [_ints("pads", [0, 1, 1, 1, 0, 0, 1, 1])]))
    lin = [
        helper.make_node(
            "Resize", ["x", "", "scales"], ["y"], mode="linear", coordinate_transformation_mode="tf_crop_and_resize"
        )
    ]
    with pytest.raises(rf.RFGraphError, match="tf_crop_and_resize.*no torch equivalent"):
        rf.from_onnx(_model(lin, [_floats("scales", [1, 1, 2, 2])]))
    with pytest.raises(rf.RFGraphError, match="does not exist"):
        rf.from_onnx("/nonexistent/model.onnx")
    with pytest.raises(rf.RFGraphError, match="rank 4"):
        rf.from_onnx(_model(bad[:1], [_w("w", 1, 1, 3, 3)]), (16,))
