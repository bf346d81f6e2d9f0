"""The fast engine against the literal networkx reference and against itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import rfgraph as rf
from rfgraph.engine import reference

from .strategies import cases

SEED = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
EXAMPLES = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)


def _check_against_reference(net, shape, target):
    for metric in ("edges", "paths"):
        expected = np.array(reference.contribution_map(net, shape, metric, target), dtype=object)
        by_sets = np.array(reference.contribution_map(net, shape, metric, target, algorithm="sets"), dtype=object)
        assert (by_sets == expected).all(), (metric, "sets")
        fast = rf.contribution_map(net, shape, metric, target)
        general = rf.contribution_map(net, shape, metric, target, method="general")
        assert fast.shape == shape
        assert np.array_equal(fast, expected.astype(fast.dtype)), (metric, net, shape, target)
        assert np.array_equal(general, fast), (metric, "general", net)
        if metric == "paths":
            exact = rf.contribution_map(net, shape, metric, target, exact=True)
            assert exact.dtype == object and (exact == expected).all()
        else:
            assert fast.dtype == np.int64
            assert np.array_equal(rf.contribution_map(net, shape, metric, target, method="separable"), fast)
    mask = rf.reach(net, shape, target)
    assert np.array_equal(mask, np.array(reference.contribution_map(net, shape, "paths", target)) > 0)


@EXAMPLES
@given(cases(ndim=1, max_ops=6, max_size=12))
def test_random_1d_networks_equal_reference(case):
    _check_against_reference(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(cases(ndim=2, max_ops=3, max_size=5))
def test_random_2d_networks_equal_reference(case):
    _check_against_reference(*case)


def test_seed_profile():
    assert rf.contribution_map(SEED, (15,)).tolist() == [0, 0, 5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5, 0, 0]
    assert rf.contribution_map(SEED, (15,), "paths")[2:13].tolist() == [1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]
    assert rf.profile(SEED, (15,))[2:13].tolist() == [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]


def test_seed_profile_2d():
    edges = rf.contribution_map(SEED, (15, 15))
    paths = rf.contribution_map(SEED, (15, 15), "paths")
    assert edges[7, 7] == 349 and edges[2, 2] == 5 and paths[7, 7] == 2601
    assert edges[0].sum() == 0 and edges[:, 14].sum() == 0
    assert np.array_equal(edges, edges.T)
    assert rf.profile(SEED, (15, 15), axis=1)[2:13].tolist() == [
        rf.contribution_map(SEED, (15, 15))[7, j] for j in range(2, 13)
    ]


def test_dilation_holes():
    net = rf.Sequential(rf.Conv(3, dilation=1), rf.Conv(3, dilation=4))
    mask = rf.reach(net, (11,))
    assert mask.sum() == 9 and not mask[3] and not mask[7]
    edges = rf.contribution_map(net, (11,))
    assert (edges > 0).sum() == 9 and edges[3] == edges[7] == 0


def test_non_centre_target_and_endpoint():
    net = rf.Sequential(rf.Conv(3, name="a"), rf.Conv(3, name="b"))
    corner = rf.contribution_map(net, (9,), target=(0,))
    assert corner.tolist() == [2, 4, 6, 4, 2, 0, 0, 0, 0]  # input 2: 3 edges into a, 3 from a to b[0]
    at_a = rf.contribution_map(net, (9,), endpoint="a")
    assert at_a.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0]


def test_residual_identity_path_counts():
    block = rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)))
    paths = rf.contribution_map(block, (9,), "paths", exact=True)
    # identity path adds exactly one path at the centre
    body = rf.contribution_map(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (9,), "paths", exact=True)
    assert (paths - body).tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_exact_paths_are_python_ints_beyond_float64():
    deep = rf.Sequential(*[rf.Conv(9, padding=4) for _ in range(20)])
    exact = rf.contribution_map(deep, (41,), "paths", exact=True)
    approx = rf.contribution_map(deep, (41,), "paths")
    assert isinstance(exact[20], int) and exact[20] > 2**53
    assert float(exact[20]) == pytest.approx(approx[20], rel=1e-12)


def test_general_engine_matches_on_parallel_dilations():
    aspp = rf.Sequential(
        rf.Conv(3, padding=1),
        rf.Concat(rf.Conv(1), *[rf.Conv(3, padding=r, dilation=r) for r in (2, 4, 6)]),
        rf.Conv(1),
    )
    fast = rf.contribution_map(aspp, (25, 25))
    assert np.array_equal(fast, rf.contribution_map(aspp, (25, 25), method="general"))
    assert np.array_equal(rf.reach(aspp, (25, 25)), fast > 0)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(metric="flow"), "metric='flow' is unknown"),
        (dict(target=(15,)), "outside the output"),
        (dict(target=(1, 2)), "has 2 indices, but the output of 'conv5' is 1-D"),
        (dict(method="magic"), "method='magic' is unknown"),
    ],
)
def test_bad_arguments(bad, message):
    with pytest.raises(rf.RFGraphError, match=message.replace("(", r"\(")):
        rf.contribution_map(SEED, (15,), **bad)


def test_exact_paths_refused_when_unaffordable(monkeypatch):
    from rfgraph import engine

    monkeypatch.setattr(engine, "MAX_EXACT_WORK", 10)
    with pytest.raises(rf.RFGraphError, match="exact=False"):
        rf.contribution_map(SEED, (15,), "paths", exact=True)


def test_memory_estimate_refuses_huge_maps(monkeypatch):
    from rfgraph import engine

    monkeypatch.setattr(engine, "_available_memory", lambda: 1 << 20)
    with pytest.raises(rf.RFGraphError, match="try a smaller input such as"):
        rf.contribution_map(SEED, (4000, 4000), "paths")


def test_int64_overflow_detected(monkeypatch):
    from rfgraph import engine

    monkeypatch.setattr(engine, "INT64_MAX", 10)
    with pytest.raises(rf.RFGraphError, match="exceed int64"):
        rf.contribution_map(SEED, (15,))


@pytest.mark.parametrize("target", [(3.7,), "12", (True,), 2.0])
def test_targets_must_be_integers(target):
    with pytest.raises(rf.RFGraphError, match="integer indices"):
        rf.contribution_map(SEED, (15,), target=target)


def test_numpy_integers_and_non_op_networks():
    assert rf.contribution_map(SEED, (np.int64(15),), target=(np.int64(2),)).max() == 37
    assert rf.Conv(np.int64(3)) == rf.Conv(3)
    for bad in ([rf.Conv(3)], {"a": 1}):
        with pytest.raises(rf.RFGraphError, match="must be an rfgraph op"):
            rf.contribution_map(bad, (15,))
    with pytest.raises(rf.RFGraphError, match="must be a tensor name"):
        rf.contribution_map(SEED, (15,), endpoint=["conv1"])
    with pytest.raises(rf.RFGraphError, match="axis='0' is out of range"):
        rf.profile(SEED, (15, 15), axis="0")


def test_memory_refusal_suggests_a_feasible_input(monkeypatch):
    from rfgraph import engine

    monkeypatch.setattr(engine, "_available_memory", lambda: 64 << 20)
    with pytest.raises(rf.RFGraphError, match="try a smaller input such as") as info:
        rf.contribution_map(SEED, (3000, 3000))
    suggested = eval(str(info.value).rsplit("such as ", 1)[1])
    assert rf.contribution_map(SEED, suggested).max() == 349


def test_cropped_map_with_an_empty_row_is_no_identity() -> None:
    """Issue 28's compiled sweep skips identity maps: a cropped map with as many edges as rows, one
    row empty and one with two inputs (indices 0, 1 like an identity's), must still be pulled."""
    net = rf.Sequential(
        rf.Conv(2, stride=2, padding=2),
        rf.Sequential(
            rf.Conv(1, padding="same", name="r0"),
            rf.Pool(3, stride=1, padding=1),
            rf.Add(rf.Identity(), rf.Ref("r0")),
            name="d1",
        ),
    )
    for target in [(0,), (4,), "all"]:
        expected = (
            sum(np.array(reference.contribution_map(net, (15,), "paths", (t,)), dtype=float) for t in range(9))
            if target == "all"
            else np.array(reference.contribution_map(net, (15,), "paths", target), dtype=float)
        )
        assert np.array_equal(rf.contribution_map(net, (15,), "paths", target), expected), target
    every = rf.contribution_map(net, (15,), "paths", [(t,) for t in range(9)])
    assert np.array_equal(every.sum(axis=0), rf.contribution_map(net, (15,), "paths", "all"))
