"""Many targets at once, cropping to the field, exact counts at speed (issue 17)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import rfgraph as rf
from bench.legacy import legacy_map
from rfgraph.engine import reference
from rfgraph.plan import build_plan

from .strategies import cases

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
SEED = rf.Sequential(*[rf.Conv(3) for _ in range(5)])


def _targets(net, shape):
    return [tuple(int(i) for i in t) for t in np.ndindex(*build_plan(net, shape).output.shape)]


def _check_many(net, shape, target):
    targets = _targets(net, shape)
    paths = [np.array(reference.contribution_map(net, shape, "paths", t), dtype=object) for t in targets]
    # the sum over every output position, one sweep
    total = rf.contribution_map(net, shape, "paths", target="all")
    assert np.array_equal(total, sum(paths).astype(np.float64))
    assert (rf.contribution_map(net, shape, "paths", target="all", exact=True) == sum(paths)).all()
    # coverage = how many outputs each pixel reaches (sum of reach masks), both algorithms
    expected = sum((p > 0).astype(np.int64) for p in paths)
    for method in ("auto", "general"):
        cov = rf.coverage(net, shape, method=method)
        assert cov.dtype == np.int64 and np.array_equal(cov, expected), method
    # a list of targets gives the stacked maps
    chosen = [target, targets[0], targets[-1]]
    for metric in ("edges", "paths"):
        stacked = rf.contribution_map(net, shape, metric, chosen)
        assert stacked.shape == (3, *shape)
        for row, t in zip(stacked, chosen):
            assert np.array_equal(row, rf.contribution_map(net, shape, metric, t))
    assert np.array_equal(
        rf.contribution_map(net, shape, "edges", "all"),
        sum(rf.contribution_map(net, shape, "edges", t) for t in targets),
    )
    # every output at once: batched sweeps over one crop (issue 28), equal to the reference
    every = rf.contribution_map(net, shape, "paths", targets)
    assert np.array_equal(every, np.stack(paths).astype(np.float64))
    masks = rf.reach(net, shape, chosen)
    assert np.array_equal(masks, np.stack([rf.reach(net, shape, t) for t in chosen]))


@EXAMPLES
@given(cases(ndim=1, max_ops=5, max_size=12))
def test_many_targets_1d(case):
    _check_many(*case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(cases(ndim=2, max_ops=3, max_size=5))
def test_many_targets_2d(case):
    _check_many(*case)


@EXAMPLES
@given(cases(ndim=1, max_ops=6, max_size=12))
def test_cropped_equals_uncropped(case):
    """The cropped engine against the previous, uncropped algorithm, on large inputs."""
    net, shape, target = case
    big = (shape[0] * 5,)
    plan = build_plan(net, big)
    for t in {(0,), (plan.output.shape[0] - 1,), (plan.output.shape[0] // 3,)}:
        for metric in ("edges", "paths"):
            fast = rf.contribution_map(net, big, metric, t)
            old = legacy_map(plan, metric, t)
            assert np.array_equal(fast, old.astype(fast.dtype)), (metric, t)


@pytest.mark.parametrize("target", [(0, 0), (0, 29), (29, 0), (29, 29), (3, 17)])
def test_corner_targets_2d(target):
    net = rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), rf.Residual(rf.Conv(3, padding=1)), rf.Conv(3, dilation=2))
    shape = (64, 64)
    plan = build_plan(net, shape)
    target = tuple(min(i, n - 1) for i, n in zip(target, plan.output.shape))
    for metric in ("edges", "paths"):
        fast = rf.contribution_map(net, shape, metric, target)
        old = legacy_map(plan, metric, target)
        assert np.array_equal(fast, old.astype(fast.dtype))
        assert np.array_equal(rf.contribution_map(net, shape, metric, target, method="general"), fast)


def test_trinomial_coefficients_stay_exact():
    """60 layers of 3 taps: the centre of the paths map is the central trinomial coefficient."""
    net = rf.Sequential(*[rf.Conv(3) for _ in range(60)])
    paths = rf.contribution_map(net, (121,), "paths", exact=None)  # beyond 2**53: switches to exact ints
    expected = [sum(math.comb(60, k) * math.comb(60 - k, k + abs(j)) for k in range(61)) for j in range(-60, 61)]
    assert paths.dtype == object and paths.tolist() == expected and paths[60] > 2**53
    assert rf.contribution_map(net, (121,), "paths", exact=True).tolist() == expected
    two_d = rf.contribution_map(net, (121, 121), "paths", exact=None)
    assert two_d[60, 60] == expected[60] ** 2 and two_d[0, 7] == expected[0] * expected[7]
    rounded = rf.contribution_map(net, (121,), "paths")  # the default: float64, like torch autograd
    assert rounded.dtype == np.float64 and rounded[60] == pytest.approx(expected[60], rel=1e-12)


def test_paths_never_inf():
    net = rf.Sequential(*[rf.Residual(rf.Conv(1)) for _ in range(1100)])
    assert rf.contribution_map(net, (3,), "paths", exact=None).tolist() == [0, 2**1100, 0]
    assert rf.contribution_map(net, (3,), "paths", exact=True).tolist() == [0, 2**1100, 0]
    with pytest.raises(rf.RFGraphError, match="exact=True"):
        rf.contribution_map(net, (3,), "paths")


def test_small_counts_stay_float64():
    assert rf.contribution_map(SEED, (15, 15), "paths", exact=None).dtype == np.float64
    assert rf.contribution_map(SEED, (15,), "paths", target="all").dtype == np.float64


def test_long_1d_edges_do_not_build_quadratic_matrices():
    net = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(20)])
    edges = rf.contribution_map(net, (100_000,), "edges")
    assert (edges > 0).sum() == 41 and edges[50_000] == rf.contribution_map(net, (101,), "edges")[50]


def test_reach_refuses_huge_inputs_before_allocating(monkeypatch):
    from rfgraph import engine

    monkeypatch.setattr(engine, "_available_memory", lambda: 1 << 30)
    with pytest.raises(rf.RFGraphError, match="smaller input"):
        rf.reach(rf.Conv(3), (100_000, 100_000))


def test_memory_guard_reads_mem_available():
    from rfgraph import engine

    with open("/proc/meminfo") as fh:
        available = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    assert abs(engine._available_memory() - available) < 1 << 30


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(target="everything"), "'all'"),
        (dict(target=[]), "no target"),
        (dict(target=[(1,), (99,)]), "outside the output"),
        (dict(exact=True), "metric='paths'"),
        (dict(exact="yes"), "exact='yes'"),
    ],
)
def test_bad_many_target_arguments(kwargs, message):
    with pytest.raises(rf.RFGraphError, match=message):
        rf.contribution_map(SEED, (15,), **kwargs)


def test_import_is_lazy():
    code = (
        "import sys, rfgraph as rf; rf.Conv(3); "
        "print(sorted(m for m in ('numba', 'networkx', 'matplotlib', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = "import sys, rfgraph as rf; rf.contribution_map; print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_plan_budget_refuses_runaway_networks(monkeypatch):
    from rfgraph import plan as plan_module
    from rfgraph.geometry import limits

    monkeypatch.setattr(limits, "MAX_PLAN_ENTRIES", 10_000)
    with pytest.raises(rf.RFGraphError, match="index pairs"):
        plan_module._build.__wrapped__(rf.Sequential(*[rf.Conv(11)] * 200), (3_000,), None)
