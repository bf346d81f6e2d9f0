"""2-D maps: the heatmap, the theoretical RF box and the effective-RF square.

Coordinates are input-pixel indices: pixel ``i`` is centred on ``i`` and spans
``[i - 0.5, i + 0.5]``; 2-D maps are drawn with row 0 at the top (``y`` down).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..arithmetic import RFRecord
from ..errors import RFGraphError
from ..geometry.limits import as_position
from ._common import (
    Box,
    Scale,
    _as_map,
    _bare_figure,
    _check_scale,
    _check_suffix,
    _cmap,
    _new_axes,
    _norm,
    _positive_range,
    _save,
)
from .profiles import plot_profile

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "ERF",
    "ERF_STYLE",
    "RF_BOX_STYLE",
    "effective_rf",
    "exact_box",
    "plot_map",
    "save_map_figure",
    "theoretical_box",
]

RF_BOX_STYLE: dict[str, Any] = {"edgecolor": "white", "linestyle": "--", "linewidth": 1.5}
ERF_STYLE: dict[str, Any] = {"edgecolor": "#e8402a", "linestyle": "-", "linewidth": 1.8}


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


def exact_box(values: Any) -> Box | None:
    """The exact field of a map: per axis ``(first, last)`` of its non-zero pixels (None if all zero).

    Where the receptive-field arithmetic is not the whole story (``uniform`` False or
    ``global_context`` True), this, not :func:`theoretical_box`, is the box to draw.

    >>> exact_box(np.array([[0, 0, 0], [0, 2, 1], [0, 0, 0]]))
    ((1, 1), (1, 2))
    """
    nonzero = np.argwhere(np.asarray(values) != 0)
    if not nonzero.size:
        return None
    return tuple((int(lo), int(hi)) for lo, hi in zip(nonzero.min(axis=0), nonzero.max(axis=0), strict=True))


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
        o = as_position(target)  # integers only: 2.5 is an error, not 2
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
    return _box_and_size(rf_box, target, shape)[0]


def _box_and_size(rf_box: Any, target: Any, shape: tuple[int, ...]) -> tuple[Box | None, tuple[int, ...] | None]:
    """The box clipped to the map, and the full field size (the box may reach past the image)."""
    if rf_box is None:
        return None, None
    if isinstance(rf_box, RFRecord) or (isinstance(rf_box, Sequence) and rf_box and isinstance(rf_box[-1], RFRecord)):
        full = theoretical_box(rf_box, target, None)
        size = None if full is None else tuple(int(hi - lo + 1) for lo, hi in full)
        return theoretical_box(rf_box, target, shape), size
    try:
        box = tuple((float(lo), float(hi)) for lo, hi in rf_box)
    except (TypeError, ValueError):
        raise RFGraphError(
            "rf_box must be rf.receptive_field(...) records or one (first, last) pair per axis"
        ) from None
    if len(box) != len(shape):
        raise RFGraphError(f"rf_box has {len(box)} axes but the map has {len(shape)}")
    return box, tuple(int(hi - lo + 1) for lo, hi in box)


def _legend_corner(shape: tuple[int, ...], focus: tuple[float, float] | None) -> Any:
    """The corner of the map farthest from ``focus`` (the target's field), so the legend never hides it."""
    if focus is None:
        return "upper right"
    corners = {
        "upper left": (0.0, 0.0),
        "upper right": (0.0, shape[1] - 1.0),
        "lower left": (shape[0] - 1.0, 0.0),
        "lower right": (shape[0] - 1.0, shape[1] - 1.0),
    }
    # Relative distances, so that a long thin map does not always favour its far end.
    return max(
        corners,
        key=lambda c: ((corners[c][0] - focus[0]) / shape[0]) ** 2 + ((corners[c][1] - focus[1]) / shape[1]) ** 2,
    )


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
    box, full_size = _box_and_size(rf_box, target, arr.shape)
    focus: tuple[float, float] | None = None
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
        focus = ((y0 + y1) / 2, (x0 + x1) / 2)
        shown = (int(y1 - y0 + 1), int(x1 - x0 + 1))
        size = full_size if full_size is not None else shown
        text = f"theoretical RF {size[0]}×{size[1]}"
        if tuple(size) != shown:  # the field reaches past the image: say both sizes
            text += f" (clipped to {shown[0]}×{shown[1]})"
        patch.set_label(text)
        handles.append(patch)
    if erf_mass is not None and arr.max() > 0:
        erf = effective_rf(arr, erf_mass, erf_center)
        patch = _rectangle(erf.box, **ERF_STYLE)
        patch.set_label(f"effective RF ({erf_mass:.0%} of mass) {erf.size[0]}×{erf.size[1]}")
        ax.add_patch(patch)
        handles.append(patch)
        ax.plot([erf.center[1]], [erf.center[0]], marker="+", color=ERF_STYLE["edgecolor"], markersize=8)
        if focus is None:
            focus = (float(erf.center[0]), float(erf.center[1]))
    ax.set_xlim(-0.5, arr.shape[1] - 0.5)
    ax.set_ylim(arr.shape[0] - 0.5, -0.5)
    ax.set_xlabel("x (input pixel)")
    ax.set_ylabel("y (input pixel)")
    if legend and handles:
        ax.legend(handles=handles, loc=_legend_corner(arr.shape, focus), fontsize=7, framealpha=0.8)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label if scale == "linear" else f"{label} (log)", shrink=0.85)
    if title is not None:
        ax.set_title(title)
    return ax


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
    overwrite: bool = False,
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
    _check_suffix(path, overwrite)
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
        return _save(fig, path, dpi, overwrite)
    # 2-D: the records themselves, so that the legend can give the field's full size when the
    # image clips it; 3-D: the slice of the unclipped box (the axes clip the drawing).
    box: Any = records
    if arr.ndim == 3:
        k = int(np.unravel_index(int(np.argmax(arr)), arr.shape)[0])
        arr = arr[k]
        full = theoretical_box(records, target, None) if records is not None else None
        box = full[1:] if full is not None else None
        title = title or f"{metric} contribution, slice {k} of axis 0"
    fig = _bare_figure((6.4, 5.2))
    ax = fig.add_subplot()
    plot_map(
        arr,
        ax,
        scale=scale,
        rf_box=box,
        target=target if arr.ndim == 2 and box is records else None,
        erf_mass=erf_mass,
        label=metric,
        title=title or f"{metric} contribution map ({arr.shape[0]}×{arr.shape[1]})",
    )
    return _save(fig, path, dpi, overwrite)
