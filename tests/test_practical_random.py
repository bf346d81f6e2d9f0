"""Random networks (every op, merges, Refs): tiles stitch back and valid_region is exactly the set of
outputs that the padding never reaches, both checked by running the networks in torch."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rfgraph as rf
from rfgraph.answers import borders
from rfgraph.answers.borders import equivariance_error
from rfgraph.answers.tiling import alignment
from tests.strategies import networks

torch = pytest.importorskip("torch")
from rfgraph.importers.to_torch import to_torch  # noqa: E402

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)


class _Runner:
    """One to_torch module per input shape, all with the same weights (same seed, same op order)."""

    def __init__(self, net: rf.Op) -> None:
        self.net = net
        self.modules: dict[tuple[int, ...], object] = {}

    def __call__(self, x):  # type: ignore[no-untyped-def]
        key = tuple(x.shape[2:])
        if key not in self.modules:
            # Unit weights: a Concat becomes a sum (no channel bookkeeping) and, with a positive
            # input, nothing cancels, so any padded value that reaches an output changes it.
            self.modules[key] = to_torch(self.net, key, channels=1, weights="ones")
        with torch.no_grad():
            return self.modules[key](x)  # type: ignore[operator]


def _usable(net: rf.Op, shape: tuple[int, ...]) -> rf.Plan:
    try:
        plan = rf.build_plan(net, shape)
    except rf.RFGraphError:
        assume(False)
        raise
    assume(equivariance_error(plan) is None)
    assume(plan.num_nodes <= 5000)
    return plan


def _has_holes(plan: rf.Plan) -> bool:
    """Positions fed by nothing (a transposed convolution with a kernel shorter than its stride).

    Reading such a position from the padding gives 0 in a bias-free copy as in the unbounded
    network, but the bias in a real one; valid_region counts it as a border effect (documented).
    """
    return any((link.maps[0].indptr[1:] == link.maps[0].indptr[:-1]).any() for t in plan.tensors for link in t.links)


@SETTINGS
@given(networks(ndim=1, max_ops=4), st.integers(24, 60), st.integers(1, 4))
def test_random_networks_tiles_stitch(net: rf.Op, n: int, blocks: int) -> None:
    _usable(net, (n,))
    (a,) = alignment(net, (n,))
    assume(a <= 16)
    run = _Runner(net)
    image = torch.rand(1, 1, n, dtype=torch.float64, generator=torch.Generator().manual_seed(n))
    whole = run(image)
    out = torch.full_like(whole, float("nan"))
    for t in rf.tiles(net, (n,), a * blocks):
        assert 0 <= t.input[0].start < t.input[0].stop <= n
        assert torch.isnan(out[(..., *t.output)]).all()  # covered once
        out[(..., *t.output)] = run(image[(..., *t.input)])[(..., *t.crop)]
    assert not torch.isnan(out).any()
    assert float(((out - whole).abs() / (1 + whole.abs())).max()) < 1e-9


@SETTINGS
@given(networks(ndim=1, max_ops=4), st.integers(16, 48))
def test_random_networks_valid_region(net: rf.Op, n: int) -> None:
    """valid[o] iff output o is the same when the image is embedded in random surroundings."""
    assume(not _has_holes(_usable(net, (n,))))
    (a,) = alignment(net, (n,))
    assume(a <= 16)
    margin = a * (64 // a + 1)
    canvas_n = n + 2 * margin
    _usable(net, (canvas_n,))
    f = borders.axis_fields(rf.build_plan(net, (canvas_n,)))[0]
    assert f.stride is not None
    offset = margin * f.stride.denominator // f.stride.numerator
    run = _Runner(net)
    gen = torch.Generator().manual_seed(n)
    image = torch.rand(1, 1, n, dtype=torch.float64, generator=gen)
    canvas = torch.rand(1, 1, canvas_n, dtype=torch.float64, generator=gen)
    canvas[..., margin : margin + n] = image
    small, big = run(image), run(canvas)
    valid = rf.valid_region(net, (n,))
    out_n = small.shape[-1]
    diff = (small - big[..., offset : offset + out_n]).abs() / (1 + small.abs())
    same = diff.amax(dim=(0, 1)) < 1e-9
    assert valid.tolist() == same.tolist()
