"""Issue 24, items 5 and 8: blocking masks are structure, and F.pad before a pool is no pooling padding.

Every case is checked against torch's autograd at every output position: the support of the input
gradient of a float64 copy (random weights, so no edge cancels) equals ``rf.reach``.
"""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

L = 12


class Tokens(nn.Module):
    """A 1-D sequence: a pointwise conv, tokens (N, L, C), one attention of the given kind, back to (N, C, L)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv1d(1, 8, 1)
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.register_buffer("tri", torch.tril(torch.ones(L, L, dtype=torch.bool)))
        self.register_buffer("ninf", torch.triu(torch.full((L, L), float("-inf")), 1))
        band = (torch.arange(L)[None, :] - torch.arange(L)[:, None]).abs() <= 2
        self.register_buffer("band", band)

    def forward(self, x):
        h = self.conv(x).transpose(1, 2)
        q = h.view(1, L, 2, 4).transpose(1, 2)
        kind = self.kind
        if kind == "mha_float":
            return self.mha(h, h, h, attn_mask=self.ninf, need_weights=False)[0].transpose(1, 2)
        if kind == "mha_bool":
            return self.mha(h, h, h, attn_mask=~self.tri, need_weights=False)[0].transpose(1, 2)
        if kind == "mul":
            t = torch.arange(L, device=x.device)
            return self.conv(x) * (t < 8)
        if kind == "mul_box":
            t = torch.arange(L, device=x.device)
            return self.conv(x) * ((t >= 3) & (t < 8)).float()
        if kind == "sdpa_causal":
            o = F.scaled_dot_product_attention(q, q, q, is_causal=True)
        elif kind == "sdpa_bool":
            o = F.scaled_dot_product_attention(q, q, q, attn_mask=self.tri)
        elif kind == "sdpa_tril_in_forward":
            mask = torch.tril(torch.ones(L, L, dtype=torch.bool, device=x.device))
            o = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
        elif kind == "sdpa_float":
            o = F.scaled_dot_product_attention(q, q, q, attn_mask=self.ninf)
        elif kind == "sdpa_band":
            o = F.scaled_dot_product_attention(q, q, q, attn_mask=self.band)
        elif kind == "masked_fill":
            o = (q @ q.transpose(-2, -1)).masked_fill(~self.tri, float("-inf")).softmax(-1) @ q
        elif kind == "add_ninf":
            o = (q @ q.transpose(-2, -1) + self.ninf).softmax(-1) @ q
        elif kind == "finite_fill":  # a finite fill is a bias: global, as torch's gradient says
            o = (q @ q.transpose(-2, -1)).masked_fill(~self.tri, -100.0).softmax(-1) @ q
        else:
            o = F.scaled_dot_product_attention(q, q, q)
        return o.transpose(1, 2).reshape(1, L, 8).transpose(1, 2)


def grad_support(model, shape, position):
    model = model.double().eval()
    x = torch.rand((1, 1, *shape), dtype=torch.float64, requires_grad=True)
    y = model(x)
    y[(0, slice(None), *position)].sum().backward()
    return (x.grad[0, 0] != 0).numpy()


def assert_reach_is_gradient(model, shape, **options):
    net = rf.from_torch(model, shape, in_channels=1, **options)
    out = rf.receptive_field(net, shape)[-1].shape
    for position in np.ndindex(*out):
        got = rf.reach(net, shape, position).astype(bool)
        np.testing.assert_array_equal(got, grad_support(model, shape, position), err_msg=f"position {position}")
    return net


KINDS = [
    "sdpa_causal",
    "sdpa_bool",
    "sdpa_tril_in_forward",
    "sdpa_float",
    "sdpa_band",
    "mha_float",
    "mha_bool",
    "masked_fill",
    "add_ninf",
    "finite_fill",
    "global",
    "mul",
    "mul_box",
]


@pytest.mark.parametrize("kind", KINDS)
def test_masks_block_as_the_gradient_says(kind):
    assert_reach_is_gradient(Tokens(kind), (L,))


def test_causal_token_zero_reads_only_itself():
    net = rf.from_torch(Tokens("sdpa_causal"), (L,), in_channels=1)
    assert rf.reach(net, (L,), (0,)).tolist() == [1] + [0] * (L - 1)
    assert rf.reach(net, (L,), (5,)).tolist() == [1] * 6 + [0] * (L - 6)


class Scattered(nn.Module):
    """A mask that is no band: refused with its reason, never read as global."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 1)
        mask = torch.eye(L, dtype=torch.bool)
        mask[0, L - 1] = True
        self.register_buffer("mask", mask)

    def forward(self, x):
        h = self.conv(x).transpose(1, 2).unsqueeze(1)
        return F.scaled_dot_product_attention(h, h, h, attn_mask=self.mask).squeeze(1).transpose(1, 2)


def test_other_blocking_masks_are_refused_not_over_approximated():
    with pytest.raises(rf.RFGraphError, match="not a band"):
        rf.from_torch(Scattered(), (L,), in_channels=1)


class Causal2d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 1)

    def forward(self, x):
        h = self.conv(x).flatten(2).transpose(1, 2).unsqueeze(1)
        o = F.scaled_dot_product_attention(h, h, h, is_causal=True)
        return o.squeeze(1).transpose(1, 2).reshape(x.shape[0], 4, 4, 4)


def test_causal_over_a_flattened_grid_is_refused_with_the_reason():
    with pytest.raises(rf.RFGraphError, match="flattened from 2 spatial axes"):
        rf.from_torch(Causal2d(), (4, 4), in_channels=1)


# Item 8: F.pad / ZeroPad before a pool ------------------------------------------------------


class NasReduce(nn.Module):
    """NASNet's path: ZeroPad2d((0, 1, 0, 1)) then AvgPool2d(1, 2) (a window that sees only padding)."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))
        self.pool = nn.AvgPool2d(1, 2, count_include_pad=False)
        self.conv = nn.Conv2d(1, 2, 1)

    def forward(self, x):
        return self.conv(self.pool(self.pad(x)))


class MovingAverage(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 1)

    def forward(self, x):
        return F.avg_pool1d(F.pad(self.conv(x), (3, 0)), 4, 1)


class PoolAfterPad(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(F.pad(x, (2, 0, 0, 3)), 2, 2, padding=1)


def test_zero_pad_then_stride_two_pool():
    assert_reach_is_gradient(NasReduce(), (9, 9))
    assert_reach_is_gradient(NasReduce(), (8, 8))


def test_causal_moving_average():
    net = assert_reach_is_gradient(MovingAverage(), (16,))
    assert rf.reach(net, (16,), (0,)).tolist() == [1] + [0] * 15
    assert rf.reach(net, (16,), (5,)).astype(bool).tolist() == [False] * 2 + [True] * 4 + [False] * 10


def test_pending_pad_still_folds_when_torch_would_accept_it():
    class Folded(nn.Module):
        def forward(self, x):
            return F.avg_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 1)

    net = rf.from_torch(Folded(), (8, 8), in_channels=1)
    assert [type(op).__name__ for op in net.ops] == ["Pool"]  # the pad folds into the pool's padding
    assert_reach_is_gradient(PoolAfterPad(), (7, 7))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nasnetalarge", "pnasnet5large"])
def test_timm_nasnets_import_with_reach_equal_to_the_gradient(name):
    timm = pytest.importorskip("timm")
    from rfgraph.importers._support import compare_reach

    model = timm.create_model(name, pretrained=False)
    for check in compare_reach(model, (64, 64), partial=True):
        assert check.equal, check.describe()
