"""rfgraph against an oracle that shares nothing with the engine (issue 24).

Per op family, the edge set of every parameter combination on a grid is read off torch
(:mod:`tests.oracle_grid`) and compared with rfgraph's, and each op's receptive-field
record with the exact fields of every position.  Random networks (hypothesis) are
composed from torch-derived edge sets (:mod:`tests.oracle_nets`) and compared with
``contribution_map`` (paths and edges), ``reach``, ``coverage``, the records of every
tensor and ``tiles``.  The default run takes a slice of the grid and a few dozen
networks; the slow marker runs all of it.
"""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from . import oracle_grid as og  # noqa: E402
from . import oracle_nets as on  # noqa: E402
from . import oracle_torch as ot  # noqa: E402

# every k-th case of a family's grid in the default run
SLICE = {
    "conv": 23,
    "pool": 7,
    "deconv": 7,
    "upsample": 1,
    "resize": 5,
    "resize2d": 3,
    "pad": 3,
    "index": 5,
    "window": 2,
}


@pytest.mark.parametrize("family", list(og.FAMILIES))
def test_grid_slice(family):
    counts, problems = og.run_family(family, every=SLICE[family])
    assert counts.get("ok", 0) > 0
    assert not problems, "\n".join(problems[:20])


@pytest.mark.slow
@pytest.mark.parametrize("family", list(og.FAMILIES))
def test_grid_full(family):
    counts, problems = og.run_family(family)
    assert not problems, "\n".join(problems[:20])


def compare(built: on.Built) -> list[str]:
    """Every answer of rfgraph on ``built.net`` against the torch-composed oracle."""
    net, oracle = built.net, built.oracle
    shape = oracle.input_shape
    problems: list[str] = []
    plan = rf.build_plan(net, shape)
    out = oracle.nodes[-1].shape
    if plan.output.shape != out:
        return [f"output shape {plan.output.shape}, oracle {out}"]
    paths = oracle.paths()
    n_out = paths.shape[0]
    targets = sorted({0, n_out - 1, n_out // 2, int(np.ravel_multi_index(tuple(n // 2 for n in out), out))})
    for flat in targets:
        t = np.unravel_index(flat, out)
        t = tuple(int(i) for i in t)
        mine = rf.contribution_map(net, shape, "paths", target=t, exact=True)
        if mine.ravel().tolist() != paths[flat].tolist():
            problems.append(f"paths at {t} differ")
        edges = oracle.edges(flat)
        mine_e = rf.contribution_map(net, shape, "edges", target=t)
        if mine_e.ravel().tolist() != edges.tolist():
            problems.append(f"edges at {t} differ")
        if (rf.reach(net, shape, target=t).ravel() != (paths[flat] > 0)).any():
            problems.append(f"reach at {t} differs")
    reach = paths > 0
    if rf.coverage(net, shape).ravel().tolist() != reach.sum(axis=0).tolist():
        problems.append("coverage differs")
    total = rf.contribution_map(net, shape, "paths", target="all", exact=True)
    if total.ravel().tolist() != paths.sum(axis=0).tolist():
        problems.append("paths target='all' differ")
    # records: every tensor when the plan's tensors are the oracle's nodes, else the output
    recs = rf.receptive_field(net, shape)
    same = len(recs) == len(oracle.nodes) and all(r.shape == nd.shape for r, nd in zip(recs, oracle.nodes))
    check = range(1, len(recs)) if same else [len(recs) - 1]
    for i in check:
        node = i if same else len(oracle.nodes) - 1
        found, _ = ot.record_problems(recs[i], oracle.reach(node), shape, built.node_wraps[node], built.tight)
        problems += [f"record {recs[i].name}: {p}" for p in found]
    problems += _tiles(built)
    return problems


def _tiles(built: on.Built) -> list[str]:
    net, oracle = built.net, built.oracle
    shape = oracle.input_shape
    tile = tuple(max(1, n // 2) for n in shape)
    try:
        plan = rf.tiles(net, shape, tile)
    except rf.RFGraphError:
        return []
    g = torch.Generator().manual_seed(3)
    image = torch.randint(0, 5, (1, 1, *shape), generator=g).to(torch.float64)
    full = oracle.run(image)
    stitched = torch.full_like(full, float("nan"))
    for t in plan:
        try:
            part = oracle.run(image[(..., *t.input)])
        except RuntimeError as err:
            if "smaller than kernel size" in str(err):
                return []  # torch's avg_pool3d alone refuses an input smaller than its kernel, padded or not
            return [f"tile {t} with input {tuple(image[(..., *t.input)].shape[2:])}: torch refuses: {err}"]
        stitched[(..., *t.output)] = part[(..., *t.crop)]
    if not torch.allclose(stitched, full, rtol=1e-9, atol=1e-9):
        return [f"tiles {tile} do not reproduce the whole-image output"]
    return []


SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=12, **SETTINGS)
@given(data=st.data())
def test_random_networks(ndim, data):
    built = data.draw(on.networks(ndim, max_blocks=3))
    problems = compare(built)
    assert not problems, f"{built.net!r} on {built.oracle.input_shape}: " + "; ".join(problems[:10])


@pytest.mark.slow
@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_random_networks_many(ndim, data):
    built = data.draw(on.networks(ndim, max_blocks=5))
    problems = compare(built)
    assert not problems, f"{built.net!r} on {built.oracle.input_shape}: " + "; ".join(problems[:10])
