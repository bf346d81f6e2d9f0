"""``weights=`` for path maps (SPEC section 11): ``"mean"`` is the input gradient of the
averaging one-channel linear network (torch autograd, float64, rtol 1e-9) on random networks
with every op; gains by name multiply the named op's edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import rfgraph as rf

from .strategies import cases

torch = pytest.importorskip("torch")

from .averaging import Unsupported, mean_gradient  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _check(net, shape, target, *, every=True):
    try:
        expected = mean_gradient(net, shape, target)
    except Unsupported:
        return
    for method in ("auto", "dense"):
        got = rf.contribution_map(net, shape, "paths", target, weights="mean", method=method)
        scale = max(float(np.abs(expected).max()), 1e-300)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale, err_msg=f"{net} {shape} {method}")
    if every:  # the sum over every output position: one sweep seeded with ones
        _check(net, shape, "all", every=False)


@SETTINGS
@given(cases(ndim=1, max_ops=4, extended=True))
def test_mean_weights_equal_autograd_1d(case):
    _check(*case)


@SETTINGS
@given(cases(ndim=2, max_ops=3, max_size=8, extended=True))
def test_mean_weights_equal_autograd_2d(case):
    _check(*case)


@SETTINGS
@given(cases(ndim=1, max_ops=3, dilated_window=True))
def test_mean_weights_equal_autograd_dilated_windows(case):
    _check(*case)


@pytest.mark.parametrize(
    "op",
    [
        rf.Conv(3, padding=2, padding_mode="reflect"),
        rf.Conv(3, padding=2, padding_mode="circular"),
        rf.Conv(2, stride=2, padding=1, padding_mode="replicate"),
        rf.Pool(3, stride=2, padding=1, ceil_mode=True),
        rf.Pool(2, ceil_mode=True),
        rf.Resize(scale_factor=1.5, mode="cubic"),
        rf.Resize(size=4, mode="cubic", align_corners=True),
        rf.Resize(size=9, mode="linear"),
        rf.Resize(scale_factor=0.75, mode="area"),
        rf.Resize(size=3, mode="nearest-exact"),
        rf.Upsample(3, mode="linear"),
        rf.ConvTranspose(3, stride=2, padding="same"),
        rf.AdaptivePool(3),
        rf.WindowMix(2, shift=1, dilation=2),
        rf.GlobalMix(),
        rf.PixelUnshuffle(2),
    ],
)
@pytest.mark.parametrize("shape", [(8,), (8, 12)])
def test_mean_weights_of_each_op(op, shape):
    net = rf.Sequential(rf.Conv(1, name="a"), op)
    for target in [None, tuple(0 for _ in shape)]:
        _check(net, shape, target)
    _check(net, shape, None)
    got = rf.contribution_map(net, shape, "paths", "all", weights="mean")
    assert np.isfinite(got).all()


def test_mean_of_a_chain_is_the_path_count_over_the_kernel_volume():
    net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
    ones = rf.contribution_map(net, (15,), "paths")
    np.testing.assert_allclose(rf.contribution_map(net, (15,), "paths", weights="mean"), ones / 3**5)
    # a mean ERF sums to one when no tap falls in the padding
    assert rf.contribution_map(net, (15,), "paths", weights="mean").sum() == pytest.approx(1.0)


def test_gains_by_name():
    body = rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1), name="body")
    net = rf.Sequential(rf.Residual(body, name="b1"), rf.Residual(body, name="b2"))
    ones = rf.contribution_map(net, (21,), "paths")
    assert np.array_equal(rf.contribution_map(net, (21,), "paths", weights={}), ones)
    # the body's gain g: paths through k bodies weigh g**k
    b1 = rf.contribution_map(rf.Residual(body, name="b1"), (21,), "paths", weights={"b1.body": 0.5})
    only = rf.contribution_map(rf.Sequential(body), (21,), "paths")
    expected = 0.5 * only
    expected[10] += 1
    np.testing.assert_allclose(b1, expected)
    two = rf.contribution_map(net, (21,), "paths", weights={"b1.body": 0.5, "b2.body": 0.5})
    plain = rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))
    chain = rf.contribution_map(rf.Sequential(plain, plain), (21,), "paths")
    expected = only + 0.25 * chain  # 0.5 * only through either body alone, 0.25 through both
    expected[10] += 1
    np.testing.assert_allclose(two, expected)
    # integer gains stay exact
    exact = rf.contribution_map(net, (21,), "paths", weights={"b1.body": 3}, exact=True)
    assert exact.dtype == object and int(exact[10]) == 1 + 3 * int(only[10]) + int(only[10]) + 3 * int(chain[10])
    # a gain on the merge scales both of its branches
    merged = rf.contribution_map(net, (21,), "paths", weights={"b2": 2.0})
    np.testing.assert_allclose(merged, 2 * ones)


def test_weights_validation():
    net = rf.Sequential(rf.Conv(3, name="c"))
    with pytest.raises(rf.RFGraphError, match="weights='max' is unknown"):
        rf.contribution_map(net, (5,), "paths", weights="max")
    with pytest.raises(rf.RFGraphError, match="names no op.*c"):
        rf.contribution_map(net, (5,), "paths", weights={"d": 1.0})
    with pytest.raises(rf.RFGraphError, match="finite number"):
        rf.contribution_map(net, (5,), "paths", weights={"c": float("nan")})
    with pytest.raises(rf.RFGraphError, match="applies to metric='paths'"):
        rf.contribution_map(net, (5,), "edges", weights="mean")
    with pytest.raises(rf.RFGraphError, match="exact=True keeps integer weights exact"):
        rf.contribution_map(net, (5,), "paths", weights="mean", exact=True)
    with pytest.raises(rf.RFGraphError, match="method='general' counts unweighted"):
        rf.contribution_map(net, (5,), "paths", weights="mean", method="general")
    with pytest.raises(rf.RFGraphError, match="must be 'ones', 'mean' or a dict"):
        rf.contribution_map(net, (5,), "paths", weights=[1.0])
