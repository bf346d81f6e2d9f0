"""A 2-D map as a 3-D surface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import RFGraphError
from ._common import Scale, _as_map, _check_scale, _new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_surface"]


def plot_surface(
    values: Any,
    ax: Axes | None = None,
    *,
    scale: Scale = "linear",
    cmap: str = "viridis",
    max_points: int = 80,
    title: str | None = None,
) -> Axes:
    """The 2-D map as a 3-D surface (the "2-D Gaussian" picture).

    Parameters
    ----------
    values : array_like, 2-D
    ax : matplotlib 3-D Axes, optional
        Made with ``projection="3d"`` when None.
    scale : {"linear", "log"}
        With ``"log"`` the height is ``log10(1 + value)``.
    max_points : int
        At most this many grid lines per axis are drawn (big maps are sampled).

    Returns
    -------
    matplotlib Axes3D

    Examples
    --------
    >>> import rfgraph as rf
    >>> ax = plot_surface(rf.contribution_map(rf.parse_spec("conv3*4"), (12, 12)))
    >>> ax.name
    '3d'
    """
    arr = _as_map(values, 2)
    scale = _check_scale(scale)
    ax3d: Any = _new_axes(ax, projection="3d", figsize=(6, 5))
    if getattr(ax3d, "name", "") != "3d":
        raise RFGraphError("plot_surface needs a 3-D Axes: fig.add_subplot(projection='3d')")
    z = np.log10(1 + arr) if scale == "log" else arr
    y, x = np.mgrid[0 : arr.shape[0], 0 : arr.shape[1]]
    ax3d.plot_surface(
        x,
        y,
        z,
        cmap=cmap,
        rcount=min(arr.shape[0], max_points),
        ccount=min(arr.shape[1], max_points),
        linewidth=0,
        antialiased=True,
    )
    ax3d.set_xlabel("x")
    ax3d.set_ylabel("y")
    ax3d.set_zlabel("log10(1 + value)" if scale == "log" else "contribution")
    ax3d.invert_yaxis()
    if title is not None:
        ax3d.set_title(title)
    return ax3d
