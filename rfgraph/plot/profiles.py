"""1-D contribution profiles as labelled bars."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import Scale, _as_map, _bare_figure, _check_scale, _check_suffix, _fmt_value, _new_axes, _save

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_profile", "save_profile_figure"]


def plot_profile(
    values: Any,
    ax: Axes | None = None,
    *,
    trim: bool = False,
    annotate: bool | None = None,
    scale: Scale = "linear",
    color: str = "#3b75af",
    title: str | None = None,
    xlabel: str = "input position",
    ylabel: str = "contribution",
    label: str | None = None,
) -> Axes:
    """A 1-D contribution profile as bars, each labelled with its value (the importance-profile article's figure).

    Parameters
    ----------
    values : array_like, 1-D
        E.g. ``rf.contribution_map(net, (15,))`` or ``rf.profile(...)``.
    ax : matplotlib Axes, optional
    trim : bool
        Show only the positions from the first to the last non-zero value.
    annotate : bool, optional
        Write each non-zero value on its bar; default when at most 40 bars are shown.
    scale : {"linear", "log"}
        The y scale.
    color, title, xlabel, ylabel, label
        Styling; ``label`` names the bars in a legend.

    Returns
    -------
    matplotlib Axes
        ``ax.patches`` are the bars, in position order, heights equal to ``values``.

    Examples
    --------
    >>> import rfgraph as rf
    >>> m = rf.contribution_map(rf.Sequential(*[rf.Conv(3)] * 5), (15,))
    >>> ax = plot_profile(m, trim=True)
    >>> [int(p.get_height()) for p in ax.patches]
    [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
    """
    arr = _as_map(values, 1)
    scale = _check_scale(scale)
    ax = _new_axes(ax, figsize=(7, 3.2))
    positions = np.arange(arr.size)
    if trim:
        nz = np.flatnonzero(arr)
        if nz.size:
            positions = positions[nz[0] : nz[-1] + 1]
    heights = arr[positions]
    bars = ax.bar(positions, heights, width=0.8, color=color, edgecolor="black", linewidth=0.4, label=label)
    if annotate is None:
        annotate = positions.size <= 40
    if annotate:
        ax.bar_label(bars, labels=[_fmt_value(v) if v else "" for v in heights], padding=2, fontsize=8)
    if scale == "log":
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, max(float(heights.max()), 1.0) * 1.12)
    if positions.size <= 40:
        ax.set_xticks(positions)
    ax.set_xlim(positions[0] - 0.6, positions[-1] + 0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def save_profile_figure(
    values: Any,
    path: str | Path,
    *,
    metric: str = "edges",
    title: str | None = None,
    scale: Scale = "linear",
    dpi: float = 150,
    overwrite: bool = False,
) -> Path:
    """Write a 1-D profile as a bar chart (``rfgraph profile --plot --out x.png``)."""
    path = Path(path)
    _check_suffix(path, overwrite)
    arr = _as_map(values, 1)
    fig = _bare_figure((max(6.0, min(0.45 * arr.size, 16.0)), 3.4))
    plot_profile(
        arr, fig.add_subplot(), trim=arr.size > 40, scale=scale, ylabel=metric, title=title or f"{metric} profile"
    )
    return _save(fig, path, dpi, overwrite)
