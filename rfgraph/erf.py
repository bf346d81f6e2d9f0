"""Effective receptive fields (ERF): statistics, closed forms, scaling, empirical maps.

The exact path-count map of :func:`rfgraph.contribution_map` is the *uniform-weight*
effective receptive field of Luo, Li, Urtasun & Zemel ("Understanding the Effective
Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016): it is the
gradient of the target with respect to the input when every weight is one.  This
module gives the tools around it:

* :func:`erf_stats` -- statistics of *any* non-negative map (ours, a gradient map,
  a map loaded from disk): mass-weighted mean and per-axis variance, the quality of
  a Gaussian fit, radii holding given mass fractions, the fraction of the
  theoretical RF that holds a given share of the mass, holes, and the
  "high-contribution area ratio" of RepLKNet (Ding et al., CVPR 2022), both as
  their analysis script computes it and as a scale-free variant
  (:func:`area_ratio`).
* :func:`predict` -- closed forms: for a chain the normalised path-count map is the
  law of ``sum_l J_l * d_l * T_l`` with independent ``T_l`` uniform on
  ``{0, ..., k_l - 1}``, so its per-axis variance is
  ``sum_l (J_l * d_l)**2 * (k_l**2 - 1) / 12`` (``J_l``: product of the strides
  before layer ``l``).  Merges (``Add``, ``Concat``, ``Residual``) are mixtures and
  stay exact.
* :func:`scaling_study` -- ERF size grows as ``sqrt(n)`` while the theoretical RF
  grows as ``n`` (fitted exponents, per-``n`` table).
* :func:`empirical_erf` / :func:`compare_empirical` -- gradient maps of randomly
  initialised torch networks built from the same description (needs the ``torch``
  extra; torch is imported inside those functions only).

>>> import rfgraph as rf
>>> net = rf.Sequential(*[rf.Conv(3)] * 5)
>>> rf.erf.predict(net).variance
(Fraction(10, 3),)
>>> s = rf.erf.erf_stats(rf.contribution_map(net, (11,), "paths"))
>>> round(s.variance[0], 12), s.mean
(3.333333333333, (5.0,))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from .errors import RFGraphError
from .importers.to_torch import _choice, _import_torch, to_torch
from .ops import Conv, ConvTranspose, GlobalPool, Op, Pool, Sequential, Upsample, _Merge, _Windowed
from .plan import Plan, build_plan

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
    "to_torch",
    "empirical_erf",
    "compare_empirical",
]

REPLKNET_THRESHOLDS: tuple[float, ...] = (0.2, 0.3, 0.5, 0.99)
"""The thresholds ``t`` at which RepLKNet reports the high-contribution area ratio."""

DEFAULT_FRACTIONS: tuple[float, ...] = (0.5, 0.9, 0.95)
_TOL = 1e-12


# --------------------------------------------------------------------------- input checks


def _as_map(values: Any, what: str = "map") -> np.ndarray:
    """A finite, non-negative float64 array with positive mass (exact int maps allowed)."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values)
        arr = arr.astype(np.float64) if arr.dtype != np.float64 else arr
    except (TypeError, ValueError, OverflowError):
        raise RFGraphError(f"{what} must be a numeric array, e.g. rf.contribution_map(...)") from None
    if arr.ndim < 1 or arr.size == 0:
        raise RFGraphError(f"{what} must be a non-empty array with 1 to 3 axes, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise RFGraphError(
            f"{what} holds inf or NaN; pass finite values (path counts overflow float64 "
            "beyond about 1e308: use fewer layers)"
        )
    if np.any(arr < 0):
        raise RFGraphError(f"{what} has negative entries; pass magnitudes (e.g. abs() of a gradient map)")
    total = float(arr.sum())
    if not total > 0:
        raise RFGraphError(f"{what} is all zero: the target sees no input pixel; choose another target or input")
    return arr


def _check_fractions(fractions: Iterable[float], what: str) -> tuple[float, ...]:
    out = tuple(float(f) for f in fractions)
    for f in out:
        if not 0 < f <= 1:
            raise RFGraphError(f"{what}={f!r} must lie in (0, 1], e.g. 0.5 or 0.95")
    return out


# --------------------------------------------------------------------------- RepLKNet area ratio


class Square(NamedTuple):
    """A centred square (cube) found by :func:`area_ratio`.

    ``side`` is its side in pixels and ``ratio`` its area over the map's area;
    both are ``None``/``nan`` when no square holds the requested share.
    """

    side: int | None
    ratio: float


