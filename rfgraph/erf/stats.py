"""Statistics of one non-negative map: moments, Gaussian fit, mass radii, area ratios.

The statistics apply to *any* map -- rfgraph's exact path- or edge-count maps, a
gradient map of a trained network, a map loaded from disk -- and include the
"high-contribution area ratio" of RepLKNet (Ding et al., CVPR 2022), both as their
analysis script computes it and as a scale-free variant (:func:`area_ratio`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..errors import RFGraphError
from ..ops import Op
from ._common import _check_fractions

__all__ = [
    "REPLKNET_THRESHOLDS",
    "DEFAULT_FRACTIONS",
    "Square",
    "ERFStats",
    "area_ratio",
    "replknet_area_ratio",
    "erf_stats",
    "network_erf_stats",
    "format_stats",
]

REPLKNET_THRESHOLDS: tuple[float, ...] = (0.2, 0.3, 0.5, 0.99)
"""The thresholds ``t`` at which RepLKNet reports the high-contribution area ratio."""

DEFAULT_FRACTIONS: tuple[float, ...] = (0.5, 0.9, 0.95)
"""The mass shares at which :func:`erf_stats` reports radii and RF fractions by default."""

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
    from ..arithmetic import receptive_field
    from ..engine import contribution_map

    values = contribution_map(network, input_shape, metric, target, endpoint=endpoint)
    record = receptive_field(network, input_shape, endpoint)[-1]
    area = int(np.prod([min(int(s), int(n)) for s, n in zip(record.size, values.shape, strict=False)]))
    return erf_stats(values, fractions, thresholds, rf_area=max(area, 1))


class _Prediction(Protocol):
    """What :func:`format_stats` reads of a :class:`~rfgraph.erf.ERFPrediction` (theory builds on
    stats, so stats names no class of theory)."""

    @property
    def variance(self) -> Any: ...
    @property
    def span(self) -> Any: ...
    @property
    def paths(self) -> int: ...


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:.6g}"


def format_stats(stats: ERFStats, prediction: _Prediction | None = None) -> str:
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
