"""``rf.path_lengths`` (SPEC section 11): Veit et al.'s binomial on the op graph, and per-pixel
counts by length that add up to the path-count map."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import rfgraph as rf

from .strategies import cases


@pytest.mark.parametrize("n", [1, 3, 10, 54])
def test_residual_stacks_give_binomial_counts(n):
    blocks = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(n)])
    assert rf.path_lengths(blocks).tolist() == [comb(n, k) for k in range(n + 1)]


def test_two_op_bodies_and_index_maps():
    # a body of two convs adds 2 per block; Pad, Slice and merges add nothing; a head adds 1
    body = rf.Sequential(rf.Conv(3, padding=1), rf.Pad(0), rf.Conv(3, padding=1))
    net = rf.Sequential(rf.Conv(3), *[rf.Residual(body) for _ in range(3)], rf.Slice(0, None, 1), rf.GlobalPool())
    counts = rf.path_lengths(net)
    expected = [0] * 9
    for k in range(4):
        expected[2 + 2 * k] = comb(3, k)
    assert counts.tolist() == expected


def test_huge_counts_stay_exact():
    blocks = rf.Sequential(*[rf.Residual(rf.Conv(1)) for _ in range(70)])
    counts = rf.path_lengths(blocks)
    assert counts.dtype == object and counts[35] == comb(70, 35) and sum(counts) == 2**70
    pixel = rf.path_lengths(rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(50)]), (11,))
    total = rf.contribution_map(
        rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(50)]), (11,), "paths", exact=True
    )
    assert sum(int(v) for v in pixel) == int(total.sum())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases(ndim=1, max_ops=4, extended=True))
def test_per_pixel_counts_sum_to_the_path_map_1d(case):
    net, shape, target = case
    per = rf.path_lengths(net, shape, target, per_pixel=True)
    assert per.shape[0] == len(rf.path_lengths(net, shape, target))
    np.testing.assert_array_equal(per.sum(axis=0), rf.contribution_map(net, shape, "paths", target, exact=True))
    assert rf.path_lengths(net, shape, target).tolist() == per.reshape(per.shape[0], -1).sum(axis=1).tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases(ndim=2, max_ops=3, max_size=7, extended=True))
def test_per_pixel_counts_sum_to_the_path_map_2d(case):
    net, shape, target = case
    per = rf.path_lengths(net, shape, target, per_pixel=True)
    np.testing.assert_array_equal(per.sum(axis=0), rf.contribution_map(net, shape, "paths", target, exact=True))


def test_pixel_lengths_of_a_residual_stack():
    blocks = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(4)])
    # away from the border, k convs give 3**k pixel paths each
    assert rf.path_lengths(blocks, (9,)).tolist() == [comb(4, k) * 3**k for k in range(5)]
    per = rf.path_lengths(blocks, (9,), per_pixel=True)
    assert per[0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]  # only the all-shortcut path stays at the centre


def test_path_lengths_validation():
    net = rf.Sequential(rf.Conv(3))
    with pytest.raises(rf.RFGraphError, match="need shape"):
        rf.path_lengths(net, per_pixel=True)
    with pytest.raises(rf.RFGraphError, match="per_pixel"):
        rf.path_lengths(net, (5,), per_pixel="yes")
    with pytest.raises(rf.RFGraphError, match="outside"):
        rf.path_lengths(net, (5,), target=(9,))


def test_plot_path_lengths():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from rfgraph.plot import plot_path_lengths

    blocks = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(4)])
    fig = plot_path_lengths(blocks, (9,), fig=Figure())
    assert len(fig.axes) == 2
    fig = plot_path_lengths(blocks, scale="log", fig=Figure())
    assert len(fig.axes) == 1
