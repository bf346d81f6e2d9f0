"""Tests of rfgraph.erf: statistics, closed forms, scaling study, empirical ERF, CLI."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import rfgraph as rf
from rfgraph import erf
from rfgraph.cli import main

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers


def _random_layer(rng: random.Random, ndim: int) -> rf.Op:
    def value(lo: int, hi: int) -> int | tuple[int, ...]:
        vals = tuple(rng.randint(lo, hi) for _ in range(ndim))
        return vals[0] if ndim == 1 or rng.random() < 0.3 else vals

    kind = rng.random()
    if kind < 0.7:
        return rf.Conv(value(1, 5), stride=value(1, 3), dilation=value(1, 3), padding=value(0, 2))
    return rf.Pool(value(1, 4), stride=value(1, 3), dilation=value(1, 2), padding=0)


def _random_chain(rng: random.Random, ndim: int) -> rf.Sequential:
    depth = rng.randint(1, 4 if ndim == 1 else 3)
    return rf.Sequential(*[_random_layer(rng, ndim) for _ in range(depth)])


def _unclipped_setting(net: rf.Op, pred: erf.ERFPrediction) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """An input shape and a target whose whole receptive field lies inside the input."""
    target = tuple(max(0, -(lo // j)) for lo, j in zip(pred.lo, pred.stride, strict=False))
    shape = [o * j + hi + 1 for o, j, hi in zip(target, pred.stride, pred.hi, strict=False)]
    for _ in range(50):
        try:
            out = rf.build_plan(net, tuple(shape)).output.shape
        except rf.RFGraphError:
            out = (0,) * len(shape)
        if all(o < n for o, n in zip(target, out, strict=False)):
            return tuple(shape), target
        shape = [n + j for n, j in zip(shape, pred.stride, strict=False)]
    raise AssertionError("no unclipped setting found")  # pragma: no cover


def _map_moments(values: np.ndarray) -> tuple[list[float], list[float]]:
    s = erf.erf_stats(values, (0.5,), ())
    return list(s.mean), list(s.variance)


# --------------------------------------------------------------------------- closed forms


def test_five_three_tap_layers_give_exactly_ten_thirds() -> None:
    net = rf.parse_spec("conv3*5")
    pred = erf.predict(net)
    assert pred.variance == (Fraction(10, 3),)
    assert pred.span == (11,) and pred.paths == 3**5
    exact = rf.contribution_map(net, (11,), "paths", exact=True)
    total = sum(exact)
    mean = Fraction(sum(i * int(v) for i, v in enumerate(exact)), total)
    var = Fraction(sum((i - mean) ** 2 * int(v) for i, v in enumerate(exact)), total)
    assert var == Fraction(10, 3) and mean == 5
    values = rf.contribution_map(net, (11, 11), "paths")
    _, variances = _map_moments(values)
    assert variances == pytest.approx([10 / 3, 10 / 3], rel=1e-12)


def test_closed_form_matches_maps_of_random_chains() -> None:
    rng = random.Random(20240606)
    checked = 0
    for case in range(120):
        ndim = 1 if case % 3 else 2
        net = _random_chain(rng, ndim)
        pred = erf.predict(net, None if ndim == 1 or case % 2 else (64,) * ndim)
        assert len(pred.variance) == ndim
        shape, target = _unclipped_setting(net, pred)
        values = rf.contribution_map(net, shape, "paths", target)
        assert float(values.sum()) == pytest.approx(pred.paths, rel=1e-12), net
        means, variances = _map_moments(values)
        for a in range(ndim):
            want = float(pred.variance[a])
            assert abs(variances[a] - want) <= 1e-9 * max(want, 1e-300) or want == variances[a] == 0, (net, a)
            assert means[a] == pytest.approx(float(pred.mean(target)[a]), rel=1e-12, abs=1e-9), net
        # The span is the arithmetic's receptive-field size, and the support lies in [lo, hi].
        assert pred.span == rf.receptive_field(net, shape)[-1].size
        nz = np.nonzero(values)
        for a in range(ndim):
            assert nz[a].min() >= target[a] * pred.stride[a] + pred.lo[a]
            assert nz[a].max() <= target[a] * pred.stride[a] + pred.hi[a]
        checked += 1
    assert checked >= 100


def test_closed_form_with_exact_fractions_for_small_chains() -> None:
    rng = random.Random(7)
    for _ in range(20):
        net = _random_chain(rng, 1)
        pred = erf.predict(net)
        shape, target = _unclipped_setting(net, pred)
        exact = rf.contribution_map(net, shape, "paths", target, exact=True)
        total = int(sum(exact))
        assert total == pred.paths
        mean = Fraction(sum(i * int(v) for i, v in enumerate(exact)), total)
        var = Fraction(sum((i - mean) ** 2 * int(v) for i, v in enumerate(exact)), total)
        assert var == pred.variance[0] and mean == pred.mean(target)[0]


def test_chain_formula_by_hand() -> None:
    # sum_l (J_l d_l)^2 (k_l^2 - 1) / 12 with per-axis parameters.
    net = rf.Sequential(rf.Conv(3), rf.Conv((3, 5), stride=2), rf.Pool(2), rf.Conv(3, dilation=2))
    pred = erf.predict(net)
    terms0 = [(1, 1, 3), (1, 1, 3), (2, 1, 2), (4, 2, 3)]
    terms1 = [(1, 1, 3), (1, 1, 5), (2, 1, 2), (4, 2, 3)]
    for a, terms in enumerate((terms0, terms1)):
        assert pred.variance[a] == sum(Fraction((j * d) ** 2 * (k * k - 1), 12) for j, d, k in terms)
        assert pred.span[a] == 1 + sum(j * d * (k - 1) for j, d, k in terms)
    assert pred.paths == 3 * 3 * 3 * 5 * 2 * 2 * 3 * 3


@pytest.mark.parametrize(
    "spec",
    [
        "res(conv3p1,conv3p1)*3",
        "conv3,add(id|conv3p1|conv5p4d2),pool2,res(conv3p1)",
        "cat(conv1|conv3p1|pool3s1p1),conv3s2,res(conv3p1s1|conv1)",
        "res(conv3p1s2|pool2),conv3",
    ],
)
def test_closed_form_is_exact_for_merges(spec: str) -> None:
    net = rf.parse_spec(spec)
    pred = erf.predict(net)
    shape, target = _unclipped_setting(net, pred)
    values = rf.contribution_map(net, shape, "paths", target)
    assert float(values.sum()) == pytest.approx(pred.paths, rel=1e-12)
    means, variances = _map_moments(values)
    assert variances[0] == pytest.approx(float(pred.variance[0]), rel=1e-9)
    assert means[0] == pytest.approx(float(pred.mean(target)[0]), rel=1e-12)
    # In 2-D a merge is a mixture of products: the branch weights are 2-D path counts,
    # so the per-axis variance differs from the 1-D one, and is still exact.
    shape2 = shape + shape
    pred2 = erf.predict(net, shape2)
    assert pred2.paths > pred.paths
    values = rf.contribution_map(net, shape2, "paths", target + target)
    assert float(values.sum()) == pytest.approx(pred2.paths, rel=1e-12)
    means, variances = _map_moments(values)
    for a in range(2):
        assert variances[a] == pytest.approx(float(pred2.variance[a]), rel=1e-9)
        assert means[a] == pytest.approx(float(pred2.mean(target + target)[a]), rel=1e-12)


def test_predict_names_ops_without_closed_form() -> None:
    with pytest.raises(rf.RFGraphError, match="Upsample 'up'.*contribution_map"):
        erf.predict(rf.Sequential(rf.Conv(3), rf.Upsample(2, name="up")), (16,))
    with pytest.raises(rf.RFGraphError, match="ConvTranspose"):
        erf.predict(rf.Sequential(rf.ConvTranspose(4, stride=2)))
    with pytest.raises(rf.RFGraphError, match="Add.*different effective strides"):
        erf.predict(rf.Add(rf.Conv(1, stride=2), rf.Conv(9)), (16,))
    with pytest.raises(rf.RFGraphError, match="input_shape"):
        erf.predict(rf.Sequential(rf.Conv(3, stride=2, padding="same")))
    with pytest.raises(rf.RFGraphError, match="input_shape"):
        erf.predict(rf.Sequential(rf.Conv(3), rf.GlobalPool()))
    # With the input size a global pool is a window as large as its input.
    pred = erf.predict(rf.Sequential(rf.Conv(3), rf.GlobalPool()), (9,))
    values = rf.contribution_map(rf.Sequential(rf.Conv(3), rf.GlobalPool()), (9,), "paths")
    assert pred.paths == values.sum() == 21
    assert _map_moments(values)[1][0] == pytest.approx(float(pred.variance[0]), rel=1e-12)


# --------------------------------------------------------------------------- statistics


def test_stats_of_simple_maps() -> None:
    delta = np.zeros((7, 7))
    delta[3, 2] = 5.0
    s = erf.erf_stats(delta)
    assert s.mean == (3.0, 2.0) and s.variance == (0.0, 0.0) and s.mass == 5.0
    assert s.support == 1 and s.holes == 0 and s.rf_area == 1
    assert all(r == 0.0 for r in s.radius.values())
    assert s.gaussian_tv == pytest.approx(0.0, abs=1e-12)

    flat = np.ones(9)
    s = erf.erf_stats(flat, fractions=(1 / 3, 1.0))
    assert s.variance == pytest.approx(((81 - 1) / 12,))
    assert s.radius[1 / 3] == 1.0 and s.radius[1.0] == 4.0
    assert s.rf_fraction == {1 / 3: pytest.approx(1 / 3), 1.0: 1.0}

    dilated = rf.contribution_map(rf.Sequential(rf.Conv(2), rf.Conv(3, dilation=3)), (8, 8), "paths")
    s = erf.erf_stats(dilated)
    assert s.rf_area == 64 and s.support == 36 and s.holes == 28
    assert s.hole_fraction == pytest.approx(28 / 64)


def test_stats_reject_bad_maps() -> None:
    for bad, match in [
        (np.zeros(5), "all zero"),
        (np.array([1.0, -1.0]), "negative"),
        (np.array([1.0, np.nan]), "NaN"),
        (np.zeros((0,)), "non-empty"),
    ]:
        with pytest.raises(rf.RFGraphError, match=match):
            erf.erf_stats(bad)
    with pytest.raises(rf.RFGraphError, match="fraction"):
        erf.erf_stats(np.ones(3), fractions=(1.5,))


def test_deep_chain_is_gaussian_and_edge_map_is_not() -> None:
    net = rf.parse_spec("conv3*20")
    paths = erf.network_erf_stats(net, (41, 41), "paths")
    edges = erf.network_erf_stats(net, (41, 41), "edges")
    assert paths.gaussian_r2 > 0.999 and paths.gaussian_tv < 0.01
    assert edges.gaussian_tv > 0.05
    assert paths.rf_area == edges.rf_area == 41 * 41
    assert paths.rf_fraction[0.5] < edges.rf_fraction[0.5]


def _their_get_rectangle(data: np.ndarray, thresh: float) -> tuple[int, float] | None:
    """Literal semantics of RepLKNet's erf/analyze_erf.py get_rectangle (for 2-D square maps)."""
    h, w = data.shape
    total = data.sum()
    for i in range(1, h // 2):
        part = data[h // 2 - i : h // 2 + 1 + i, w // 2 - i : w // 2 + 1 + i].sum()
        if part / total > thresh:
            return 2 * i + 1, (2 * i + 1) / h * (2 * i + 1) / w
    return None


def test_replknet_area_ratio_follows_their_analysis() -> None:
    rng = np.random.default_rng(0)
    for n in (8, 9, 31, 32):
        for scale in (1e-3, 1.0, 1e6):
            raw = scale * rng.gamma(0.5, size=(n, n)) * np.exp(-((np.arange(n) - n / 2) ** 2) / n)[:, None]
            theirs_input = np.log10(raw + 1)
            theirs_input = theirs_input / theirs_input.max()
            ours = erf.replknet_area_ratio(raw)
            for t in erf.REPLKNET_THRESHOLDS:
                want = _their_get_rectangle(theirs_input, t)
                got = ours[t]
                if want is None:
                    assert got.side is None and math.isnan(got.ratio)
                else:
                    assert (got.side, got.ratio) == pytest.approx(want, rel=1e-15)


def test_area_ratio_variants_differ_by_scale() -> None:
    values = rf.contribution_map(rf.parse_spec("conv3*10"), (31, 31), "paths")
    linear = erf.area_ratio(values)
    assert erf.area_ratio(values * 1e-9) == linear  # scale-free
    log_big = erf.replknet_area_ratio(values)
    log_small = erf.replknet_area_ratio(values * 1e-12)
    # Tiny values: log10(1 + x) ~ x / ln 10, the RepLKNet ratio equals the linear one.
    assert log_small == linear
    # Huge path counts: the log flattens the map and the area grows.
    assert all(log_big[t].ratio >= linear[t].ratio for t in (0.2, 0.3, 0.5))
    assert log_big[0.5].ratio > linear[0.5].ratio


# --------------------------------------------------------------------------- scaling study


def test_scaling_study_paths_exponent_is_one_half() -> None:
    ns = range(8, 65, 4)
    for kw in ({}, {"dilation": 2}, {"stride": 2}):
        s = erf.scaling_study(ns, fit_from=8, fractions=(0.5, 0.9), **kw)
        assert s.exponents["std"] == pytest.approx(0.5, abs=0.03), kw
        assert s.exponents["radius@0.5"] == pytest.approx(0.5, abs=0.03), kw
        assert s.exponents["radius@0.9"] == pytest.approx(0.5, abs=0.03), kw
        assert s.exponents["span"] == pytest.approx(1.0, abs=0.03), kw
        assert s.exponents["ratio"] == pytest.approx(-0.5, abs=0.03), kw
        assert all(a > b for a, b in zip(s.ratio, s.ratio[1:], strict=False))  # the ratio shrinks
    plain = erf.scaling_study(range(1, 65), ndim=1, fractions=(0.5,))
    assert plain.exponents["std"] == pytest.approx(0.5, abs=1e-12)  # std = sqrt(2n/3) exactly
    assert plain.std[4] == pytest.approx(math.sqrt(10 / 3), rel=1e-12)
    assert "std/span" in plain.table()


def test_scaling_study_edges_grow_linearly() -> None:
    s = erf.scaling_study((8, 16, 32, 64), metric="edges", ndim=2, fractions=(0.5,))
    # Finding: the edge-count ERF grows like the theoretical RF (exponent ~1), its ratio stays ~constant.
    assert s.exponents["std"] == pytest.approx(1.0, abs=0.05)
    assert abs(s.exponents["ratio"]) < 0.05


def test_scaling_study_rejects_bad_arguments() -> None:
    with pytest.raises(rf.RFGraphError, match="two"):
        erf.scaling_study([4])
    with pytest.raises(rf.RFGraphError, match="fit_from"):
        erf.scaling_study([1, 2], fit_from=3)


# --------------------------------------------------------------------------- package layout


# The names rf.erf exposed before it became a package (rfgraph 0.1): none may disappear.
_ERF_API_0_1 = {
    "REPLKNET_THRESHOLDS", "Square", "ERFStats", "ERFPrediction", "ScalingStudy", "EmpiricalComparison",
    "area_ratio", "replknet_area_ratio", "erf_stats", "network_erf_stats", "format_stats", "predict", "chain",
    "scaling_study", "to_torch", "empirical_erf", "compare_empirical", "DEFAULT_FRACTIONS", "REDUCTIONS",
}  # fmt: skip


def test_namespace_is_clean() -> None:
    # dir(rf.erf) is its API plus its submodules: no helper imports such as np, math or Any.
    assert set(erf.__all__) >= _ERF_API_0_1
    assert len(erf.__all__) == len(set(erf.__all__))
    public = {n for n in dir(erf) if not n.startswith("__")}
    submodules = {n for n in public if isinstance(getattr(erf, n), types.ModuleType)}
    assert submodules <= {
        "_common",
        "stats",
        "theory",
        "empirical",
        "trained",
        "images",
        "side_by_side",
        "expected",
        "sampled",
        "_torch_net",
    }
    assert public - submodules == set(erf.__all__)


# --------------------------------------------------------------------------- empirical (torch)


def test_import_does_not_load_torch() -> None:
    code = "import sys, rfgraph, rfgraph.erf; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT)}
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "spec, shape",
    [
        ("conv3p1,conv3s2,pool3s2p1c,conv3d2psame", (17, 15)),
        ("res(conv3p1,conv3p1),cat(conv1|conv3p1),conv1,pool2,res(conv3p1s2|pool2)", (16, 16)),
        ("conv3,deconv4s2p1o1,up2,conv3", (9, 9)),
        ("conv3,gpool", (6, 5)),
        ("conv5s2psame,conv3d3p3", (23,)),
    ],
)
def test_torch_model_with_unit_weights_gives_path_counts(spec: str, shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    net = rf.parse_spec(spec)
    emp = erf.empirical_erf(net, shape, weights="ones", channels=1, seeds=1, inputs=1)
    paths = rf.contribution_map(net, shape, "paths")
    # with unit weights the global pool is a sum, so the gradient is exactly the path count
    np.testing.assert_allclose(emp, paths, rtol=1e-12)
    model = erf.to_torch(net, shape, channels=3)
    out = model(torch.zeros((1, 3, *shape), dtype=torch.float64))
    assert tuple(out.shape[2:]) == rf.build_plan(net, shape).output.shape


def test_empirical_linear_chain_follows_path_counts() -> None:
    pytest.importorskip("torch")
    net = rf.parse_spec("conv3p1*6")
    c = erf.compare_empirical(net, (24, 24), reduce="square", seeds=16, inputs=4, channels=4)
    # E[g^2] is proportional to the path count for i.i.d. zero-mean weights.
    assert c.correlation["paths"] > 0.9
    assert all(0.7 < r < 1.3 for r in c.variance_ratio["paths"])
    assert c.correlation["paths"] > c.correlation["edges"]
    assert set(c.area_ratio) == {"empirical", "paths", "edges"}
    assert "correlation" in c.summary()


@pytest.mark.parametrize("spec", ["conv3p1*6", "conv3p1,res(conv3p1,conv3p1)*2"])
def test_empirical_relu_and_residual_correlate(spec: str) -> None:
    pytest.importorskip("torch")
    c = erf.compare_empirical(rf.parse_spec(spec), (24, 24), relu=True, reduce="abs", seeds=6, inputs=4)
    assert c.correlation["paths"] > 0.85
    assert c.empirical.shape == (24, 24) and np.all(c.empirical >= 0)


def test_empirical_rejects_bad_options() -> None:
    pytest.importorskip("torch")
    with pytest.raises(rf.RFGraphError, match="reduce"):
        erf.empirical_erf(rf.Conv(3), (5,), reduce="mean")
    with pytest.raises(rf.RFGraphError, match="weights"):
        erf.empirical_erf(rf.Conv(3), (5,), weights="zeros")
    with pytest.raises(rf.RFGraphError, match="target"):
        erf.empirical_erf(rf.Conv(3), (5,), target=(7,))


# --------------------------------------------------------------------------- CLI and notebook


def test_cli_erf_prints_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["erf", "conv3*5", "--input", "15x15"]) == 0
    out = capsys.readouterr().out
    assert "predicted variance" in out and "3.33333 x 3.33333" in out and "RepLKNet" in out
    assert main(["erf", "conv3*5", "--input", "15", "--metric", "edges", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shape"] == [15] and "prediction" not in data
    assert main(["erf", "conv3*5", "--input", "15", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["prediction"]["variance_exact"] == ["10/3"]
    assert main(["erf", "conv3p1*5", "--input", "7"]) == 0
    assert "clips" in capsys.readouterr().out


def test_cli_erf_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["erf", "conv3*5", "--input", "15", "--metric", "area"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metric" in err


def test_notebook_is_valid_and_stripped() -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(ROOT / "notebooks" / "erf_luo_layout.ipynb", as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
