"""``rf.erf.expected_erf`` (SPEC section 11): exact where the cross terms vanish, checked
against Monte Carlo estimates of the same torch networks (``rf.erf.sampled_erf``).

Tolerance: the fixed-seed estimate of ``draws`` networks must lie within ``Z`` standard
errors of the exact value at every pixel (the standard error is estimated from the same
draws), and both must be zero at the same pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf

Z = 4.5  # per pixel; with <= 100 pixels per map a false alarm has probability < 1e-3

NETS = {
    "chain": (rf.Sequential(rf.Conv(3), rf.Conv(3), rf.Conv(3)), (9,)),
    "chain-2d": (rf.Sequential(rf.Conv(3), rf.Conv((3, 1)), rf.Conv(2, stride=2)), (8, 7)),
    "residual": (rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(3)]), (9,)),
    "residual-2d": (rf.Sequential(rf.Residual(rf.Conv(3, padding=1)), rf.Residual(rf.Conv(3, padding=1))), (7, 7)),
    "pool": (rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), rf.Conv(3, padding=1)), (8,)),
    "pool-2d": (rf.Sequential(rf.Conv(3, padding=1), rf.Pool(3, stride=2, padding=1), rf.Conv(3, padding=1)), (7, 7)),
    "upsample": (rf.Sequential(rf.Conv(3, padding=1), rf.Upsample(2, mode="linear"), rf.Conv(3, padding=1)), (6,)),
    "dilation": (rf.Sequential(rf.Conv(3, dilation=2), rf.Conv(3, stride=2), rf.Conv(3)), (15,)),
    "deconv": (
        rf.Sequential(
            rf.Conv(3, padding=1),
            rf.ConvTranspose(3, stride=2, padding=1, output_padding=1),
            rf.Conv(3, padding=1, padding_mode="reflect"),
        ),
        (6,),
    ),
    "gate": (
        rf.Sequential(rf.Conv(3, padding=1), rf.Add(rf.Identity(), rf.Sequential(rf.GlobalPool(), rf.Conv(1)))),
        (6,),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NETS))
def test_expected_erf_equals_monte_carlo(name):
    pytest.importorskip("torch")
    net, shape = NETS[name]
    exact = rf.erf.expected_erf(net, shape)
    mc = rf.erf.sampled_erf(net, shape, draws=2000, batch=500, seed=1)
    assert np.array_equal(exact == 0, mc.mean == 0)
    z = np.abs(exact - mc.mean)[mc.stderr > 0] / mc.stderr[mc.stderr > 0]
    assert z.max() < Z, (name, z.max())


def test_expected_erf_of_a_chain_is_the_mean_weighted_path_sum():
    # Diagonal second moment all the way: E = sum over paths of prod(gain**2 / k).
    net = rf.Sequential(rf.Conv(3), rf.Conv(5, stride=2, dilation=2), rf.Conv((3, 2)))
    shape = (29, 26)
    mean = rf.contribution_map(net, shape, "paths", weights="mean")
    np.testing.assert_allclose(rf.erf.expected_erf(net, shape), mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rf.erf.expected_erf(net, shape, init="torch_default"), mean / 27, rtol=1e-12)
    # kaiming with ReLU: gain 2 and 1/2 per ReLU (He et al.) cancel, but the output has no ReLU
    np.testing.assert_allclose(rf.erf.expected_erf(net, shape, activation="relu"), 2 * mean, rtol=1e-12)


def test_expected_erf_of_residual_stacks_weighs_the_shortcut_by_one():
    # n blocks with one 3-tap body: E = sum_k C(n, k) * (paths of k convs) / 3**k, while the
    # "mean" network weighs the shortcut alike: here both equal the squared-gain path sum.
    n = 4
    net = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(n)])
    e = rf.erf.expected_erf(net, (21,))
    expected = np.zeros(21)
    from math import comb

    for k in range(n + 1):
        chain = (
            rf.contribution_map(rf.Sequential(*[rf.Conv(3, padding=1)] * k), (21,), "paths", weights="mean")
            if k
            else None
        )
        term = chain if chain is not None else np.eye(21)[10]
        expected += comb(n, k) * term
    np.testing.assert_allclose(e, expected, rtol=1e-12)
    assert e.sum() == pytest.approx(2**n)  # each block doubles the total (no tap leaves the input)


def test_pooling_after_a_convolution_is_coherent():
    # y = mean of two conv outputs at 0 and 1: their gradients share the tap weights, so the
    # cross terms survive and E is not the mean-weighted path sum.
    net = rf.Sequential(rf.Conv(3), rf.Pool(2))
    e = rf.erf.expected_erf(net, (4,), target=(0,))
    # d y / d x_i = (w[i] + w[i - 1]) / 2 per channel: E = C * var * (taps reaching i) / 4, var = 1 / (3 C)
    np.testing.assert_allclose(e, np.array([1, 2, 2, 1]) / 3 / 4, rtol=1e-12)


def test_weightless_diamonds_are_refused_by_name():
    net = rf.Sequential(rf.Conv(3, padding=1), rf.Add(rf.Identity(), rf.Pool(3, stride=1, padding=1)))
    with pytest.raises(rf.RFGraphError, match="add1.*conv1.*two routes"):
        rf.erf.expected_erf(net, (8,))
    # with a convolution on the branch the cross terms vanish
    ok = rf.Sequential(
        rf.Conv(3, padding=1), rf.Add(rf.Identity(), rf.Sequential(rf.Pool(3, stride=1, padding=1), rf.Conv(1)))
    )
    assert rf.erf.expected_erf(ok, (8,)).sum() > 0


def test_expected_erf_validation():
    net = rf.Sequential(rf.Conv(3))
    with pytest.raises(rf.RFGraphError, match="init='he' is unknown"):
        rf.erf.expected_erf(net, (5,), init="he")
    with pytest.raises(rf.RFGraphError, match="activation='tanh' is unknown"):
        rf.erf.expected_erf(net, (5,), activation="tanh")
    with pytest.raises(rf.RFGraphError, match="outside"):
        rf.erf.expected_erf(net, (5,), target=(7,))
