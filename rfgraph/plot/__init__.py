"""Pictures of receptive fields and contribution maps (the ``plot`` extra).

matplotlib is imported lazily, inside the functions, so this module imports
without it (``import rfgraph`` never imports it at all); every drawing function
raises :class:`~rfgraph.RFGraphError` with the install hint when it is missing.

Drawing functions take an optional ``ax`` and return the Axes they drew on (new
ones through :mod:`matplotlib.pyplot` when ``ax`` is None, so that notebooks show
them); :func:`compare` returns a Figure.  The ``save_*`` helpers used by the
command line build a bare :class:`matplotlib.figure.Figure` (no pyplot, no GUI)
and write PNG/SVG/PDF by the file's extension.

Coordinates are input-pixel indices: pixel ``i`` is centred on ``i`` and spans
``[i - 0.5, i + 0.5]``; 2-D maps are drawn with row 0 at the top (``y`` down),
like an image.

>>> import numpy as np
>>> erf = effective_rf(np.array([0, 1, 8, 1, 0]), mass=0.95)
>>> erf.center, erf.half_width, erf.size
((2.0,), 1.0, (3,))
>>> import rfgraph as rf
>>> theoretical_box(rf.receptive_field(rf.Sequential(*[rf.Conv(3)] * 5), (15,)))
((2, 12),)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from ..arithmetic import RFRecord, plan_receptive_field
from ..engine import _check_target, plan_contribution_map
from ..errors import RFGraphError
from ..ops import Op
from ..plan import build_plan

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ERF",
    "IMAGE_SUFFIXES",
    "compare",
    "effective_rf",
    "path_edges",
    "plot_graph",
    "plot_map",
    "plot_profile",
    "plot_surface",
    "save_graph_figure",
    "save_map_figure",
    "save_profile_figure",
    "theoretical_box",
]

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
"""File extensions the ``save_*`` helpers (and ``rfgraph map --out``) render to."""

Scale = Literal["linear", "log"]
Box = tuple[tuple[float, float], ...]

INSTALL_HINT = "pip install 'rfgraph[plot]'"
GRAPH_MAX_NODES = 600
RF_BOX_STYLE: dict[str, Any] = {"edgecolor": "white", "linestyle": "--", "linewidth": 1.5}
ERF_STYLE: dict[str, Any] = {"edgecolor": "#e8402a", "linestyle": "-", "linewidth": 1.8}


# --------------------------------------------------------------------------- helpers


def _mpl() -> Any:
    """Import matplotlib or explain how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise RFGraphError(f"plotting needs matplotlib; install it with {INSTALL_HINT}") from None
    return matplotlib


def _new_axes(ax: Any, projection: str | None = None, figsize: tuple[float, float] | None = None) -> Any:
    _mpl()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="constrained")
    return fig.add_subplot(projection=projection)


