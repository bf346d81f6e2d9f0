"""Spatial axes split into digits (issue 15): window and grid partitions, unfolded patches,
token-mixing MLPs, pooled queries -- small hand-written modules, checked against autograd at
every output position, plus the digit bookkeeping itself."""

from __future__ import annotations

import itertools
import logging
import warnings
from typing import Any

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.importers._digits import reshape_atoms, settle, window_of
from rfgraph.importers._layout import _T, _Split

torch = pytest.importorskip("torch")
nn = torch.nn


def test_reshape_splits_digits_and_settles_back() -> None:
    x = _Split(0, (((-1, 0, 8),), ((0, 1, 12),), ((1, 1, 6),)))  # (C, H, W)
    y = reshape_atoms(x, (8, 4, 3, 2, 3))  # (C, H/3, 3, W/3, 3)
    assert y is not None and y.atoms[1:] == (((0, 3, 4),), ((0, 1, 3),), ((1, 3, 2),), ((1, 1, 3),))
    assert settle(y, 2) is y
    back = reshape_atoms(y, (8, 12, 6))
    assert back is not None and settle(back, 2) == _T(0, 3)
    flat = reshape_atoms(x, (8, 72))
    assert flat is not None and settle(flat, 2) == _T(0, 2, (1, 1))
    assert reshape_atoms(x, (8, 5, 2, 6, 1)) is None  # 12 does not split as 5 x 2.4


def test_window_of_digit_runs() -> None:
    chain = [(12, 2), (3, 4), (1, 3)]  # 24 = 2 x 4 x 3
    assert window_of(chain, set()) == (1, 1)
    assert window_of(chain, {2}) == (3, 1)  # windows of 3
    assert window_of(chain, {0}) == (2, 12)  # a grid: 2 positions 12 apart
    assert window_of(chain, {1}) == (4, 3)  # the middle digit: 4 positions 3 apart, inside blocks of 12
    with pytest.raises(ValueError):
        window_of(chain, {0, 2})


