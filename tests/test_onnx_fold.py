"""ONNX exports whose geometry is computed from the input shape, and spatial softmax attention.

TF-style "same" padding (timm's ``Conv2dSame``, ``tf_efficientnet_*``) computes its pads with
``Shape``/``Ceil``/``Clip``/``Cast`` arithmetic in an unoptimised export; the importer folds it
with the static input shape.  A softmax over spatial positions (gcresnet's global context
attention) couples them, as :func:`rfgraph.from_torch` says.  Each import is checked against
the support of torch's input gradient and against ``from_torch`` of the same module.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pytest

import rfgraph as rf

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper  # noqa: E402


def _export(model: Any, shape: tuple[int, ...], channels: int = 3) -> bytes:
    """TorchScript-based export: shape arithmetic left in the graph, as users' exports have it."""
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(1, channels, *shape),), f, dynamo=False)
    return f.getvalue()


def _gradient_support(
    model: Any, shape: tuple[int, ...], target: tuple[int, ...], channels: int = 3, inputs: int = 1
) -> np.ndarray:
    """Pixels with a non-zero input gradient of the target (summed over ``inputs`` random inputs:
    a ReLU can zero one input's gradient where a path exists)."""
    x = torch.randn(inputs, channels, *shape, dtype=torch.float64, requires_grad=True)
    y = model.double()(x)
    index = (slice(None), slice(None), *target) if y.ndim > 2 else (slice(None), 0)
    (g,) = torch.autograd.grad(y[index].sum(), x)
    model.float()
    return (g.abs().sum((0, 1)) > 0).numpy()


def _randomize(model: Any) -> Any:
    """Every weight random and non-zero: timm zero-initialises some (gcresnet's context MLP, the last
    BatchNorm gain of a residual block), which would zero gradients where paths exist."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2 + 0.05)
    return model


def _same_pad_net() -> Any:
    timm_layers = pytest.importorskip("timm.layers")
    torch.manual_seed(0)
    return torch.nn.Sequential(
        timm_layers.Conv2dSame(3, 4, 3, stride=2),
        timm_layers.Conv2dSame(4, 4, 4, stride=2, dilation=1),
        timm_layers.Conv2dSame(4, 2, 5, stride=1, dilation=2),
    )


def test_tf_same_padding_folds_with_the_static_shape() -> None:
    model = _same_pad_net()
    for shape in [(17, 14), (16, 16)]:
        net = rf.from_onnx(_export(model, shape))  # "pads are not constant" before
        out = rf.build_plan(net, shape).output.shape
        for target in [(0, 0), (out[0] - 1, out[1] - 1), (out[0] // 2, out[1] // 2), (0, out[1] - 1)]:
            assert (rf.reach(net, shape, target) == _gradient_support(model, shape, target)).all(), (shape, target)
        a, b = rf.receptive_field(net, shape)[-1], rf.receptive_field(rf.from_torch(model, shape), shape)[-1]
        assert (a.size, a.stride, a.padding, a.center) == (b.size, b.stride, b.padding, b.center)


class _GlobalContext(torch.nn.Module):
    """gcresnet's attention: a softmax over every position weighs a sum of the features, added back."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3)
        self.attn = torch.nn.Conv2d(4, 1, 1)
        self.fc = torch.nn.Conv2d(4, 4, 1)
        self.head = torch.nn.Conv2d(4, 2, 3)

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        b, c, h, w = x.shape
        weights = self.attn(x).reshape(b, 1, h * w).softmax(dim=-1).unsqueeze(-1)
        context = (x.reshape(b, c, h * w).unsqueeze(1) @ weights).reshape(b, c, 1, 1)
        return self.head(x + self.fc(context))


def test_spatial_softmax_attention_is_global_context_as_from_torch() -> None:
    torch.manual_seed(0)
    model, shape = _GlobalContext(), (12, 10)
    net = rf.from_onnx(_export(model, shape))  # "Softmax works along spatial axis -1" before
    assert (rf.reach(net, shape) == rf.reach(rf.from_torch(model, shape), shape)).all()
    assert (rf.reach(net, shape) == _gradient_support(model, shape, (5, 4))).all()
    assert rf.receptive_field(net, shape)[-1].global_context


def test_softmax_before_opset_13_normalises_every_later_axis() -> None:
    # opset 11: Softmax(axis=1) on (1, C, H, W) flattens C*H*W: every position reads every position
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 5, 5])
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], "g", [x], [y])
    old = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    assert rf.reach(rf.from_onnx(old.SerializeToString()), (5, 5)).all()
    new = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    assert rf.reach(rf.from_onnx(new.SerializeToString()), (5, 5)).sum() == 1  # channels only


@pytest.mark.slow
def test_tf_efficientnet_b0_imports_with_reach_equal_to_gradient() -> None:
    timm = pytest.importorskip("timm")
    import copy

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_b0", pretrained=False).eval()
    b0, b1 = model.blocks[0][0], model.blocks[1][0]
    stem = copy.deepcopy(
        torch.nn.Sequential(model.conv_stem, model.bn1, b0.conv_dw, b0.conv_pw, b1.conv_pw, b1.conv_dw)
    )
    shape = (65, 63)
    net = rf.from_onnx(_export(stem, shape))
    out = rf.build_plan(net, shape).output.shape
    for target in [(0, 0), (out[0] - 1, out[1] - 1), (out[0] // 2, out[1] // 2), (0, out[1] - 1)]:
        assert (rf.reach(net, shape, target) == _gradient_support(stem, shape, target)).all(), target
    shape = (64, 64)
    full = rf.from_onnx(_export(model, shape))
    assert (rf.reach(full, shape) == _gradient_support(model, shape, ())).all()
    a, b = rf.receptive_field(full, shape)[-1], rf.receptive_field(rf.from_torch(model, shape), shape)[-1]
    assert (a.size, a.stride, a.padding, a.global_context) == (b.size, b.stride, b.padding, b.global_context)


@pytest.mark.slow
def test_gcresnet_through_onnx_reaches_what_from_torch_reaches() -> None:
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model, shape = _randomize(timm.create_model("gcresnet33ts", pretrained=False).eval()), (64, 64)
    net = rf.from_onnx(_export(model, shape))
    assert (rf.reach(net, shape) == rf.reach(rf.from_torch(model, shape), shape)).all()
    assert (rf.reach(net, shape) == _gradient_support(model, shape, (), inputs=4)).all()
