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


def _torchvision_vit(**kwargs: Any) -> Callable[[], Any]:
    def build() -> Any:
        from torchvision.models import vision_transformer

        if "image_size" in kwargs and len(kwargs) == 1:
            return vision_transformer.vit_b_16(weights=None, **kwargs)
        return vision_transformer.VisionTransformer(**kwargs)

    return build


# name: (constructor, spatial input size, input channels, slow)
MODELS: dict[str, tuple[Callable[[], Any], tuple[int, int], int, bool]] = {
    "hand_written": (_hand_written, (16, 16), 1, False),
    "class_token_mha": (_ClassTokenViT, (16, 16), 3, False),
    "torchvision_vit_small": (
        _torchvision_vit(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32),
        (32, 32),
        3,
        False,
    ),
    "vit_tiny_patch16_224": (_timm("vit_tiny_patch16_224", img_size=64), (64, 64), 3, True),
    "deit_tiny_patch16_224": (_timm("deit_tiny_patch16_224", img_size=64), (64, 64), 3, True),
    "coatnet_nano_rw_224": (_timm("coatnet_nano_rw_224", img_size=64), (64, 64), 3, True),
    "efficientformer_l1": (_timm("efficientformer_l1"), (224, 224), 3, True),
    "vit_b_16": (_torchvision_vit(image_size=64), (64, 64), 3, True),
}


@dataclass
class _Imported:
    shape: tuple[int, int]
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
            build, shape, channels, _ = MODELS[name]
            torch.manual_seed(0)
            model = build().eval()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = _export(model, shape, channels)  # before compare_reach linearises the model in place
                options = {"in_channels": channels} if channels != 3 else {}
                checks = compare_reach(model, shape, inplace=True, partial=True, **options)
            cache[name] = _Imported(shape, rf.from_onnx(data), checks)
        return cache[name]

    return get


_PARAMS = [pytest.param(name, marks=[pytest.mark.slow] if slow else [], id=name) for name, (*_, slow) in MODELS.items()]


@pytest.mark.parametrize("name", _PARAMS)
def test_onnx_reach_equals_torch_reach_and_gradient_support(imported: Any, name: str) -> None:
    case = imported(name)
    for check in case.checks:
        assert check.equal, check.describe()
        got = rf.reach(case.onnx, case.shape, endpoint=check.endpoint)
        assert np.array_equal(got, check.reach), f"at {check.endpoint or 'the output'}"
    assert plans_equivalent(rf.build_plan(case.onnx, case.shape), rf.build_plan(case.checks[0].network, case.shape))


@pytest.mark.parametrize("name", _PARAMS)
def test_onnx_receptive_field_sees_global_attention(imported: Any, name: str) -> None:
    case = imported(name)
    records = rf.receptive_field(case.onnx, case.shape)

    def geometry(rs: list[Any]) -> list[tuple[Any, ...]]:  # unnamed functional ops: torch 'mean', ONNX 'reducemean'
        return [(r.shape, r.size, r.stride, r.padding, r.center, r.global_context) for r in rs]

    assert geometry(records) == geometry(rf.receptive_field(case.checks[0].network, case.shape))
    assert records[-1].global_context
    kinds = {type(op).__name__ for op in case.onnx.ops}
    assert "GlobalMix" in kinds


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