def _every_position(model: Any, shape: tuple[int, int]) -> tuple[Any, list[str]]:
    """Import ``model`` and compare rf.reach with the gradient support at every output position."""
    from rfgraph.importers._support import _linear_functions, linearised_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            net = rf.from_torch(model, shape)
        finally:
            logging.disable(logging.NOTSET)
    m = linearised_copy(model)
    x = 0.5 + torch.rand((1, 1, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x.requires_grad_(True)
    with _linear_functions(torch):
        out = m(x)
    bad = []
    for t in itertools.product(*map(range, out.shape[2:])):
        (grad,) = torch.autograd.grad(out[(0, slice(None), *t)].sum(), x, retain_graph=True)
        support = grad[0].abs().sum(0).numpy() != 0
        if not np.array_equal(rf.reach(net, shape, target=t), support):
            bad.append(str(t))
    return net, bad


class _Partitioned(nn.Module):
    """Attention inside windows (``grid=False``, Swin/MaxViT block) or across a grid (MaxViT grid attention,
    MobileViT patches), written with view/permute as those models do."""

    def __init__(self, p: int, grid: bool, c: int = 4) -> None:
        super().__init__()
        self.p, self.grid = p, grid
        self.embed = nn.Conv2d(1, c, 3, padding=1)
        self.qkv = nn.Linear(c, 3 * c)
        self.out = nn.Conv2d(c, 2, 1)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        p = self.p
        if self.grid:  # (B, C, p, H/p, p, W/p): attend over the outer digits
            t = x.view(b, c, p, h // p, p, w // p).permute(0, 3, 5, 2, 4, 1).reshape(-1, p * p, c)
        else:  # (B, C, H/p, p, W/p, p): attend inside p x p windows
            t = x.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(-1, p * p, c)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        t = (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        if self.grid:
            x = t.view(b, h // p, w // p, p, p, c).permute(0, 5, 3, 1, 4, 2).reshape(b, c, h, w)
        else:
            x = t.view(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)
        return self.out(x)


@pytest.mark.parametrize(("p", "grid", "op"), [(4, False, "WindowMix(4"), (3, True, "WindowMix(3, dilation=4")])
def test_window_and_grid_partitions(p: int, grid: bool, op: str) -> None:
    torch.manual_seed(0)
    net, bad = _every_position(_Partitioned(p, grid).double(), (12, 12))
    assert not bad, bad
    assert any(repr(o).startswith(op) for o in net.ops), net.ops


class _Unfold(nn.Module):
    """MobileViT's unfolding: patches of 2x2, attention across patches at the same offset, folded back."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, c, 3, padding=1)
        self.attn = nn.MultiheadAttention(c, 1, batch_first=True)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        t = x.reshape(b * c * (h // 2), 2, w // 2, 2).transpose(1, 2)
        t = t.reshape(b, c, (h // 2) * (w // 2), 4).transpose(1, 3).reshape(b * 4, -1, c)
        t = self.attn(t, t, t, need_weights=False)[0]
        t = t.contiguous().view(b, 4, -1, c).transpose(1, 3).reshape(b * c * (h // 2), w // 2, 2, 2)
        return t.transpose(1, 2).reshape(b, c, h, w)


def test_mobilevit_unfold_attends_across_patches() -> None:
    torch.manual_seed(0)
    net, bad = _every_position(_Unfold().double(), (8, 6))
    assert not bad, bad
    assert any(repr(o).startswith("WindowMix((4, 3), dilation=2") for o in net.ops), net.ops


class _Mixer(nn.Module):
    """A token-mixing MLP whose hidden width differs from the number of tokens (MLP-Mixer)."""

    def __init__(self, tokens: int, c: int = 3) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, c, 2, stride=2)
        self.fc1, self.fc2 = nn.Linear(tokens, 7), nn.Linear(7, tokens)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        t = x.flatten(2)  # (B, C, L): the Linear runs along the tokens
        t = t + self.fc2(self.fc1(t).relu())
        return t.reshape(b, c, h, w)


def test_token_mixing_mlp_is_global() -> None:
    torch.manual_seed(0)
    net, bad = _every_position(_Mixer(9).double(), (6, 6))
    assert not bad, bad
    assert "GlobalMix" in [type(o).__name__ for o in net.ops]


class _PooledQueries(nn.Module):
    """Keys on the full grid, queries max-pooled over the innermost digit of 2x2 windows (Hiera)."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, c, 1)
        self.qkv = nn.Linear(c, 3 * c)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        t = x.view(b, c, h // 4, 2, 2, w // 4, 2, 2).permute(0, 2, 5, 3, 6, 4, 7, 1)  # windows of 4, then 2x2
        t = t.reshape(b, (h // 4) * (w // 4), 4, 4, c)  # (B, windows, tokens, inner 2x2, C)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        q = q.amax(dim=3)  # pool the inner 2x2 of every query
        k, v = k.flatten(2, 3), v.flatten(2, 3)
        t = (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v  # (B, windows, 4, C)
        t = t.view(b, h // 4, w // 4, 2, 2, c).permute(0, 5, 1, 3, 2, 4)
        return t.reshape(b, c, h // 2, w // 2)


def test_queries_pooled_to_a_coarser_grid() -> None:
    torch.manual_seed(0)
    net, bad = _every_position(_PooledQueries().double(), (8, 8))
    assert not bad, bad


def test_window_partitioned_tensors_are_no_end_points() -> None:
    from rfgraph.plan import build_plan

    net = rf.from_torch(_Partitioned(4, False), (8, 8))
    plan = build_plan(net, (8, 8))
    assert "qkv" not in plan.endpoints  # its output is (windows, tokens, C), not a grid
    assert "out" in plan.endpoints or "embed" in plan.endpoints


def test_unsupported_partition_says_so() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 1)

        def forward(self, x: Any) -> Any:
            b, c, h, w = self.conv(x).shape
            t = self.conv(x).view(b, c, h // 2, 2, w).permute(0, 1, 3, 2, 4).reshape(b, c * 2, h // 2, w)
            return nn.functional.max_pool2d(t, 2)  # a pool on a partitioned tensor

    with pytest.raises(rf.RFGraphError, match="window-partitioned"):
        rf.from_torch(Odd(), (8, 8))


class _OneToken(nn.Module):
    """Attention over one token per sequence, the positions in the batch (MobileViT's last stage when
    one patch covers the map): nothing is mixed."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, c, 1)
        self.attn = nn.MultiheadAttention(c, 1, batch_first=True)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        t = x.permute(0, 2, 3, 1).reshape(b * h * w, 1, c)
        t = self.attn(t, t, t, need_weights=False)[0]
        return t.reshape(b, h, w, c).permute(0, 3, 1, 2)


def test_attention_over_one_token_mixes_nothing() -> None:
    torch.manual_seed(0)
    net, bad = _every_position(_OneToken().double(), (4, 4))
    assert not bad, bad
    assert "GlobalMix" not in [type(o).__name__ for o in net.ops]
