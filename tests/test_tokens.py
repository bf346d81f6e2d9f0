"""Issue 15: attention and token mixers in the exact graph, checked against torch autograd.

ViT (class token, ``nn.MultiheadAttention`` / ``F.scaled_dot_product_attention``), Swin (shifted
window attention with its mask, patch merging), hybrids (CoAtNet, EfficientFormer) and hand-written
``q @ k^T`` attention import; ``rf.reach`` of the centre equals the support of the input gradient
of the linearised float64 copy, at the output and at an inner tensor."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest

import rfgraph as rf
from rfgraph.importers._families import TRANSFORMERS, TRANSFORMERS_SUPPORTED, Family, build

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
nn = torch.nn


def _checks(model: Any, shape: tuple[int, ...], **options: Any) -> list[Any]:
    from rfgraph.importers._support import compare_reach

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            checks = compare_reach(model, shape, inplace=True, partial=True, **options)
        finally:
            logging.disable(logging.NOTSET)
    for check in checks:
        assert check.equal, check.describe()
    assert rf.receptive_field(checks[0].network, shape)
    return checks


class _Attention(nn.Module):
    """Hand-written attention with a relative-position bias, on flattened tokens."""

    def __init__(self, c: int = 8, n: int = 16) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, c, 4, stride=4)
        self.qkv = nn.Linear(c, 3 * c)
        self.bias = nn.Parameter(torch.zeros(n, n))
        self.proj = nn.Linear(c, c)

    def forward(self, x: Any) -> Any:
        t = self.embed(x).flatten(2).transpose(1, 2)  # (N, H*W, C)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        attn = (q @ k.transpose(-2, -1) * 0.5 + self.bias).softmax(dim=-1)
        t = t + self.proj(attn @ v)
        b, n, c = t.shape
        return t.transpose(1, 2).reshape(b, c, 4, 4)


def test_hand_written_attention_is_a_global_mix() -> None:
    (check, *_) = _checks(_Attention(), (16, 16), in_channels=1)
    kinds = [type(op).__name__ for op in check.network.ops]
    assert "GlobalMix" in kinds
    assert check.reach.all()
    assert rf.receptive_field(check.network, (16, 16))[-1].global_context


def test_window_attention_grows_by_windows() -> None:
    from rfgraph.importers._convert import _Converter
    from rfgraph.importers._layout import _T
    from rfgraph.importers._tokens import window_attention

    conv = _Converter(None, (8,), ())
    x = window_attention(conv, _T(0, 3), 4, 0, [], "w0")
    y = window_attention(conv, x, 4, 2, [], "w1")  # shifted: rolled windows {2..5} and {6, 7, 0, 1}
    net = conv.dag.network(y.index)
    reach = [rf.reach(net, (8,), target=(t,)).nonzero()[0].tolist() for t in (0, 3)]
    assert reach == [list(range(8)), list(range(8))]
    one = conv.dag.network(x.index)
    assert rf.reach(one, (8,), target=(5,)).nonzero()[0].tolist() == [4, 5, 6, 7]


def _corner_support(model: Any, shape: tuple[int, int], token: tuple[int, int]) -> Any:
    """Support of the input gradient of one token of a channels-last ``(N, H, W, C)`` output."""
    from rfgraph.importers._support import _calibrate, _linear_functions, linearised_copy

    m = linearised_copy(model)
    x = 0.5 + torch.rand((1, 3, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _calibrate(torch, m, x)
    x.requires_grad_(True)
    with _linear_functions(torch):
        out = m(x)
    (grad,) = torch.autograd.grad(out[0, token[0], token[1]].sum(), x)
    return grad[0].abs().sum(0).numpy() != 0


@pytest.mark.slow
@pytest.mark.parametrize("source", ["torchvision", "timm"])
def test_shifted_windows_wrap_around_like_the_gradient(source: str) -> None:
    """Swin's shift mask adds -100, not -inf: tokens the roll brought across the border still read
    each other (weight ~e^-100), so a corner token's field wraps around; rf.reach says so too."""
    if source == "timm":
        timm = pytest.importorskip("timm")
        full = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, img_size=56).eval()
        model = nn.Sequential(full.patch_embed, full.layers[0])
    else:
        import torchvision.models as tvm

        full = tvm.swin_t(weights=None).eval()
        model = nn.Sequential(full.features[0], full.features[1])
    torch.manual_seed(0)
    net = rf.from_torch(model, (56, 56))
    last = (13, 13)  # 14 x 14 tokens, windows of 7 shifted by 3
    reach = rf.reach(net, (56, 56), target=last)
    support = _corner_support(model, (56, 56), last)
    assert (reach == support).all()
    assert reach[:4, :4].any()  # the bottom-right token reads the top-left corner


_CASES = [
    pytest.param(f, n, id=f"{f.source}-{f.name}-{n}", marks=[pytest.mark.slow] if f.heavy else [])
    for f in TRANSFORMERS
    if f.name in TRANSFORMERS_SUPPORTED and f.name != "maxvit_t"  # whole MaxViT: docs/coverage.md; first stage below
    for n in f.sizes
]


@pytest.mark.parametrize(("family", "size"), _CASES)
def test_transformers_and_hybrids(family: Family, size: int) -> None:
    if family.source == "timm":
        pytest.importorskip("timm")
    torch.manual_seed(0)
    _checks(build(family), (size, size))


@pytest.mark.slow
def test_swin_first_stage() -> None:
    import torchvision.models as tvm

    model = tvm.swin_t(weights=None).eval()
    (check,) = _checks(nn.Sequential(model.features[0], model.features[1]), (64, 64))[:1]
    assert "WindowMix" in [type(op).__name__ for op in check.network.ops]
    assert not check.reach.all()


@pytest.mark.slow
def test_maxvit_first_stage() -> None:
    """torchvision MaxViT's block attention (windows of 7) and grid attention (7 positions 8 apart)."""
    import torchvision.models as tvm

    torch.manual_seed(0)
    model = tvm.maxvit_t(weights=None).eval()
    (check, *_) = _checks(nn.Sequential(model.stem, model.blocks[0]), (224, 224))
    ops = [repr(op) for op in check.network.ops if "Mix" in type(op).__name__]
    assert any(op.startswith("WindowMix(7, name=") for op in ops), ops
    assert any(op.startswith("WindowMix(7, dilation=8") for op in ops), ops
