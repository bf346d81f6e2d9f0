"""Issue 24, deliver 3: importer messages give the reason the import failed, in terms of the user's
code; position-mixing functions are imported exactly (cumulative ops, sorts) or refused without an
``identity=`` hint; and a functional / exported transposed convolution imports."""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def grad_support(model, shape, position, channels):
    model = model.double().eval()
    x = torch.rand((1, channels, *shape), dtype=torch.float64, requires_grad=True)
    model(x)[(0, slice(None), *position)].sum().backward()
    return (x.grad[0].abs().sum(0) != 0).numpy()


def assert_reach_is_gradient(model, shape, channels=3, positions=None):
    net = rf.from_torch(model, shape, in_channels=channels)
    out = rf.receptive_field(net, shape)[-1].shape
    for position in positions or np.ndindex(*out):
        got = rf.reach(net, shape, position).astype(bool)
        np.testing.assert_array_equal(got, grad_support(model, shape, position, channels), err_msg=str(position))


class Along(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.fn(self.conv(x))


@pytest.mark.parametrize(
    "fn",
    [
        lambda y: torch.cumsum(y, dim=-1),
        lambda y: y.cumsum(2),
        lambda y: torch.cumprod(y, dim=3),
        lambda y: torch.logcumsumexp(y, dim=2),
        lambda y: torch.cumsum(y, dim=1),  # along channels: no position mixed
    ],
    ids=["cumsum", "cumsum-method", "cumprod", "logcumsumexp", "channels"],
)
def test_cumulative_functions_are_exact(fn):
    assert_reach_is_gradient(Along(fn), (8, 7))


def test_cummax_reads_what_cumsum_reads():
    # max-like: its gradient picks one input (as max pooling's does); the graph has the whole prefix
    a = rf.from_torch(Along(lambda y: y.cummax(-1).values), (8, 7))
    b = rf.from_torch(Along(lambda y: y.cumsum(-1)), (8, 7))
    for position in np.ndindex(6, 5):
        np.testing.assert_array_equal(rf.reach(a, (8, 7), position), rf.reach(b, (8, 7), position))


def test_sort_reads_the_whole_axis():
    net = rf.from_torch(Along(lambda y: torch.sort(y, dim=-1).values), (8, 9))
    got = rf.reach(net, (8, 9), (2, 3)).astype(bool)
    assert got[:, :].any(axis=0).all() and got.any(axis=1).tolist() == [False, False] + [True] * 3 + [False] * 3


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda y: torch.fft.rfft2(y).abs(), "fft_rfft2"),
        (lambda y: torch.topk(y, 2, dim=-1).values, "topk"),
        (lambda y: torch.diff(y, dim=-1), "diff"),
    ],
)
def test_mixing_functions_never_get_the_identity_hint(fn, name):
    with pytest.raises(rf.RFGraphError) as info:
        rf.from_torch(Along(fn), (8, 8))
    message = str(info.value)
    assert name in message and "across positions" in message and "pass identity=" not in message


def test_pointwise_unknowns_still_get_the_hint():
    with pytest.raises(rf.RFGraphError, match=r"pass identity=\('new_zeros',\)"):
        rf.from_torch(Along(lambda y: y.new_zeros(y.size()) + y), (8, 8))


class SliceFromSizes(nn.Module):
    """fx keeps the slice symbolic, so the import reads torch.export's graph (aten conv_transpose2d)."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        y = self.up(x)
        return y[..., : y.shape[-1] // 2]


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 2, 3, 3))

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, stride=2, padding=1, groups=1, dilation=2)


def test_transposed_convolutions_through_export_and_functional():
    assert_reach_is_gradient(SliceFromSizes(), (5, 6))
    assert_reach_is_gradient(Functional(), (4, 5))


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.weight = nn.Parameter(torch.randn(4, 4, 2, 2))

    def forward(self, x):
        y = self.conv(x)
        if y.sum() > 0:
            return y
        return y[..., : y.shape[-1] // 2]


def test_fallback_failures_name_the_first_reason():
    with pytest.raises(rf.RFGraphError) as info:
        rf.from_torch(Untraceable(), (8, 8))
    message = str(info.value)
    assert "branches on a tensor value" in message and "symbolically traced" not in message


class ListLeaf(nn.Module):
    def forward(self, xs):
        xs.append(xs[0])
        return xs[0]


class MutatesList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.leaf = ListLeaf()

    def forward(self, x):
        return self.leaf([self.conv(x)])


def test_fx_internals_are_translated():
    with pytest.raises(rf.RFGraphError) as info:
        rf.from_torch(MutatesList(), (8, 8), leaf_modules=(ListLeaf,), identity=(ListLeaf,))
    message = str(info.value)
    assert "immutable_list" not in message and "copy it first" in message and "in_channels" not in message


class LinearFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(5, 8)
        self.conv = nn.Conv1d(8, 4, 3)

    def forward(self, x):
        return self.conv(self.proj(x.transpose(1, 2)).transpose(1, 2))


def test_a_guessed_channel_count_is_said_to_be_a_guess():
    with pytest.raises(rf.RFGraphError, match="a guess .*pass in_channels="):
        rf.from_torch(LinearFirst(), (16,))
    assert len(rf.from_torch(LinearFirst(), (16,), in_channels=5)) >= 1