def _bare_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure with no pyplot state and no GUI (for files written by the CLI)."""
    _mpl()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _as_map(values: Any, ndim: int | Sequence[int] | None = None, what: str = "values") -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise RFGraphError(f"{what} must be a numeric array, e.g. rf.contribution_map(...)") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        raise RFGraphError(f"{what} has {arr.ndim} axes; this plot needs {' or '.join(map(str, allowed))}")
    if arr.size == 0:
        raise RFGraphError(f"{what} is empty")
    if not np.all(np.isfinite(arr)):
        raise RFGraphError(f"{what} holds NaN or infinite entries")
    return arr


def _check_scale(scale: Any) -> Scale:
    if scale not in ("linear", "log"):
        raise RFGraphError(f"scale={scale!r} is unknown; use 'linear' or 'log'")
    return "log" if scale == "log" else "linear"


def _norm(scale: str, vmin: float, vmax: float) -> Any:
    from matplotlib.colors import LogNorm, Normalize

    if scale == "log":
        lo = vmin if vmin > 0 else 1.0
        return LogNorm(vmin=lo, vmax=max(vmax, lo * 10))
    return Normalize(vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)


def _positive_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    pos = [a[a > 0] for a in arrays]
    pos = [p for p in pos if p.size]
    if not pos:
        return 1.0, 10.0
    return float(min(p.min() for p in pos)), float(max(p.max() for p in pos))


def _cmap(name: str, bad: str = "#ececec") -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=bad)


def _fmt_value(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.3g}"


# --------------------------------------------------------------------------- geometry of the pictures


class ERF(NamedTuple):
    """The effective receptive field as the smallest centred square (cube) holding ``mass``.

    Attributes
    ----------
    center : tuple of float
        Centre per axis, in pixel indices (may end in .5).
    half_width : float
        The square holds every pixel ``p`` with ``max_a |p_a - center_a| <= half_width``.
    box : tuple of (float, float)
        Per axis, the first and last pixel *centres* inside the square.
    fraction : float
        Mass inside the square divided by the total (``>= mass``).
    """

    center: tuple[float, ...]
    half_width: float
    box: Box
    fraction: float

    @property
    def size(self) -> tuple[int, ...]:
        """Side in pixels per axis (``2 * half_width + 1``, before clipping to the image)."""
        return tuple(int(round(hi - lo)) + 1 for lo, hi in self.box)


def _peak_center(arr: np.ndarray) -> tuple[float, ...]:
    where = np.argwhere(arr == arr.max())
    return tuple(float(c) for c in where.mean(axis=0))


def effective_rf(values: Any, mass: float = 0.95, center: Any = "peak") -> ERF:
    """Smallest square centred on ``center`` that holds at least ``mass`` of the map's total.

    Works for maps of any number of axes (square, cube, interval).  The square
    grows in half-pixel steps of its half-width, so with a half-integer centre its
    side is even.  It is *not* clipped to the image: near a border it may hold
    fewer pixels than its side suggests.

    Parameters
    ----------
    values : array_like
        A non-negative contribution map.
    mass : float
        Fraction of the total, in ``(0, 1]``.
    center : "peak" or tuple of float
        ``"peak"`` (default): the mean position of the pixels that hold the
        maximum (the maximum itself, or the middle of a plateau).  A tuple gives
        the centre explicitly, e.g. the target's theoretical RF centre from
        :func:`theoretical_box`.

    Returns
    -------
    ERF

    Examples
    --------
    >>> import rfgraph as rf
    >>> m = rf.contribution_map(rf.Sequential(*[rf.Conv(3)] * 5), (15,))
    >>> erf = effective_rf(m, 0.95)
    >>> erf.box, round(erf.fraction, 3)
    (((3.0, 11.0),), 0.961)
    """
    arr = _as_map(values)
    if not 0 < mass <= 1:
        raise RFGraphError(f"mass={mass!r} must be in (0, 1], e.g. 0.95")
    if np.any(arr < 0):
        raise RFGraphError("effective_rf needs a non-negative map")
    total = float(arr.sum())
    if total <= 0:
        raise RFGraphError("the map is zero everywhere: no input pixel reaches the target")
    if isinstance(center, str):
        if center != "peak":
            raise RFGraphError(f"center={center!r} is unknown; use 'peak' or a tuple of coordinates")
        c = _peak_center(arr)
    else:
        c = tuple(float(x) for x in np.atleast_1d(center))
        if len(c) != arr.ndim:
            raise RFGraphError(f"center={center!r} needs {arr.ndim} coordinates")
    grids = np.indices(arr.shape, dtype=np.float64)
    dist = np.max(np.abs(grids - np.reshape(c, (-1,) + (1,) * arr.ndim)), axis=0).ravel()
    order = np.argsort(dist, kind="stable")
    cum = np.cumsum(arr.ravel()[order])
    d_sorted = dist[order]
    first = int(np.searchsorted(cum, mass * total * (1 - 1e-12), side="left"))
    first = min(first, cum.size - 1)
    h = float(d_sorted[first])
    # Every pixel at exactly that distance is inside the square as well.
    inside = float(arr.ravel()[dist <= h].sum())
    box = tuple((ci - h, ci + h) for ci in c)
    return ERF(center=c, half_width=h, box=box, fraction=inside / total)


def _record_of(records: Any) -> RFRecord:
    if isinstance(records, RFRecord):
        return records
    if isinstance(records, Sequence) and records and isinstance(records[-1], RFRecord):
        return records[-1]
    raise RFGraphError("records must be an RFRecord or the list from rf.receptive_field(...)")


def theoretical_box(records: Any, target: Any = None, shape: Sequence[int] | None = None) -> Box | None:
    """The theoretical receptive field of one target position, per axis ``(first, last)`` pixel.

    ``[o * stride - padding, o * stride - padding + size - 1]`` on each axis, for the
    target ``o`` of the analysed tensor (default its centre ``n // 2``).

    Parameters
    ----------
    records : RFRecord or list of RFRecord
        From :func:`rfgraph.receptive_field`; a list means its last record.
    target : tuple of int, optional
        Position in that tensor.
    shape : tuple of int, optional
        Input shape to clip the box to.

    Returns
    -------
    tuple of (int, int), or None
        None when the target's field is empty or not defined by the arithmetic.

    Examples
    --------
    >>> import rfgraph as rf
    >>> recs = rf.receptive_field(rf.parse_spec("conv3p1*2,pool2,conv3p1"), (32, 32))
    >>> theoretical_box(recs), theoretical_box(recs, target=(0, 0), shape=(32, 32))
    (((12, 21), (12, 21)), ((0, 5), (0, 5)))
    """
    rec = _record_of(records)
    ndim = len(rec.shape)
    if target is None:
        o = tuple(n // 2 for n in rec.shape)
    else:
        o = tuple(int(i) for i in np.atleast_1d(target))
        if len(o) != ndim or any(not 0 <= i < n for i, n in zip(o, rec.shape, strict=True)):
            raise RFGraphError(f"target={target!r} is outside {rec.name!r}, whose shape is {rec.shape}")
    box = []
    for a in range(ndim):
        pad, size, stride = rec.padding[a], rec.size[a], rec.stride[a]
        if pad is None or size <= 0:
            return None
        lo = math.floor(o[a] * stride) - pad
        hi = lo + size - 1
        if shape is not None:
            lo, hi = max(lo, 0), min(hi, shape[a] - 1)
            if lo > hi:
                return None
        box.append((int(lo), int(hi)))
    return tuple(box)


def _box_from(rf_box: Any, target: Any, shape: tuple[int, ...]) -> Box | None:
    if rf_box is None:
        return None
    if isinstance(rf_box, RFRecord) or (isinstance(rf_box, Sequence) and rf_box and isinstance(rf_box[-1], RFRecord)):
        return theoretical_box(rf_box, target, shape)
    try:
        box = tuple((float(lo), float(hi)) for lo, hi in rf_box)
    except (TypeError, ValueError):
        raise RFGraphError(
            "rf_box must be rf.receptive_field(...) records or one (first, last) pair per axis"
        ) from None
    if len(box) != len(shape):
        raise RFGraphError(f"rf_box has {len(box)} axes but the map has {len(shape)}")
    return box


def _rectangle(box: Box, outline: bool = False, **style: Any) -> Any:
    """A Rectangle covering the pixels of a 2-D box ((y0, y1), (x0, x1))."""
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    (y0, y1), (x0, x1) = box
    # A dark outline keeps a white box visible on light backgrounds too.
    effects = [patheffects.withStroke(linewidth=style.get("linewidth", 1.5) + 1.6, foreground="#202020")]
    return Rectangle(
        (x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, path_effects=effects if outline else None, **style
    )


# --------------------------------------------------------------------------- 1-D profile


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
    """A 1-D contribution profile as bars, each labelled with its value (seed 003's figure).

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


# --------------------------------------------------------------------------- 2-D heatmap


def plot_map(
    values: Any,
    ax: Axes | None = None,
    *,
    scale: Scale = "linear",
    rf_box: Any = None,
    target: Any = None,
    erf_mass: float | None = 0.95,
    erf_center: Any = "peak",
    image: Any = None,
    alpha: float = 0.6,
    cmap: str = "viridis",
    colorbar: bool = True,
    norm: Any = None,
    legend: bool = True,
    title: str | None = None,
    label: str = "contribution",
) -> Axes:
    """A 2-D contribution map as a heatmap on input-pixel coordinates.

    Parameters
    ----------
    values : array_like, 2-D
        E.g. ``rf.contribution_map(net, (224, 224))``.
    ax : matplotlib Axes, optional
    scale : {"linear", "log"}
        Colour scale; with ``"log"`` zero pixels are shown in light grey.
    rf_box : records, RFRecord or ((y0, y1), (x0, x1)), optional
        The theoretical receptive field, drawn as a dashed white box.  Pass
        ``rf.receptive_field(net, shape)`` (with ``target`` if not the centre) or
        the box itself (inclusive pixel ranges, see :func:`theoretical_box`).
    target : tuple of int, optional
        The target position, used with records in ``rf_box``.
    erf_mass : float or None
        Draw the effective RF: the smallest square centred on ``erf_center``
        holding this fraction of the total (see :func:`effective_rf`); None = off.
    erf_center : "peak" or tuple of float
        Centre of that square: the map's peak (default) or explicit coordinates.
    image : array_like, optional
        An image of the same height and width (``H x W`` or ``H x W x 3/4``) to
        show underneath; the map is then drawn with transparency ``alpha``, and
        its zero pixels not at all.
    cmap, colorbar, norm, legend, title, label
        Styling; ``norm`` (a matplotlib Normalize) overrides ``scale``, e.g. to share
        one scale between plots; ``label`` titles the colour bar.

    Returns
    -------
    matplotlib Axes
        The map is ``ax.images[-1]``; its data equal ``values`` (masked where
        zero on the log scale).

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.parse_spec("conv3p1*2,pool2,conv3p1*2")
    >>> m = rf.contribution_map(net, (32, 32))
    >>> ax = plot_map(m, rf_box=rf.receptive_field(net, (32, 32)), scale="log")
    >>> bool((ax.images[-1].get_array().filled(0) == m).all())
    True
    """
    arr = _as_map(values, 2)
    scale = _check_scale(scale)
    ax = _new_axes(ax, figsize=(6, 5))
    box = _box_from(rf_box, target, arr.shape)
    if image is not None:
        img = np.asarray(image)
        if img.shape[:2] != arr.shape or img.ndim not in (2, 3):
            raise RFGraphError(
                f"image of shape {img.shape} does not match the map {arr.shape}; give H x W or H x W x 3"
            )
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    # Zero pixels are masked on the log scale and over an image (there they stay see-through).
    data: Any = np.ma.masked_less_equal(arr, 0) if scale == "log" or image is not None else arr
    if norm is None:
        lo, hi = _positive_range([arr]) if scale == "log" else (float(arr.min()), float(arr.max()))
        norm = _norm(scale, lo, hi)
    im = ax.imshow(
        data,
        cmap=_cmap(cmap, "none" if image is not None else "#ececec"),
        norm=norm,
        interpolation="nearest",
        alpha=alpha if image is not None else None,
    )
    handles = []
    if box is not None:
        patch = _rectangle(box, outline=True, **RF_BOX_STYLE)
        ax.add_patch(patch)
        (y0, y1), (x0, x1) = box
        patch.set_label(f"theoretical RF {int(y1 - y0 + 1)}×{int(x1 - x0 + 1)}")
        handles.append(patch)
    if erf_mass is not None and arr.max() > 0:
        erf = effective_rf(arr, erf_mass, erf_center)
        patch = _rectangle(erf.box, **ERF_STYLE)
        patch.set_label(f"effective RF ({erf_mass:.0%} of mass) {erf.size[0]}×{erf.size[1]}")
        ax.add_patch(patch)
        handles.append(patch)
        ax.plot([erf.center[1]], [erf.center[0]], marker="+", color=ERF_STYLE["edgecolor"], markersize=8)
    ax.set_xlim(-0.5, arr.shape[1] - 0.5)
    ax.set_ylim(arr.shape[0] - 0.5, -0.5)
    ax.set_xlabel("x (input pixel)")
    ax.set_ylabel("y (input pixel)")
    if legend and handles:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.8)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label if scale == "linear" else f"{label} (log)", shrink=0.85)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- 3-D surface


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


