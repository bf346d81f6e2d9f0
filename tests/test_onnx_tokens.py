"""Issue 15 through ONNX: exports of ViT, DeiT, CoAtNet, EfficientFormer and hand-written attention.

``rf.from_onnx`` of the export must give the graph ``rf.from_torch`` gives for the model itself:
the same plan, the same ``rf.reach`` of the centre at the output and at an inner end-point, and
that reach is the support of torch's input gradient of the linearised float64 model.  Exports
are made offline (random weights) once per session and shared by the tests of a model.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import rfgraph as rf

from .plan_compare import plans_equivalent

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
nn = torch.nn


class _ClassTokenViT(nn.Module):
    """A small ViT: class token, position embedding, ``nn.MultiheadAttention``, the class token read."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, c, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, c))
        self.pos = nn.Parameter(torch.zeros(1, 17, c))
        self.norm = nn.LayerNorm(c)
        self.attn = nn.MultiheadAttention(c, 2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.head = nn.Linear(c, 5)

    def forward(self, x: Any) -> Any:
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1) + self.pos
        y = self.norm(t)
        t = t + self.attn(y, y, y, need_weights=False)[0]
        t = t + self.mlp(self.norm(t))
        return self.head(t[:, 0])


def _hand_written() -> Any:
    from .test_tokens import _Attention

    return _Attention()


def _timm(name: str, **kwargs: Any) -> Callable[[], Any]:
    def build() -> Any:
        timm = pytest.importorskip("timm")
        return timm.create_model(name, pretrained=False, **kwargs)

    return build


def _torchvision(name: str, first_stage: bool = False, **kwargs: Any) -> Callable[[], Any]:
    def build() -> Any:
        import torchvision.models as tvm
        from torchvision.models import vision_transformer

        if name == "VisionTransformer":
            return vision_transformer.VisionTransformer(**kwargs)
        model = getattr(tvm, name)(weights=None, **kwargs)
        if first_stage and name == "maxvit_t":
            return nn.Sequential(model.stem, model.blocks[0])  # block and grid attention, windows of 7
        return nn.Sequential(model.features[0], model.features[1]) if first_stage else model

    return build


@dataclass(frozen=True)
class _Case:
    build: Callable[[], Any]
    shape: tuple[int, int]
    channels: int = 3
    slow: bool = True
    # the same plan as from_torch; False where the export spells an op differently (torch.roll as two
    # slices concatenated, Swin's window attention unwrapped, MobileViT's attention over one patch)
    same_plan: bool = True


MODELS: dict[str, _Case] = {
    "hand_written": _Case(_hand_written, (16, 16), 1, slow=False),
    "class_token_mha": _Case(_ClassTokenViT, (16, 16), slow=False),
    "torchvision_vit_small": _Case(
        _torchvision(
            "VisionTransformer", image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32
        ),
        (32, 32),
        slow=False,
    ),
    "swin_t_first_stage": _Case(_torchvision("swin_t", first_stage=True), (64, 64), slow=False, same_plan=False),
    "vit_tiny_patch16_224": _Case(_timm("vit_tiny_patch16_224", img_size=64), (64, 64)),
    "deit_tiny_patch16_224": _Case(_timm("deit_tiny_patch16_224", img_size=64), (64, 64)),
    "coatnet_nano_rw_224": _Case(_timm("coatnet_nano_rw_224", img_size=64), (64, 64)),
    "efficientformer_l1": _Case(_timm("efficientformer_l1"), (224, 224)),
    "vit_b_16": _Case(_torchvision("vit_b_16", image_size=64), (64, 64)),
    "swin_t": _Case(_torchvision("swin_t"), (64, 64), same_plan=False),
    "swin_tiny_patch4_window7_224": _Case(_timm("swin_tiny_patch4_window7_224", img_size=56), (56, 56)),
    "mobilevit_xxs": _Case(_timm("mobilevit_xxs"), (64, 64), same_plan=False),
    "maxvit_t_first_stage": _Case(_torchvision("maxvit_t", first_stage=True), (224, 224)),
    "mixer_s16_224": _Case(_timm("mixer_s16_224", img_size=64), (64, 64)),  # token-mixing MLPs
    "convit_tiny": _Case(_timm("convit_tiny", img_size=64), (64, 64)),  # scores normalised by their sum
}
"""Models, input sizes (small, where the model accepts them) and what their ONNX import must match."""


