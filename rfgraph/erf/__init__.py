"""Effective receptive fields (ERF): statistics, closed forms, scaling, empirical maps.

The exact path-count map of :func:`rfgraph.contribution_map` is the *uniform-weight*
effective receptive field of Luo, Li, Urtasun & Zemel ("Understanding the Effective
Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016): it is the
gradient of the target with respect to the input when every weight is one.  This
package gives the tools around it, one module per question:

* :mod:`~rfgraph.erf.stats` -- :func:`erf_stats`: statistics of *any* non-negative
  map (ours, a gradient map, a map loaded from disk): mass-weighted mean and
  per-axis variance, the quality of a Gaussian fit, radii holding given mass
  fractions, the fraction of the theoretical RF that holds a given share of the
  mass, holes, and the "high-contribution area ratio" of RepLKNet (Ding et al.,
  CVPR 2022), both as their analysis script computes it and as a scale-free
  variant (:func:`area_ratio`).
* :mod:`~rfgraph.erf.theory` -- :func:`predict`: closed forms: for a chain the
  normalised path-count map is the law of ``sum_l J_l * d_l * T_l`` with
  independent ``T_l`` uniform on ``{0, ..., k_l - 1}``, so its per-axis variance
  is ``sum_l (J_l * d_l)**2 * (k_l**2 - 1) / 12`` (``J_l``: product of the
  strides before layer ``l``).  Merges (``Add``, ``Concat``, ``Residual``) are
  mixtures and stay exact.  :func:`scaling_study`: ERF size grows as ``sqrt(n)``
  while the theoretical RF grows as ``n`` (fitted exponents, per-``n`` table).
* :mod:`~rfgraph.erf.expected` -- :func:`expected_erf`: ``E[(dy/dx)**2]`` over random
  initialisations, exactly (SPEC section 11); :mod:`~rfgraph.erf.sampled` --
  :func:`sampled_erf`: its Monte Carlo check with torch (thousands of draws at once).
* :mod:`~rfgraph.erf.empirical` -- :func:`empirical_erf` / :func:`compare_empirical`:
  gradient maps of randomly initialised torch networks built from the same
  description (needs the ``torch`` extra; torch is imported inside those
  functions only).
* :mod:`~rfgraph.erf.trained` -- :func:`load_model` / :func:`gradient_erf`: the
  gradient ERF of *your own* torch model with its own weights (checkpoints load
  with ``weights_only=True``: they never run code); :mod:`~rfgraph.erf.images` --
  :func:`load_images` / :func:`noise_images`: its inputs; :mod:`~rfgraph.erf.side_by_side`
  -- :func:`compare_trained` / :func:`plot_trained`: that ERF, the untrained
  architecture's, the exact path and edge maps and the theoretical field, side by side.

Every name is available as ``rf.erf.<name>``; the submodules are where each lives.

>>> import rfgraph as rf
>>> net = rf.Sequential(*[rf.Conv(3)] * 5)
>>> rf.erf.predict(net).variance
(Fraction(10, 3),)
>>> s = rf.erf.erf_stats(rf.contribution_map(net, (11,), "paths"))
>>> round(s.variance[0], 12), s.mean
(3.333333333333, (5.0,))
"""

# Only the API and the submodules live in this namespace (no helper imports): see
# tests/test_erf.py::test_namespace_is_clean.
from ..importers.to_torch import to_torch
from .empirical import REDUCTIONS, EmpiricalComparison, compare_empirical, empirical_erf
from .expected import expected_erf
from .images import IMAGE_EXTENSIONS, IMAGENET_MEAN, IMAGENET_STD, load_images, noise_images
from .sampled import SampledERF, sampled_erf
from .side_by_side import TrainedComparison, compare_trained, plot_trained, reinitialized
from .stats import (
    DEFAULT_FRACTIONS,
    REPLKNET_THRESHOLDS,
    ERFStats,
    Square,
    area_ratio,
    erf_stats,
    format_stats,
    network_erf_stats,
    replknet_area_ratio,
)
from .theory import ERFPrediction, ScalingStudy, chain, predict, scaling_study
from .trained import gradient_erf, load_model, load_weights, spatial_outputs

__all__ = [
    "REPLKNET_THRESHOLDS",
    "Square",
    "ERFStats",
    "ERFPrediction",
    "ScalingStudy",
    "EmpiricalComparison",
    "area_ratio",
    "replknet_area_ratio",
    "erf_stats",
    "network_erf_stats",
    "format_stats",
    "predict",
    "chain",
    "scaling_study",
    "expected_erf",
    "sampled_erf",
    "SampledERF",
    "to_torch",
    "empirical_erf",
    "compare_empirical",
    "DEFAULT_FRACTIONS",
    "REDUCTIONS",
    "load_model",
    "load_weights",
    "gradient_erf",
    "spatial_outputs",
    "load_images",
    "noise_images",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_EXTENSIONS",
    "TrainedComparison",
    "compare_trained",
    "plot_trained",
    "reinitialized",
]