# --------------------------------------------------------------------------- unrolled graph


def path_edges(
    network: Op,
    input_shape: Any,
    source: Any,
    target: Any = None,
    *,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
) -> list[tuple[Any, Any]]:
    """The distinct edges on all paths from input ``source`` to the target (networkx nodes).

    ``len(path_edges(...))`` equals ``rf.contribution_map(..., metric="edges")[source]``.

    >>> import rfgraph as rf
    >>> len(path_edges(rf.Sequential(*[rf.Conv(3)] * 5), (15,), 7))
    37
    """
    import networkx as nx

    from ..graph import plan_to_networkx

    plan = build_plan(network, input_shape, endpoint)
    graph = plan_to_networkx(plan, max_nodes)
    src = (0, *_check_source(plan.input_shape, source))
    tgt = (len(plan.tensors) - 1, *_check_target(plan, target))
    down = nx.descendants(graph, src) | {src}
    cone = nx.ancestors(graph, tgt) | {tgt}
    return [(u, v) for u, v in graph.edges if u in down and v in cone]


def _check_source(shape: tuple[int, ...], source: Any) -> tuple[int, ...]:
    try:
        s = tuple(int(i) for i in np.atleast_1d(source))
    except (TypeError, ValueError):
        raise RFGraphError(f"source={source!r} must be an input position, e.g. 7") from None
    if len(s) != len(shape) or any(not 0 <= i < n for i, n in zip(s, shape, strict=True)):
        raise RFGraphError(f"source={source!r} is outside the input of shape {shape}")
    return s