@dataclass
class _Imported:
    case: _Case
    onnx: Any  # rf.from_onnx of the export
    checks: list[Any]  # compare_reach of the torch model: from_torch's reach and the gradient support


def _export(model: Any, shape: tuple[int, int], channels: int) -> bytes:
    f = io.BytesIO()
    torch.onnx.export(model.eval(), (torch.zeros(1, channels, *shape),), f, dynamo=False)
    return f.getvalue()


@pytest.fixture(scope="session")
def imported() -> Callable[[str], _Imported]:
    """Export, import (both ways) and check each model once per session."""
    from rfgraph.importers._support import compare_reach

    cache: dict[str, _Imported] = {}

    def get(name: str) -> _Imported:
        if name not in cache:
            case = MODELS[name]
            shape, channels = case.shape, case.channels
            torch.manual_seed(0)
            model = case.build().eval()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = _export(model, shape, channels)  # before compare_reach linearises the model in place
                options = {"in_channels": channels} if channels != 3 else {}
                checks = compare_reach(model, shape, inplace=True, partial=True, **options)
            cache[name] = _Imported(case, rf.from_onnx(data), checks)
        return cache[name]

    return get


_PARAMS = [pytest.param(name, marks=[pytest.mark.slow] if case.slow else [], id=name) for name, case in MODELS.items()]


@pytest.mark.parametrize("name", _PARAMS)
def test_onnx_reach_equals_torch_reach_and_gradient_support(imported: Any, name: str) -> None:
    got = imported(name)
    shape = got.case.shape
    for check in got.checks:
        assert check.equal, check.describe()
        reach = rf.reach(got.onnx, shape, endpoint=check.endpoint)
        assert np.array_equal(reach, check.reach), f"at {check.endpoint or 'the output'}"
    if got.case.same_plan:
        assert plans_equivalent(rf.build_plan(got.onnx, shape), rf.build_plan(got.checks[0].network, shape))


def _geometry(records: list[Any]) -> list[tuple[Any, ...]]:  # unnamed ops: torch 'mean', ONNX 'reducemean'
    return [(r.shape, r.size, r.stride, r.padding, r.center, r.global_context) for r in records]


@pytest.mark.parametrize("name", _PARAMS)
def test_onnx_receptive_field_sees_attention(imported: Any, name: str) -> None:
    got = imported(name)
    records = rf.receptive_field(got.onnx, got.case.shape)
    expected = rf.receptive_field(got.checks[0].network, got.case.shape)
    if got.case.same_plan:
        assert _geometry(records) == _geometry(expected)
    # another spelling of the same exact graph (a roll as slices) may give another arithmetic bound
    last, want = records[-1], expected[-1]
    assert (last.shape, last.global_context) == (want.shape, want.global_context)
    kinds = {type(op).__name__ for op in got.onnx.ops}
    windowed = name.startswith(("swin", "maxvit", "mobilevit"))
    assert ("WindowMix" if windowed else "GlobalMix") in kinds
    assert records[-1].global_context == (name != "swin_t_first_stage")  # MaxViT: squeeze-excitation


class _Rolled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.conv2 = nn.Conv2d(4, 4, 3)

    def forward(self, x: Any) -> Any:
        return self.conv2(torch.roll(self.conv1(x), shifts=(2, -5), dims=(2, 3)))


def test_onnx_roll_exported_as_slices_is_one_roll() -> None:
    model = _Rolled().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = rf.from_onnx(_export(model, (12, 16), 3))
    assert [type(op).__name__ for op in net.ops] == ["Conv", "Roll", "Conv"]
    assert plans_equivalent(rf.build_plan(net, (12, 16)), rf.build_plan(rf.from_torch(model, (12, 16)), (12, 16)))


def test_onnx_scores_through_an_unknown_op_are_refused() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["t"]),  # (1, 16, 1) tokens
        helper.make_node("Transpose", ["t"], ["k"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["t", "k"], ["scores"]),
        helper.make_node("TopK", ["scores", "n"], ["y", "i"]),
    ]
    inits = [
        helper.make_tensor("s", TensorProto.INT64, [3], [1, 16, 1]),
        helper.make_tensor("n", TensorProto.INT64, [1], [2]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits))
    with pytest.raises(rf.RFGraphError, match="TopK.*attention scores"):
        rf.from_onnx(model)
