"""Path-length pictures (SPEC section 11): how many paths have each length, and where they go.

:func:`plot_path_lengths` draws the distribution of :func:`rfgraph.path_lengths` (bars
per length; Veit et al.'s binomial for residual stacks) and, given an input shape, the
field carried by the paths of each length: one line per length, the profile along one
axis (summed over the others) of the per-pixel counts, so that the lines add up to the
path-count map's profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import Op
from ._common import _check_scale, _mpl

__all__ = ["plot_path_lengths"]


def plot_path_lengths(
    network: Op,
    shape: Any = None,
    target: Any = None,
    *,
    axis: int = 0,
    scale: str = "linear",
    fig: Any = None,
) -> Any:
    """Path counts by length, and (with ``shape``) the field of each length's paths.

    Parameters
    ----------
    network : Op
        The network.
    shape, target
        As for :func:`rfgraph.path_lengths`; without ``shape`` only the op-graph
        distribution is drawn.
    axis : int
        The input axis of the profiles (the other axes are summed).
    scale : {"linear", "log"}
        Scale of the counts.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (new one through pyplot otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..engine.lengths import path_lengths

    _mpl()
    scale = _check_scale(scale)
    if shape is None:
        counts = path_lengths(network)
        per_pixel = None
    else:
        per_pixel = path_lengths(network, shape, target, per_pixel=True)
        counts = np.array([sum(int(v) for v in row.ravel()) for row in per_pixel], dtype=object)
        if not isinstance(axis, int) or not 0 <= axis < per_pixel.ndim - 1:
            raise RFGraphError(f"axis={axis!r} must be an input axis, 0 .. {per_pixel.ndim - 2}")
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(9 if per_pixel is not None else 4.5, 3.2), layout="constrained")
    axes = fig.subplots(1, 2 if per_pixel is not None else 1, squeeze=False)[0]
    lengths = np.arange(len(counts))
    values = np.array([float(c) for c in counts])
    ax = axes[0]
    ax.bar(lengths, values, color="C0")
    ax.set_yscale(scale)
    ax.set_xlabel("path length (computing ops passed)")
    ax.set_ylabel("paths" + (" (op graph)" if per_pixel is None else " (all pixels)"))
    ax.set_title("paths by length", fontsize=9)
    if per_pixel is not None:
        import matplotlib

        ax2 = axes[1]
        others = tuple(a for a in range(1, per_pixel.ndim) if a != axis + 1)
        profiles = np.array([[float(v) for v in np.ravel(p)] for p in per_pixel.astype(object).sum(axis=others)])
        cmap = matplotlib.colormaps["viridis"]
        used = [k for k in lengths if values[k] > 0]
        for i, k in enumerate(used):
            ax2.plot(
                profiles[k], color=cmap(i / max(len(used) - 1, 1)), label=f"length {k}" if len(used) <= 8 else None
            )
        ax2.plot(profiles.sum(axis=0), "k--", lw=1, label="all paths")
        ax2.set_yscale(scale)
        ax2.set_xlabel(f"input position (axis {axis})")
        ax2.set_ylabel("paths to the target")
        ax2.set_title("field carried by each length", fontsize=9)
        ax2.legend(fontsize=7)
    return fig