def area_ratio(
    values: Any,
    thresholds: Iterable[float] = REPLKNET_THRESHOLDS,
    *,
    log: bool = False,
    center: Sequence[int] | None = None,
) -> dict[float, Square]:
    """High-contribution area ratio: the smallest centred square holding a share ``> t``.

    With ``log=True`` this is RepLKNet's analysis exactly (Ding, Zhang, Han & Ding,
    "Scaling Up Your Kernels to 31x31", CVPR 2022; ``erf/analyze_erf.py``, function
    ``get_rectangle``, in github.com/DingXiaoH/RepLKNet-pytorch): the map ``A`` is
    replaced by ``log10(A + 1)``, divided by its maximum, and for half-widths
    ``i = 1, 2, ..., h // 2 - 1`` the square of side ``2i + 1`` centred at
    ``(h // 2, w // 2)`` is grown until its sum exceeds ``t`` times the total (strictly);
    the result is the side and ``side**2 / (h * w)``.  As in their script the
    search starts at side 3 and stops before the square reaches the border, and
    the map they analyse is the average of the per-image gradient maps.  Where
    their script would fail (no square qualifies) the side is ``None`` and the
    ratio ``nan``.  Maps with 1 or 3 axes use intervals or cubes; for maps that are
    not square the half-width stops at ``min(shape) // 2 - 1``.

    With ``log=False`` (the default) the same search runs on the map itself: the
    scale-free variant.

    Why they differ: a share is unchanged when the map is multiplied by a constant,
    so the max-normalisation plays no role; the logarithm does.  ``log10(1 + x)``
    is ``~ x / ln 10`` for ``x << 1`` -- gradients of a trained network in their
    units, where the two variants agree -- but ``~ log10 x`` for ``x >> 1``, which
    flattens the map: path counts (up to ``9**L`` for ``L`` 3x3 layers) turn into a
    nearly uniform plateau over the whole receptive field and the ratio grows.  The
    RepLKNet number therefore depends on the units of the map (multiply a gradient
    map by 1e6 and it changes); the scale-free variant depends only on its shape and
    is the one to compare maps of different origin with.

    Parameters
    ----------
    values : array_like
        Non-negative map with 1 to 3 axes.
    thresholds : iterable of float
        Shares ``t`` in ``(0, 1]``.
    log : bool
        Apply RepLKNet's ``log10(1 + x)`` and max-normalisation first.
    center : sequence of int, optional
        Centre of the squares; default ``n // 2`` on every axis (RepLKNet's choice,
        rfgraph's default target).

    Returns
    -------
    dict
        ``{t: Square(side, ratio)}``.

    Examples
    --------
    >>> a = np.zeros((9, 9)); a[4, 4] = 8.0; a[3:6, 3:6] += 1.0
    >>> area_ratio(a, (0.5, 0.99))[0.5]
    Square(side=3, ratio=0.1111111111111111)
    >>> area_ratio(a, (0.5,), log=True)[0.5].side
    3
    """
    arr = _as_map(values)
    ts = _check_fractions(thresholds, "threshold")
    if log:
        arr = np.log10(arr + 1.0)
        arr = arr / arr.max()
    shape = arr.shape
    c = tuple(n // 2 for n in shape) if center is None else tuple(int(x) for x in center)
    if len(c) != arr.ndim or any(not 0 <= x < n for x, n in zip(c, shape, strict=False)):
        raise RFGraphError(f"center={center!r} must hold one index per axis inside the map of shape {shape}")
    total = float(arr.sum())
    # Cumulative sums of centred cubes, half-width i = 1 .. min(shape)//2 - 1, clipped at the border.
    half_widths = range(1, min(shape) // 2)
    shares = []
    for i in half_widths:
        window = tuple(slice(max(x - i, 0), x + i + 1) for x in c)
        shares.append(float(arr[window].sum()) / total)
    area = float(np.prod(shape))
    out: dict[float, Square] = {}
    for t in ts:
        found = Square(None, math.nan)
        for i, share in zip(half_widths, shares, strict=False):
            if share > t:
                side = 2 * i + 1
                found = Square(side, side**arr.ndim / area)
                break
        out[t] = found
    return out


def replknet_area_ratio(values: Any, thresholds: Iterable[float] = REPLKNET_THRESHOLDS) -> dict[float, Square]:
    """RepLKNet's high-contribution area ratio: :func:`area_ratio` with ``log=True``.

    >>> a = np.ones((7, 7))
    >>> replknet_area_ratio(a, (0.2,))[0.2]
    Square(side=5, ratio=0.5102040816326531)
    """
    return area_ratio(values, thresholds, log=True)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class ERFStats:
    """Statistics of one non-negative map (see :func:`erf_stats`).

    Attributes
    ----------
    shape : tuple of int
        Shape of the map.
    mass : float
        Sum of the map.
    mean : tuple of float
        Mass-weighted mean position per axis (pixel indices).
    variance : tuple of float
        Per-axis variance of the map normalised to sum 1.
    radius : dict
        ``{f: r}``: the smallest Euclidean distance from ``mean`` such that pixels
        within it hold a share ``>= f`` of the mass (pixel units).
    rf_fraction : dict
        ``{f: a}``: the fewest pixels, largest first, that hold a share ``>= f``,
        as a fraction of the theoretical receptive field's area ``rf_area``.
    rf_area : int
        Area (pixels) of the theoretical receptive field: the bounding box of the
        map's support unless given.
    support : int
        Number of pixels with a positive value.
    holes : int
        Zero pixels inside the bounding box of the support (e.g. from dilation).
    gaussian_r2 : float
        ``1 - SS_res / SS_tot`` of the discretised Gaussian with the map's mean and
        per-axis variance against the normalised map, over the support's bounding box.
    gaussian_tv : float
        Total-variation distance (``0.5 * sum |p - q|``, in [0, 1]) between the
        normalised map and that Gaussian over the whole map.
    area_ratio : dict
        Scale-free high-contribution area ratios ``{t: Square}`` (:func:`area_ratio`).
    replknet_area_ratio : dict
        RepLKNet's ratios ``{t: Square}`` (log10(1 + x) first; depend on the map's units).
    """

    shape: tuple[int, ...]
    mass: float
    mean: tuple[float, ...]
    variance: tuple[float, ...]
    radius: dict[float, float]
    rf_fraction: dict[float, float]
    rf_area: int
    support: int
    holes: int
    gaussian_r2: float
    gaussian_tv: float
    area_ratio: dict[float, Square] = field(default_factory=dict)
    replknet_area_ratio: dict[float, Square] = field(default_factory=dict)

    @property
    def std(self) -> tuple[float, ...]:
        """Per-axis standard deviation."""
        return tuple(math.sqrt(v) for v in self.variance)

    @property
    def hole_fraction(self) -> float:
        """``holes`` over the area of the support's bounding box."""
        return self.holes / (self.support + self.holes)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``nan`` ratios become ``None``)."""

        def num(x: float) -> float | None:
            return None if isinstance(x, float) and math.isnan(x) else x

        return {
            "shape": list(self.shape),
            "mass": self.mass,
            "mean": list(self.mean),
            "variance": list(self.variance),
            "std": list(self.std),
            "radius": {str(k): v for k, v in self.radius.items()},
            "rf_fraction": {str(k): v for k, v in self.rf_fraction.items()},
            "rf_area": self.rf_area,
            "support": self.support,
            "holes": self.holes,
            "gaussian_r2": num(self.gaussian_r2),
            "gaussian_tv": self.gaussian_tv,
            "area_ratio": {str(k): {"side": s.side, "ratio": num(s.ratio)} for k, s in self.area_ratio.items()},
            "replknet_area_ratio": {
                str(k): {"side": s.side, "ratio": num(s.ratio)} for k, s in self.replknet_area_ratio.items()
            },
        }


def _moments(p: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    means, variances = [], []
    for axis in range(p.ndim):
        marginal = p.sum(axis=tuple(a for a in range(p.ndim) if a != axis))
        x = np.arange(p.shape[axis], dtype=np.float64)
        mu = float(marginal @ x)
        means.append(mu)
        variances.append(float(marginal @ (x - mu) ** 2))
    return tuple(means), tuple(variances)


def _gaussian_pmf(n: int, mu: float, var: float, marginal: np.ndarray) -> np.ndarray:
    """Normal law integrated over pixel cells ``[x - 1/2, x + 1/2]``, renormalised on ``0..n-1``."""
    if var <= 0:
        return marginal  # a point mass: the Gaussian is the marginal itself
    edges = (np.arange(n + 1, dtype=np.float64) - 0.5 - mu) / math.sqrt(2 * var)
    cdf = np.array([math.erf(e) for e in edges])
    q = np.diff(cdf) / 2
    return q / q.sum()


def _smallest_count(sorted_desc_cumsum: np.ndarray, f: float) -> int:
    return int(np.searchsorted(sorted_desc_cumsum, f - _TOL, side="left")) + 1


def erf_stats(
    values: Any,
    fractions: Iterable[float] = DEFAULT_FRACTIONS,
    thresholds: Iterable[float] = REPLKNET_THRESHOLDS,
    *,
    rf_area: int | None = None,
) -> ERFStats:
    """Statistics of a contribution or gradient map (any non-negative array).

    Parameters
    ----------
    values : array_like
        Non-negative map with 1 to 3 axes (exact Python-int maps are converted
        to float64).
    fractions : iterable of float
        Mass shares for ``radius`` and ``rf_fraction``.
    thresholds : iterable of float
        Shares for the two high-contribution area ratios.
    rf_area : int, optional
        Area of the theoretical receptive field; default the bounding box of the
        map's support (for rfgraph maps: the receptive field clipped to the input,
        holes included).  :func:`network_erf_stats` fills it in.

    Returns
    -------
    ERFStats

    Examples
    --------
    >>> import rfgraph as rf
    >>> m = rf.contribution_map(rf.Sequential(*[rf.Conv(3)] * 5), (13, 13), "paths")
    >>> s = erf_stats(m, fractions=(0.5,))
    >>> s.mean, [round(v, 9) for v in s.variance], s.rf_area, s.holes
    ((6.0, 6.0), [3.333333333, 3.333333333], 121, 0)
    >>> s.gaussian_r2 > 0.99
    True
    """
    arr = _as_map(values)
    fs = _check_fractions(fractions, "fraction")
    ts = _check_fractions(thresholds, "threshold")
    total = float(arr.sum())
    p = arr / total
    mean, variance = _moments(p)
    positive = p > 0
    support = int(positive.sum())
    box = tuple(
        slice(
            int(np.flatnonzero(positive.any(axis=tuple(b for b in range(p.ndim) if b != a))).min()),
            int(np.flatnonzero(positive.any(axis=tuple(b for b in range(p.ndim) if b != a))).max()) + 1,
        )
        for a in range(p.ndim)
    )
    box_area = int(np.prod([s.stop - s.start for s in box]))
    area = box_area if rf_area is None else int(rf_area)
    if area < 1:
        raise RFGraphError(f"rf_area={rf_area!r} must be a positive number of pixels")

    # Radii around the mean: sort pixels by distance, accumulate their mass.
    idx = np.nonzero(positive)
    dist = np.sqrt(sum((np.asarray(i, dtype=np.float64) - m) ** 2 for i, m in zip(idx, mean, strict=False)))
    order = np.argsort(dist, kind="stable")
    d_sorted = dist[order]
    cum = np.cumsum(p[idx][order])
    radius = {f: float(d_sorted[min(int(np.searchsorted(cum, f - _TOL)), d_sorted.size - 1)]) for f in fs}

    desc = np.cumsum(np.sort(p[idx])[::-1])
    rf_fraction = {f: min(_smallest_count(desc, f), support) / area for f in fs}

    # Gaussian with the same mean and per-axis variance (a product of 1-D laws).
    q = np.ones((1,) * p.ndim)
    for a in range(p.ndim):
        marginal = p.sum(axis=tuple(b for b in range(p.ndim) if b != a))
        g = _gaussian_pmf(p.shape[a], mean[a], variance[a], marginal)
        q = q * g.reshape((1,) * a + (-1,) + (1,) * (p.ndim - a - 1))
    pb, qb = p[box], q[box]
    ss_tot = float(((pb - pb.mean()) ** 2).sum())
    r2 = 1.0 - float(((pb - qb) ** 2).sum()) / ss_tot if ss_tot > 0 else math.nan
    tv = 0.5 * float(np.abs(p - q).sum())

    return ERFStats(
        shape=arr.shape,
        mass=total,
        mean=mean,
        variance=variance,
        radius=radius,
        rf_fraction=rf_fraction,
        rf_area=area,
        support=support,
        holes=box_area - int(positive[box].sum()),
        gaussian_r2=r2,
        gaussian_tv=tv,
        area_ratio=area_ratio(arr, ts),
        replknet_area_ratio=area_ratio(arr, ts, log=True),
    )


def network_erf_stats(
    network: Op,
    input_shape: Any,
    metric: str = "paths",
    target: Any = None,
    *,
    endpoint: str | None = None,
    fractions: Iterable[float] = DEFAULT_FRACTIONS,
    thresholds: Iterable[float] = REPLKNET_THRESHOLDS,
) -> ERFStats:
    """:func:`erf_stats` of :func:`rfgraph.contribution_map`, with the theoretical RF area.

    ``rf_area`` is the product over axes of the receptive-field size of the
    arithmetic (:func:`rfgraph.receptive_field`), clipped to the input size.

    >>> import rfgraph as rf
    >>> s = network_erf_stats(rf.Sequential(rf.Conv(2), rf.Conv(3, dilation=3)), (8,))
    >>> s.rf_area, s.support, s.holes
    (8, 6, 2)
    """
    from .arithmetic import receptive_field
    from .engine import contribution_map

    values = contribution_map(network, input_shape, metric, target, endpoint=endpoint)
    record = receptive_field(network, input_shape, endpoint)[-1]
    area = int(np.prod([min(int(s), int(n)) for s, n in zip(record.size, values.shape, strict=False)]))
    return erf_stats(values, fractions, thresholds, rf_area=max(area, 1))


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:.6g}"


def format_stats(stats: ERFStats, prediction: ERFPrediction | None = None) -> str:
    """A two-column text table of :class:`ERFStats` (and of a :class:`ERFPrediction`).

    >>> import rfgraph as rf
    >>> s = erf_stats(rf.contribution_map(rf.Conv(3), (3,), "paths"), (0.5,), (0.5,))
    >>> print(format_stats(s).splitlines()[4])
    variance (per axis)           0.666667
    """
    rows: list[tuple[str, str]] = [
        ("mass", _fmt_num(stats.mass)),
        ("mean (per axis)", " x ".join(_fmt_num(m) for m in stats.mean)),
        ("variance (per axis)", " x ".join(_fmt_num(v) for v in stats.variance)),
        ("std (per axis)", " x ".join(_fmt_num(s) for s in stats.std)),
    ]
    if prediction is not None:
        rows.append(("predicted variance", " x ".join(_fmt_num(float(v)) for v in prediction.variance)))
        rows.append(("theoretical span", " x ".join(str(s) for s in prediction.span)))
        rows.append(("total paths (unclipped)", str(prediction.paths)))
    rows += [
        ("gaussian fit R^2", _fmt_num(stats.gaussian_r2)),
        ("gaussian fit TV distance", _fmt_num(stats.gaussian_tv)),
    ]
    rows += [(f"radius holding {f:g} of mass", _fmt_num(r)) for f, r in stats.radius.items()]
    rows += [(f"RF fraction holding {f:g}", _fmt_num(a)) for f, a in stats.rf_fraction.items()]
    rows += [
        ("theoretical RF area", str(stats.rf_area)),
        ("support (pixels > 0)", str(stats.support)),
        ("holes in support box", str(stats.holes)),
    ]
    for t, sq in stats.area_ratio.items():
        rows.append((f"area ratio t={t:g} (linear)", f"{_fmt_num(sq.ratio)} (side {sq.side or '-'})"))
    for t, sq in stats.replknet_area_ratio.items():
        rows.append((f"area ratio t={t:g} (RepLKNet)", f"{_fmt_num(sq.ratio)} (side {sq.side or '-'})"))
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{'statistic':<{width}} value", f"{'-' * (width - 1)} -----"]
    lines += [f"{k:<{width}} {v}" for k, v in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- closed forms


@dataclass(frozen=True)
class ERFPrediction:
    """Closed-form moments of the path-count map (see :func:`predict`).

    The input pixel ``target * stride + lo .. target * stride + hi`` (per axis)
    is the theoretical receptive field of output position ``target``; the map
    normalised to sum 1 has mean ``target * stride + offset`` and variance
    ``variance`` -- exactly, whenever no path is clipped by the border, which is
    the case iff the map sums to ``paths``.

    Attributes
    ----------
    variance : tuple of Fraction
        Per-axis variance of the normalised path-count map.
    offset : tuple of Fraction
        Per-axis mean minus ``target * stride``.
    stride : tuple of int
        Effective stride (jump) ``J`` of the output.
    lo, hi : tuple of int
        First and last input pixel of the theoretical RF minus ``target * stride``.
    paths : int
        Number of paths from the target to the input on an unbounded input
        (the product of the kernel volumes along a chain).
    """

    variance: tuple[Fraction, ...]
    offset: tuple[Fraction, ...]
    stride: tuple[int, ...]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    paths: int

    @property
    def span(self) -> tuple[int, ...]:
        """Theoretical receptive-field size per axis, ``hi - lo + 1``."""
        return tuple(h - lo + 1 for lo, h in zip(self.lo, self.hi, strict=False))

    @property
    def std(self) -> tuple[float, ...]:
        """Per-axis standard deviation (float)."""
        return tuple(math.sqrt(v) for v in self.variance)

    def mean(self, target: Sequence[int]) -> tuple[Fraction, ...]:
        """Mean position of the normalised map for output position ``target``."""
        return tuple(o * j + c for o, j, c in zip(target, self.stride, self.offset, strict=False))


@dataclass
class _Law:
    """Path counts from one node of a tensor to the input, as a law of the displacement."""

    count: int
    mean: list[Fraction]
    second: list[Fraction]  # E[X^2] per axis
    lo: list[int]
    hi: list[int]
    stride: list[int]


def _walk_ops(op: Op) -> Iterable[Op]:
    yield op
    children: tuple[Op, ...] = ()
    if isinstance(op, Sequential):
        children = op.ops
    elif isinstance(op, _Merge) or hasattr(op, "branches"):
        children = tuple(getattr(op, "branches", ()))
    for child in children:
        yield from _walk_ops(child)


_FRACTIONAL = (
    "{label}: {kind} has a fractional stride, so its path-count map is not a sum of uniform taps and has "
    "no closed form here; use rf.contribution_map and rf.erf.erf_stats instead"
)


def _default_shape(network: Op) -> tuple[int, ...]:
    ndim = 1
    for op in _walk_ops(network):
        for attr in ("kernel_size", "stride", "dilation", "padding", "scale_factor", "output_padding"):
            value = getattr(op, attr, None)
            if isinstance(value, tuple):
                ndim = max(ndim, len(value))
        if isinstance(op, Upsample | ConvTranspose):
            raise RFGraphError(_FRACTIONAL.format(label=op.label(), kind=type(op).__name__))
        if isinstance(op, GlobalPool):
            raise RFGraphError(f"{op.label()}: a global pool is as large as its input; pass input_shape=...")
        if isinstance(op, _Windowed) and op.padding == "same":
            ss = op.effective_stride
            if any(s > 1 for s in (ss if isinstance(ss, tuple) else (ss,))):
                raise RFGraphError(
                    f"{op.label()}: padding='same' with stride > 1 depends on the input size; pass input_shape=..."
                )
    return (ndim,)


def _plan_for(network: Op, input_shape: Any) -> Plan:
    if input_shape is not None:
        return build_plan(network, input_shape)
    ndim = _default_shape(network)[0]
    last: RFGraphError | None = None
    for n in (64, 1024, 16384, 1 << 20):
        try:
            return build_plan(network, (n,) * ndim)
        except RFGraphError as err:
            if "output size would be" not in str(err):
                raise  # the network itself is invalid
            last = err  # too small for the network: try a larger input
    assert last is not None
    raise last


def predict(network: Op, input_shape: Any = None) -> ERFPrediction:
    """Closed-form variance, mean and span of the path-count map.

    For a chain of convolutions and pools the number of paths from output ``o``
    to input ``o * J + x`` counts the tap tuples with
    ``x = sum_l J_l * (d_l * t_l - pad_l)``, ``t_l`` in ``0..k_l - 1``: the
    normalised map is the law of a sum of independent uniform variables, so per axis

    * variance ``sum_l (J_l * d_l)**2 * (k_l**2 - 1) / 12``,
    * mean ``o * J + sum_l J_l * (d_l * (k_l - 1) / 2 - pad_l)`` (the centre of the RF),
    * span ``1 + sum_l J_l * d_l * (k_l - 1)``, total paths ``prod_l prod_axes k_l``,

    with ``J_l`` the product of the strides before layer ``l``.  A pool is the
    same ``k``-tap window; a :class:`~rfgraph.GlobalPool` is a window as large as
    its input (needs ``input_shape``).  Exactness needs an input on which no path
    is clipped by the border (the map then sums to ``paths``).

    Merges are exact too: the map of an ``Add``/``Concat``/``Residual`` is the sum
    of its branches' maps, i.e. a mixture with weights proportional to the
    branches' path counts, and composing stages in series adds the (stride-scaled)
    means and variances.  All branches of a merge must have the same effective
    stride.  ``ConvTranspose`` and ``Upsample`` have fractional strides, so the map
    is no longer a sum of uniform taps; they raise :class:`~rfgraph.RFGraphError`
    (compute their map with :func:`rfgraph.contribution_map` and use
    :func:`erf_stats`).

    Parameters
    ----------
    network : Op
        The network.
    input_shape : tuple of int, optional
        Needed to resolve ``padding="same"`` with stride > 1 and global pools, and
        to fix the number of axes (otherwise taken from per-axis parameters,
        default 1).  For a chain the per-axis results do not depend on the number
        of axes; for merges they do, because the mixture weights are the branches'
        path counts over all axes (pass ``input_shape`` for 2-D/3-D merges).

    Returns
    -------
    ERFPrediction

    Examples
    --------
    >>> import rfgraph as rf
    >>> p = predict(rf.Sequential(rf.Conv(3), rf.Conv((3, 5), stride=2), rf.Pool(2), rf.Conv(3, dilation=2)))
    >>> p.variance, p.span, p.stride, p.paths
    ((Fraction(45, 1), Fraction(139, 3)), (23, 25), (4, 4), 4860)
    >>> predict(rf.Residual(rf.Conv(3, padding=1))).variance
    (Fraction(1, 2),)
    """
    plan = _plan_for(network, input_shape)
    ndim = plan.ndim
    zero = [Fraction(0)] * ndim
    laws: list[_Law] = [_Law(1, list(zero), list(zero), [0] * ndim, [0] * ndim, [1] * ndim)]
    for t in plan.tensors[1:]:
        op = t.op
        label = f"{type(op).__name__} {t.name!r}"
        if t.geometry is not None:
            if not isinstance(op, Conv | Pool | GlobalPool):
                raise RFGraphError(_FRACTIONAL.format(label=label, kind=type(op).__name__))
            g = t.geometry
            src = laws[t.links[0].source]
            law = _Law(src.count, [], [], [], [], [])
            for a in range(ndim):
                k, s, d, pad = g.kernel[a], g.stride[a], g.dilation[a], g.pads[a][0]
                j = src.stride[a]
                step_mean = Fraction(j * (d * (k - 1) - 2 * pad), 2)
                step_var = Fraction((j * d) ** 2 * (k * k - 1), 12)
                # X_t = j * (d * T - pad) + X_src, T uniform on 0..k-1, independent of X_src.
                src_var = src.second[a] - src.mean[a] ** 2
                mean = src.mean[a] + step_mean
                law.mean.append(mean)
                law.second.append(src_var + step_var + mean**2)
                law.lo.append(src.lo[a] - j * pad)
                law.hi.append(src.hi[a] + j * (d * (k - 1) - pad))
                law.stride.append(j * s)
                law.count *= k
            laws.append(law)
            continue
        sources = [laws[link.source] for link in t.links]
        strides = {tuple(s.stride) for s in sources}
        if len(strides) > 1:
            raise RFGraphError(
                f"{label}: its branches have different effective strides {sorted(strides)}, so the mixture "
                "of their maps has no closed form; use rf.contribution_map and rf.erf.erf_stats instead"
            )
        count = sum(s.count for s in sources)
        laws.append(
            _Law(
                count,
                [sum((Fraction(s.count, count) * s.mean[a] for s in sources), Fraction(0)) for a in range(ndim)],
                [sum((Fraction(s.count, count) * s.second[a] for s in sources), Fraction(0)) for a in range(ndim)],
                [min(s.lo[a] for s in sources) for a in range(ndim)],
                [max(s.hi[a] for s in sources) for a in range(ndim)],
                list(sources[0].stride),
            )
        )
    out = laws[-1]
    return ERFPrediction(
        variance=tuple(out.second[a] - out.mean[a] ** 2 for a in range(ndim)),
        offset=tuple(out.mean),
        stride=tuple(out.stride),
        lo=tuple(out.lo),
        hi=tuple(out.hi),
        paths=out.count,
    )


# --------------------------------------------------------------------------- scaling study


def chain(n: int, kernel: int = 3, *, dilation: int = 1, stride: int = 1) -> Sequential:
    """``n`` valid convolutions ``Conv(kernel, dilation=dilation)``; the first has ``stride``.

    A stride on the first layer only (a strided stem) keeps the theoretical RF
    linear in ``n``; a stride on every layer would make it grow geometrically.

    >>> chain(3, stride=2)
    Sequential(Conv(3, stride=2), Conv(3), Conv(3))
    """
    if not isinstance(n, int) or n < 1:
        raise RFGraphError(f"n={n!r} layers must be a positive int")
    return Sequential(Conv(kernel, stride=stride, dilation=dilation), *[Conv(kernel, dilation=dilation)] * (n - 1))


@dataclass(frozen=True)
class ScalingStudy:
    """Result of :func:`scaling_study`.

    Attributes
    ----------
    metric : str
        ``"paths"`` or ``"edges"``.
    ns : tuple of int
        Numbers of layers.
    span : tuple of int
        Theoretical RF size (one axis) per ``n``.
    std : tuple of float
        ERF size as the standard deviation of the normalised map (axis 0) per ``n``.
    radius : dict
        ``{f: tuple}``: radius holding a share ``f`` of the mass per ``n``.
    exponents : dict
        Least-squares slope of ``log(size)`` against ``log(n)`` for ``"span"``,
        ``"std"``, ``"radius@f"``, and ``"ratio"`` (``std / span``).
    fit_from : int
        Smallest ``n`` used in the fits.
    """

    metric: str
    ns: tuple[int, ...]
    span: tuple[int, ...]
    std: tuple[float, ...]
    radius: dict[float, tuple[float, ...]]
    exponents: dict[str, float]
    fit_from: int

    @property
    def ratio(self) -> tuple[float, ...]:
        """ERF size over theoretical RF size, ``std / span``, per ``n``."""
        return tuple(s / r for s, r in zip(self.std, self.span, strict=False))

    def table(self) -> str:
        """The per-``n`` table as text."""
        fs = list(self.radius)
        head = ["n", "span", "std", "std/span"] + [f"r@{f:g}" for f in fs]
        rows = [head]
        for i, n in enumerate(self.ns):
            rows.append(
                [str(n), str(self.span[i]), f"{self.std[i]:.4f}", f"{self.ratio[i]:.4f}"]
                + [f"{self.radius[f][i]:.3f}" for f in fs]
            )
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=False)) for r in rows)


def _slope(ns: Sequence[int], ys: Sequence[float]) -> float:
    x = np.log(np.asarray(ns, dtype=np.float64))
    y = np.log(np.asarray(ys, dtype=np.float64))
    return float(np.polyfit(x, y, 1)[0])


def scaling_study(
    ns: Iterable[int] = range(1, 65),
    *,
    kernel: int = 3,
    dilation: int = 1,
    stride: int = 1,
    ndim: int = 2,
    metric: str = "paths",
    fractions: Iterable[float] = (0.5, 0.9),
    fit_from: int = 1,
    build: Callable[[int], Op] | None = None,
) -> ScalingStudy:
    """ERF size against depth for uniform chains (:func:`chain`).

    For every ``n`` the exact map of ``build(n)`` (default
    ``chain(n, kernel, dilation=dilation, stride=stride)``) is computed on an input
    exactly as large as its receptive field (valid convolutions, a 1-pixel output),
    so nothing is clipped.  The ERF size is the standard deviation of the
    normalised map; for the path metric it is exactly
    ``sqrt(sum_l (J_l d_l)**2 (k**2 - 1) / 12)``, i.e. ``d * sqrt(n (k**2 - 1) / 12)``
    without stride.  Radii at mass fractions are reported too; they are
    quantised to pixel distances, so their exponent converges to 1/2 only for
    larger ``n`` (use ``fit_from``).

    Returns
    -------
    ScalingStudy
        Exponents of ``span``, ``std``, each radius and ``std / span`` against ``n``.

    Examples
    --------
    >>> s = scaling_study([1, 4, 16, 64], ndim=1)
    >>> round(s.exponents["std"], 12), round(s.exponents["span"], 3), round(s.exponents["ratio"], 3)
    (0.5, 0.908, -0.408)
    """
    from .engine import contribution_map

    ns_t = tuple(int(n) for n in ns)
    if len(ns_t) < 2 or any(n < 1 for n in ns_t):
        raise RFGraphError(f"ns={ns_t!r} must hold at least two positive layer counts")
    fs = _check_fractions(fractions, "fraction")
    spans, stds = [], []
    radii: dict[float, list[float]] = {f: [] for f in fs}
    for n in ns_t:
        net = build(n) if build is not None else chain(n, kernel, dilation=dilation, stride=stride)
        span = predict(net).span[0]
        values = contribution_map(net, (span,) * ndim, metric, (0,) * ndim)
        stats = erf_stats(values, fs, thresholds=())
        spans.append(span)
        stds.append(stats.std[0])
        for f in fs:
            radii[f].append(stats.radius[f])
    keep = [i for i, n in enumerate(ns_t) if n >= fit_from]
    if len(keep) < 2:
        raise RFGraphError(f"fit_from={fit_from} leaves fewer than two layer counts to fit; lower it")
    fit_ns = [ns_t[i] for i in keep]
    exps = {
        "span": _slope(fit_ns, [spans[i] for i in keep]),
        "std": _slope(fit_ns, [stds[i] for i in keep]),
        "ratio": _slope(fit_ns, [stds[i] / spans[i] for i in keep]),
    }
    for f in fs:
        vals = [radii[f][i] for i in keep]
        exps[f"radius@{f:g}"] = _slope(fit_ns, vals) if min(vals) > 0 else math.nan
    return ScalingStudy(
        metric, ns_t, tuple(spans), tuple(stds), {f: tuple(v) for f, v in radii.items()}, exps, fit_from
    )


# --------------------------------------------------------------------------- empirical ERF (torch)

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
    from .engine import _check_target

    tgt = _check_target(plan, target)
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
    from .engine import contribution_map

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