def plot_graph(
    network: Op,
    input_shape: Any,
    source: int | None = None,
    *,
    target: Any = None,
    ax: Axes | None = None,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
    cmap: str = "YlOrRd",
    values: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw the unrolled graph of a small 1-D network layer by layer (seed 003's figure).

    Layer 0 (the input) is at the bottom, the target layer on top.  Each node sits
    at the centre of its receptive field, so a layer lines up with the pixels it
    sees.  Input pixels are coloured by their ``edges`` contribution (the number
    under each node); nodes that do not reach the target are pale, edges that lie
    on some path to the target are dark.  With ``source``, the edges on the paths
    from that input to the target are drawn in red and counted in the title (the
    count equals ``contribution_map(..., metric="edges")[source]``).  Edges that
    skip layers (identity shortcuts) are drawn as arcs.

    Parameters
    ----------
    network : Op
        A network with one spatial axis.
    input_shape : int or tuple of int
        E.g. ``(15,)``.
    source : int, optional
        The input position whose paths are highlighted.
    target : int or tuple, optional
        Target position in the last layer; default the centre.
    ax : matplotlib Axes, optional
    endpoint : str, optional
        Stop at this named tensor.
    max_nodes : int
        Refuse graphs with more nodes (they are unreadable anyway).
    cmap : str
        Colour map of the input contributions.
    values : bool
        Write the contribution under each input node.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import rfgraph as rf
    >>> ax = plot_graph(rf.Sequential(*[rf.Conv(3)] * 5), (15,), source=4)
    >>> ax.get_title()
    'input 4 → conv5[2]: 15 paths, 24 distinct edges'
    """
    import networkx as nx

    from ..graph import plan_to_networkx

    plan = build_plan(network, input_shape, endpoint)
    if plan.ndim != 1:
        raise RFGraphError(f"plot_graph draws 1-D networks; the input shape {plan.input_shape} has {plan.ndim} axes")
    if plan.num_nodes > max_nodes:
        raise RFGraphError(
            f"the unrolled graph has {plan.num_nodes} nodes, more than max_nodes={max_nodes} can show "
            "legibly; use a smaller input (e.g. --input 15) or pass max_nodes"
        )
    _mpl()
    from matplotlib.colors import Normalize

    tgt = _check_target(plan, target)
    graph = plan_to_networkx(plan, max_nodes)
    tnode = (len(plan.tensors) - 1, *tgt)
    edges_map = plan_contribution_map(plan, "edges", tgt)
    paths_map = plan_contribution_map(plan, "paths", tgt)
    records = plan_receptive_field(plan)

    pos: dict[Any, tuple[float, float]] = {}
    n0 = plan.input_shape[0]
    for t, rec in zip(plan.tensors, records, strict=True):
        c, s = rec.center[0], rec.stride[0]
        for o in range(t.shape[0]):
            x = (c + o * float(s)) if c is not None else (o + (n0 - t.shape[0]) / 2)
            pos[(t.index, o)] = (x, float(t.index))

    cone = nx.ancestors(graph, tnode) | {tnode}
    highlight: set[tuple[Any, Any]] = set()
    down: set[Any] = set()
    if source is not None:
        (s0,) = _check_source(plan.input_shape, source)
        src = (0, s0)
        down = nx.descendants(graph, src) | {src}
        highlight = {(u, v) for u, v in graph.edges if u in down and v in cone}

    ax = _new_axes(ax, figsize=(max(6.0, 0.55 * n0), 0.9 * len(plan.tensors) + 1.5))
    groups: dict[str, list[tuple[Any, Any]]] = {"out": [], "cone": [], "path": []}
    for u, v in graph.edges:
        key = "path" if (u, v) in highlight else "cone" if v in cone and u in cone else "out"
        groups[key].append((u, v))
    styles = {"out": ("#d0d0d0", 0.6), "cone": ("#6b6b6b", 1.0), "path": ("#d62728", 2.4)}
    for key in ("out", "cone", "path"):
        straight = [e for e in groups[key] if e[1][0] - e[0][0] == 1]
        skip = [e for e in groups[key] if e not in straight]
        color, width = styles[key]
        if straight:
            nx.draw_networkx_edges(graph, pos, edgelist=straight, ax=ax, edge_color=color, width=width, arrows=False)
        if skip:
            nx.draw_networkx_edges(
                graph,
                pos,
                edgelist=skip,
                ax=ax,
                edge_color=color,
                width=width,
                arrows=True,
                arrowstyle="-",
                connectionstyle="arc3,rad=0.25",
                node_size=0,
            )
    inputs = [(0, i) for i in range(n0)]
    vmax = float(edges_map.max()) if edges_map.max() > 0 else 1.0
    colours = _cmap(cmap)(Normalize(0, vmax)(edges_map))
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=inputs,
        node_color=colours,
        ax=ax,
        node_size=260,
        edgecolors=["#d62728" if n in down else "black" for n in inputs],
        linewidths=1.0,
    )
    others = [n for n in graph.nodes if n[0] > 0 and n != tnode]
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=others,
        ax=ax,
        node_size=120,
        node_color=["white" if n in cone else "#eeeeee" for n in others],
        edgecolors=["#d62728" if n in down and n in cone else "black" if n in cone else "#bbbbbb" for n in others],
        linewidths=1.0,
    )
    nx.draw_networkx_nodes(
        graph, pos, nodelist=[tnode], ax=ax, node_size=300, node_color="#d62728", node_shape="*", edgecolors="black"
    )
    if values:
        for i in range(n0):
            v = edges_map[i]
            ax.text(
                pos[(0, i)][0],
                -0.42,
                _fmt_value(float(v)),
                ha="center",
                va="top",
                fontsize=8,
                color="black" if v else "#999999",
            )
    ax.set_yticks(range(len(plan.tensors)))
    ax.set_yticklabels([t.name for t in plan.tensors])
    ax.tick_params(axis="y", left=False, labelleft=True)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    xs = [p[0] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(-0.9, len(plan.tensors) - 0.5)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        where = f"{plan.output.name}[{', '.join(map(str, tgt))}]"
        if source is not None:
            s0 = int(np.atleast_1d(source)[0])
            title = f"input {s0} → {where}: {_fmt_value(float(paths_map[s0]))} paths, {len(highlight)} distinct edges"
        else:
            n_cone = len(groups["cone"]) + len(groups["path"])
            title = f"{n_cone} edges lie on paths to {where}"
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- comparison


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


# --------------------------------------------------------------------------- files (CLI)


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise RFGraphError(f"cannot draw to {str(path)!r}: use one of {', '.join(IMAGE_SUFFIXES)} for a picture")


def _save(fig: Figure, path: Path, dpi: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=dpi)
    except OSError as err:
        raise RFGraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path


def save_map_figure(
    values: Any,
    path: str | Path,
    *,
    records: Any = None,
    target: Any = None,
    scale: Scale = "linear",
    erf_mass: float | None = 0.95,
    title: str | None = None,
    metric: str = "edges",
    dpi: float = 150,
) -> Path:
    """Write a contribution map as a picture (PNG, SVG or PDF, by the extension).

    1-D maps become a bar profile, 2-D maps a heatmap with the theoretical RF box
    (when ``records`` are given) and the effective-RF square, 3-D maps the slice
    through the peak along the first axis.  Used by ``rfgraph map --out x.png``.

    Parameters
    ----------
    values : array_like
        The map.
    path : str or Path
        Output file; its extension picks the format.
    records : list of RFRecord, optional
        ``rf.receptive_field(...)`` of the same network and input, for the RF box.
    target, scale, erf_mass, title, metric
        As in :func:`plot_map`; ``metric`` labels the colour bar.
    dpi : float
        Resolution of PNG output.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    _check_suffix(path)
    arr = _as_map(values, (1, 2, 3))
    scale = _check_scale(scale)
    if arr.ndim == 1:
        fig = _bare_figure((max(6.0, min(0.45 * arr.size, 16.0)), 3.4))
        ax = fig.add_subplot()
        plot_profile(
            arr,
            ax,
            trim=arr.size > 40,
            scale=scale,
            ylabel=metric,
            title=title or f"{metric} contribution per input position",
        )
        return _save(fig, path, dpi)
    box = _box_from(records, target, arr.shape) if records is not None else None
    if arr.ndim == 3:
        k = int(np.unravel_index(int(np.argmax(arr)), arr.shape)[0])
        arr = arr[k]
        box = box[1:] if box is not None else None
        title = title or f"{metric} contribution, slice {k} of axis 0"
    fig = _bare_figure((6.4, 5.2))
    ax = fig.add_subplot()
    plot_map(
        arr,
        ax,
        scale=scale,
        rf_box=box,
        erf_mass=erf_mass,
        label=metric,
        title=title or f"{metric} contribution map ({arr.shape[0]}×{arr.shape[1]})",
    )
    return _save(fig, path, dpi)


def save_profile_figure(
    values: Any,
    path: str | Path,
    *,
    metric: str = "edges",
    title: str | None = None,
    scale: Scale = "linear",
    dpi: float = 150,
) -> Path:
    """Write a 1-D profile as a bar chart (``rfgraph profile --plot --out x.png``)."""
    path = Path(path)
    _check_suffix(path)
    arr = _as_map(values, 1)
    fig = _bare_figure((max(6.0, min(0.45 * arr.size, 16.0)), 3.4))
    plot_profile(
        arr, fig.add_subplot(), trim=arr.size > 40, scale=scale, ylabel=metric, title=title or f"{metric} profile"
    )
    return _save(fig, path, dpi)


def save_graph_figure(
    network: Op,
    input_shape: Any,
    path: str | Path,
    *,
    source: int | None = None,
    target: Any = None,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
    dpi: float = 150,
) -> dict[str, Any]:
    """Write :func:`plot_graph`'s drawing to ``path``; returns a summary (for ``--json``).

    The summary holds the file, node and edge counts, and with ``source`` the
    number of paths and of distinct edges from it to the target.
    """
    path = Path(path)
    _check_suffix(path)
    plan = build_plan(network, input_shape, endpoint)
    if plan.ndim != 1:
        raise RFGraphError(
            f"rfgraph graph draws 1-D networks; give a 1-D input such as --input 15, not {plan.input_shape}"
        )
    n0 = plan.input_shape[0]
    fig = _bare_figure((max(6.0, min(0.55 * n0, 24.0)), 0.9 * len(plan.tensors) + 1.6))
    ax = plot_graph(
        network, input_shape, source, target=target, ax=fig.add_subplot(), endpoint=endpoint, max_nodes=max_nodes
    )
    _save(fig, path, dpi)
    tgt = _check_target(plan, target)
    summary: dict[str, Any] = {
        "out": str(path),
        "nodes": plan.num_nodes,
        "edges": plan.num_edges,
        "target": list(tgt),
        "title": ax.get_title(),
    }
    if source is not None:
        summary["source"] = int(np.atleast_1d(source)[0])
        summary["paths_from_source"] = int(plan_contribution_map(plan, "paths", tgt)[source])
        summary["edges_from_source"] = int(plan_contribution_map(plan, "edges", tgt)[source])
    return summary
