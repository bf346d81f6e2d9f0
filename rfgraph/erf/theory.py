"""Closed forms and scaling laws of the path-count map.

For a chain the normalised path-count map is the law of ``sum_l J_l * d_l * T_l``
with independent ``T_l`` uniform on ``{0, ..., k_l - 1}``, so its per-axis variance
is ``sum_l (J_l * d_l)**2 * (k_l**2 - 1) / 12`` (``J_l``: product of the strides
before layer ``l``); merges (``Add``, ``Concat``, ``Residual``) are mixtures and stay
exact (:func:`predict`).  :func:`scaling_study` shows the ERF growing as
``sqrt(n)`` while the theoretical RF grows as ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import Conv, ConvTranspose, GlobalPool, Op, Pool, Sequential, Upsample, _Merge, _Windowed
from ..plan import Plan, build_plan
from ._common import _check_fractions
from .stats import erf_stats

__all__ = ["ERFPrediction", "ScalingStudy", "predict", "chain", "scaling_study"]


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
        ``"std"``, ``"radius@f"``, and ``"ratio"``: ERF size over depth, ``std / n``
        (Luo et al.'s ratio, against depth: the theoretical RF grows like ``n``; the
        per-``n`` column :attr:`ratio` divides by the RF size itself).
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
    (0.5, 0.908, -0.5)
    """
    from ..engine import contribution_map

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
        # Luo et al.'s ratio ~ 1/sqrt(n) is against depth: the theoretical RF grows like n, but
        # dividing by the size itself (2n + 1 for 3-tap layers) bends the fit at small n (-0.469).
        "ratio": _slope(fit_ns, [stds[i] / fit_n for i, fit_n in zip(keep, fit_ns, strict=True)]),
    }
    for f in fs:
        vals = [radii[f][i] for i in keep]
        exps[f"radius@{f:g}"] = _slope(fit_ns, vals) if min(vals) > 0 else math.nan
    return ScalingStudy(
        metric, ns_t, tuple(spans), tuple(stds), {f: tuple(v) for f, v in radii.items()}, exps, fit_from
    )
