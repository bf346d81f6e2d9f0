"""Empirical ERFs: input-gradient maps of random torch copies of rfgraph networks.

Luo, Li, Urtasun & Zemel's protocol on networks built from the same description
(:func:`~rfgraph.erf.to_torch`), compared with the exact path- and edge-count maps.
Needs the ``torch`` extra; torch is imported inside the functions only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..importers.to_torch import _choice, _import_torch, to_torch
from ..ops import Op
from ..plan import build_plan
from ._common import _check_fractions
from .stats import REPLKNET_THRESHOLDS, Square, area_ratio, erf_stats

__all__ = ["REDUCTIONS", "EmpiricalComparison", "empirical_erf", "compare_empirical"]

REDUCTIONS = ("abs", "square", "replknet")


def empirical_erf(
    network: Op,
    input_shape: Any,
    *,
    channels: int = 4,
    relu: bool = False,
    seeds: int | Iterable[int] = 4,
    inputs: int = 4,
    reduce: str = "abs",
    weights: str = "random",
    pool: str = "avg",
    target: Any = None,
    endpoint: str | None = None,
    dtype: Any = None,
) -> np.ndarray:
    """Empirical ERF: input-gradient map of the target neuron in random torch networks.

    Luo et al.'s protocol: for every seed a network with the graph of ``network``
    (:func:`to_torch`) is initialised at random; for ``inputs`` standard-normal
    inputs the output at ``target`` (summed over channels) is back-propagated to
    the input; the per-pixel gradients, reduced over input channels, are averaged
    over seeds and inputs.

    ``reduce="abs"`` averages ``|g|`` (Luo et al.); ``"square"`` averages ``g**2``,
    which for a *linear* chain with i.i.d. zero-mean weights equals, in
    expectation, a constant times the path-count map (cross terms of distinct
    paths vanish); ``"replknet"`` follows RepLKNet's ``visualize_erf.py``: ReLU on
    the target output, then the positive part of the gradient.

    Returns
    -------
    numpy.ndarray
        Float64 map of shape ``input_shape``.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(rf.Conv(3), rf.Conv(3))
    >>> empirical_erf(net, (7,), weights="ones", seeds=1, inputs=1, channels=1).tolist()
    [0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0]
    """
    torch = _import_torch("empirical ERFs")
    reduce = _choice(reduce, REDUCTIONS, "reduce")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list or not isinstance(inputs, int) or inputs < 1:
        raise RFGraphError("seeds and inputs must be positive; e.g. seeds=4, inputs=4")
    plan = build_plan(network, input_shape, endpoint)
    from ..engine import check_target

    tgt = check_target(plan, target)
    dtype = torch.float64 if dtype is None else dtype
    total = np.zeros(plan.input_shape, dtype=np.float64)
    for seed in seed_list:
        model = to_torch(
            network,
            plan.input_shape,
            channels=channels,
            relu=relu,
            weights=weights,
            pool=pool,
            seed=seed,
            dtype=dtype,
            endpoint=endpoint,
        )
        gen = torch.Generator().manual_seed(10_007 + int(seed))
        x = torch.randn((inputs, channels, *plan.input_shape), generator=gen, dtype=dtype, requires_grad=True)
        index = (slice(None), slice(None)) + tuple(tgt)
        out = model(x)[index]
        if reduce == "replknet":
            out = torch.relu(out)
        (grad,) = torch.autograd.grad(out.sum(), x)
        if reduce == "abs":
            g = grad.abs()
        elif reduce == "square":
            g = grad.square()
        else:
            g = torch.relu(grad)
        total += g.sum(dim=(0, 1)).detach().cpu().numpy().astype(np.float64)
    return total / (len(seed_list) * inputs)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class EmpiricalComparison:
    """Result of :func:`compare_empirical`.

    ``correlation[m]`` is the Pearson correlation over all input pixels between the
    empirical map and the exact ``m`` map (``m`` in ``"paths"``, ``"edges"``);
    ``variance_ratio[m]`` is the per-axis ratio of the empirical map's variance to
    the exact map's; ``area_ratio`` and ``replknet_area_ratio`` hold
    ``{t: Square}`` for ``"empirical"``, ``"paths"`` and ``"edges"``.
    """

    empirical: np.ndarray
    paths: np.ndarray
    edges: np.ndarray
    correlation: dict[str, float]
    variance_ratio: dict[str, tuple[float, ...]]
    area_ratio: dict[str, dict[float, Square]]
    replknet_area_ratio: dict[str, dict[float, Square]]

    def summary(self) -> str:
        """A short text report."""
        lines = []
        for m in ("paths", "edges"):
            vr = " x ".join(f"{v:.3f}" for v in self.variance_ratio[m])
            lines.append(f"vs {m}: correlation {self.correlation[m]:.4f}, variance ratio {vr}")
        for name, ratios in (("linear", self.area_ratio), ("RepLKNet", self.replknet_area_ratio)):
            for key, per_t in ratios.items():
                shown = ", ".join(f"t={t:g}: {sq.ratio:.4f}" for t, sq in per_t.items())
                lines.append(f"area ratio ({name}) {key}: {shown}")
        return "\n".join(lines)


def compare_empirical(
    network: Op,
    input_shape: Any,
    *,
    thresholds: Iterable[float] = REPLKNET_THRESHOLDS,
    target: Any = None,
    endpoint: str | None = None,
    **options: Any,
) -> EmpiricalComparison:
    """Compare :func:`empirical_erf` with the exact path- and edge-count maps.

    ``options`` go to :func:`empirical_erf` (``channels``, ``relu``, ``seeds``,
    ``inputs``, ``reduce``, ``weights``, ``pool``, ``dtype``).

    Examples
    --------
    >>> import rfgraph as rf
    >>> c = compare_empirical(rf.Sequential(*[rf.Conv(3)] * 4), (9, 9), weights="ones", seeds=1, inputs=1)
    >>> round(c.correlation["paths"], 12), c.variance_ratio["paths"]
    (1.0, (1.0, 1.0))
    """
    from ..engine import contribution_map

    ts = _check_fractions(thresholds, "threshold")
    emp = empirical_erf(network, input_shape, target=target, endpoint=endpoint, **options)
    exact = {
        m: contribution_map(network, input_shape, m, target, endpoint=endpoint).astype(np.float64)
        for m in ("paths", "edges")
    }
    var_emp = erf_stats(emp, (0.5,), ()).variance
    corr, vr = {}, {}
    for m, values in exact.items():
        corr[m] = _corr(emp, values)
        var_m = erf_stats(values, (0.5,), ()).variance
        vr[m] = tuple(float(a / b) if b > 0 else math.nan for a, b in zip(var_emp, var_m, strict=False))
    maps = {"empirical": emp, **exact}
    return EmpiricalComparison(
        empirical=emp,
        paths=exact["paths"],
        edges=exact["edges"],
        correlation=corr,
        variance_ratio=vr,
        area_ratio={k: area_ratio(v, ts) for k, v in maps.items()},
        replknet_area_ratio={k: area_ratio(v, ts, log=True) for k, v in maps.items()},
    )
