"""Side-by-side maps or profiles on one shared scale.

(Named ``comparison`` rather than ``compare`` so that the submodule does not share
its name with :func:`compare`, which ``rfgraph.plot.compare`` must stay.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arithmetic import plan_receptive_field
from ..engine import plan_contribution_map
from ..errors import RFGraphError
from ..ops import Op
from ..plan import build_plan
from ._common import Box, Scale, _as_map, _check_scale, _mpl, _norm, _positive_range
from .maps import plot_map, theoretical_box
from .profiles import plot_profile

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compare"]


def _resolve_items(
    items: Sequence[Any], input_shape: Any, metric: Any, target: Any, labels: Sequence[str] | None
) -> tuple[list[np.ndarray], list[str], list[Box | None]]:
    if isinstance(items, np.ndarray) or not isinstance(items, Sequence) or not items:
        raise RFGraphError("compare needs a list of maps or networks, e.g. compare([m1, m2])")
    metrics = [metric] * len(items) if isinstance(metric, str) else list(metric)
    if len(metrics) != len(items):
        raise RFGraphError(f"{len(metrics)} metrics for {len(items)} items; give one metric or one per item")
    if labels is not None and len(labels) != len(items):
        raise RFGraphError(f"{len(labels)} labels for {len(items)} items")
    maps, names, boxes = [], [], []
    for i, (item, met) in enumerate(zip(items, metrics, strict=True)):
        if isinstance(item, Op):
            if input_shape is None:
                raise RFGraphError("compare: networks need input_shape=..., e.g. (224, 224)")
            plan = build_plan(item, input_shape)
            maps.append(_as_map(plan_contribution_map(plan, met, target)))
            try:
                boxes.append(theoretical_box(plan_receptive_field(plan), target, plan.input_shape))
            except RFGraphError:  # e.g. branches with different strides: no single box
                boxes.append(None)
            names.append(labels[i] if labels else f"network {i + 1} ({met})")
        else:
            maps.append(_as_map(item, (1, 2), f"item {i}"))
            boxes.append(None)
            names.append(labels[i] if labels else f"map {i + 1}")
    if len({m.ndim for m in maps}) != 1:
        raise RFGraphError("compare: all maps need the same number of axes")
    return maps, names, boxes


def compare(
    items: Sequence[Any],
    labels: Sequence[str] | None = None,
    *,
    input_shape: Any = None,
    metric: str | Sequence[str] = "edges",
    target: Any = None,
    scale: Scale = "linear",
    normalize: bool = False,
    erf_mass: float | None = 0.95,
    cmap: str = "viridis",
    figsize: tuple[float, float] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Side-by-side maps (or profiles) on one shared scale.

    Parameters
    ----------
    items : list of array_like or Op
        Maps, or networks (then ``input_shape`` is needed and each network's map
        is computed with ``metric``; their theoretical RF boxes are drawn too).
    labels : list of str, optional
        Panel titles.
    input_shape : tuple of int, optional
        For networks in ``items``.
    metric : str or list of str
        One metric, or one per item, e.g. ``compare([net, net], metric=["edges", "paths"],
        normalize=True)`` to compare the two metrics of one network.
    target : tuple of int, optional
    scale : {"linear", "log"}
    normalize : bool
        Divide each map by its maximum first (for metrics of different magnitude).
    erf_mass : float or None
        Effective-RF square of each 2-D map (see :func:`plot_map`).
    cmap, figsize
        Styling.
    fig : Figure, optional
        Draw into this (empty) figure instead of a new pyplot figure.

    Returns
    -------
    matplotlib Figure
        2-D maps share one colour bar and norm; 1-D profiles share the y axis.

    Examples
    --------
    >>> import rfgraph as rf
    >>> a, b = rf.parse_spec("conv3d2*3"), rf.parse_spec("conv3,conv3d2,conv3d5")
    >>> fig = compare([a, b], ["[2,2,2]", "[1,2,5]"], input_shape=(33, 33))
    >>> len(fig.axes)  # two panels and the colour bar
    3
    """
    scale = _check_scale(scale)
    maps, names, boxes = _resolve_items(items, input_shape, metric, target, labels)
    if normalize:
        maps = [m / m.max() if m.max() > 0 else m for m in maps]
    n = len(maps)
    if fig is None:
        _mpl()
        import matplotlib.pyplot as plt

        size = figsize or ((4.2 * n + 1.0, 4.0) if maps[0].ndim == 2 else (4.5 * n, 3.2))
        fig = plt.figure(figsize=size, layout="constrained")
    axes = fig.subplots(1, n, squeeze=False, sharey=maps[0].ndim == 1)[0]
    if maps[0].ndim == 1:
        for ax, m, name in zip(axes, maps, names, strict=True):
            plot_profile(
                m, ax, scale=scale, title=name, annotate=m.size <= 25, ylabel="contribution" if ax is axes[0] else ""
            )
        top = max(float(m.max()) for m in maps)
        if scale == "linear":
            axes[0].set_ylim(0, max(top, 1.0) * 1.12)
        return fig
    if scale == "log":
        lo, hi = _positive_range(maps)
    else:
        lo, hi = min(float(m.min()) for m in maps), max(float(m.max()) for m in maps)
    norm = _norm(scale, lo, hi)
    for ax, m, name, box in zip(axes, maps, names, boxes, strict=True):
        plot_map(
            m,
            ax,
            scale=scale,
            norm=norm,
            rf_box=box,
            erf_mass=erf_mass,
            cmap=cmap,
            colorbar=False,
            title=name,
            legend=ax is axes[0],
        )
    fig.colorbar(
        axes[0].images[-1],
        ax=list(axes),
        shrink=0.85,
        label="contribution" + (" / max" if normalize else "") + (" (log)" if scale == "log" else ""),
    )
    return fig
