"""Padding exposure: which outputs never see padding, and how much of each field lies in it.

:func:`valid_region` (SPEC section 8) marks the output positions whose field lies
wholly inside the input, so that no padded value (nor a clipped window, a
clamped interpolation or a missing transposed-convolution tap) reaches them.
:func:`padding_share` says, for every output position, which share of its
field, weighted by paths, falls outside the image: the paths that an unbounded
image would send through pixels the padding stands in for.  It is 0 exactly on
the valid region.  :func:`plot_padding_share` draws both.

>>> import rfgraph as rf
>>> rf.valid_region(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (8,)).astype(int).tolist()
[0, 0, 1, 1, 1, 1, 0, 0]
>>> padding_share(rf.Conv(3, padding=1), (4,)).round(3).tolist()
[0.333, 0.0, 0.0, 0.333]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..geometry import AxisMap
from ..ops import Op
from ..plan import Plan, build_plan, normalize_shape
from .borders import axis_fields, equivariance_error

__all__ = ["valid_region", "padding_share", "plot_padding_share"]

# Canvas margins tried (in multiples of the alignment grid) before giving up.
_MAX_MARGIN_STEPS = 64
# Largest canvas (positions, times the two channels of the sweep) padding_share will allocate.
MAX_CANVAS = 50_000_000


def valid_region(network: Op, input_shape: Any, *, endpoint: str | None = None) -> np.ndarray:
    """Output positions whose field lies wholly inside the input (no padded value reaches them).

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size.
    endpoint : str, optional
        Use this tensor instead of the network output.

    Returns
    -------
    numpy.ndarray
        bool, of the output (end-point) tensor's spatial shape.

    Notes
    -----
    A tap that reads the padding of a tensor counts even where the unbounded
    network would have a position fed by nothing there (a transposed convolution
    with a kernel shorter than its stride): such a position holds the bias, the
    padding holds zero.

    Examples
    --------
    >>> import rfgraph as rf
    >>> v = rf.valid_region(rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2)), (8, 6))
    >>> v.shape, int(v.sum())
    ((4, 3), 2)
    """
    plan = build_plan(network, input_shape, endpoint)
    return _outer([~f.left & ~f.right for f in axis_fields(plan)])


def _outer(per_axis: list[np.ndarray]) -> np.ndarray:
    out = per_axis[0]
    for v in per_axis[1:]:
        out = np.logical_and.outer(out, v)
    return np.asarray(out, dtype=bool)


def _forward(x: np.ndarray, m: AxisMap, axis: int) -> np.ndarray:
    """``out[..., o, ...] = sum of x[..., i, ...]`` over the inputs ``i`` of ``o`` along ``axis``."""
    shape = list(x.shape)
    shape[axis] = m.n_out
    out = np.zeros(shape, dtype=np.float64)
    rows = np.diff(m.indptr) > 0
    if m.indices.size:
        summed = np.add.reduceat(np.take(x, m.indices, axis=axis), m.indptr[:-1][rows], axis=axis)
        index = [slice(None)] * x.ndim
        index[axis] = rows  # type: ignore[call-overload]
        out[tuple(index)] = summed
    return out


def _sweep(plan: Plan, inside: np.ndarray) -> np.ndarray:
    """Paths from every output position to the ``inside`` pixels and to all pixels (two channels).

    Each tensor is rescaled to a maximum of 1 with its log-scale kept, so that deep
    networks do not overflow; only the ratio of the channels is used.
    """
    values: list[np.ndarray] = []
    scales: list[float] = []
    for t in plan.tensors:
        if t.op is None:
            value, scale = np.stack([inside.astype(np.float64), np.ones(inside.shape)]), 0.0
        else:
            scale = max(scales[link.source] for link in t.links)
            value = np.zeros((2, *t.shape))
            for link in t.links:
                x = values[link.source] * math.exp(scales[link.source] - scale)
                for axis, m in enumerate(link.maps):
                    x = _forward(x, m, axis + 1)
                value += x
        top = float(value[1].max())
        if top > 0:
            value /= top
            scale += math.log(top)
        values.append(value)
        scales.append(scale)
    return values[-1]


def padding_share(network: Op, input_shape: Any, *, endpoint: str | None = None) -> np.ndarray:
    """Per output position, the share of its field (weighted by paths) that falls in the padding.

    The image is embedded in a canvas wide enough that every image output is
    interior there; the share is ``1 - paths into the image / all paths`` of the
    corresponding canvas output, i.e. the paths that the zero padding cuts off.
    It is 0 exactly where :func:`valid_region` is True.

    Parameters
    ----------
    network : Op
        A translation-equivariant network (no global pooling).
    input_shape : tuple of int
        Spatial input size.
    endpoint : str, optional
        Use this tensor instead of the network output.

    Returns
    -------
    numpy.ndarray
        float64 in [0, 1], of the output (end-point) tensor's spatial shape.

    Examples
    --------
    >>> import rfgraph as rf
    >>> padding_share(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (6,)).round(3).tolist()
    [0.333, 0.111, 0.0, 0.0, 0.111, 0.333]
    """
    shape = normalize_shape(input_shape)
    plan = build_plan(network, shape, endpoint)
    why = equivariance_error(plan)
    if why is not None:
        raise RFGraphError(why)
    fields = axis_fields(plan)
    aligns = [f.align for f in fields]
    for step in range(1, _MAX_MARGIN_STEPS + 1):
        margins = [a * step for a in aligns]
        canvas_shape = tuple(n + 2 * m for n, m in zip(shape, margins))
        size = 2 * math.prod(canvas_shape)
        if size > MAX_CANVAS:
            break
        canvas = build_plan(network, canvas_shape, endpoint)
        offsets = []
        for f, m in zip(axis_fields(canvas), margins):
            assert f.stride is not None
            offsets.append(m * f.stride.denominator // f.stride.numerator)
        window = tuple(slice(o, o + n) for o, n in zip(offsets, plan.output.shape))
        canvas_fields = axis_fields(canvas)
        if all(f.clean[w].all() or not (f.lo[w] <= f.hi[w]).any() for f, w in zip(canvas_fields, window)):
            break
    else:
        raise RFGraphError(
            f"padding_share: no canvas up to {_MAX_MARGIN_STEPS} alignment steps makes every output interior"
        )
    if size > MAX_CANVAS:
        raise RFGraphError(
            f"padding_share would sweep a canvas of {size:,} values (limit {MAX_CANVAS:,}); use a smaller input_shape"
        )
    inside = np.zeros(canvas_shape, dtype=bool)
    inside[tuple(slice(m, m + n) for m, n in zip(margins, shape))] = True
    paths = _sweep(canvas, inside)
    part, total = paths[0][window], paths[1][window]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, 1.0 - part / np.where(total > 0, total, 1.0), 0.0)
    share = np.clip(share, 0.0, 1.0)
    share[valid_region(network, shape, endpoint=endpoint)] = 0.0  # exact zeros, not rounding residue
    return share


def plot_padding_share(
    network: Op,
    input_shape: Any,
    *,
    endpoint: str | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw :func:`padding_share` with the :func:`valid_region` outlined (needs matplotlib).

    A 2-D output is an image with the valid region's boundary drawn over it; a
    1-D output is a curve with the valid positions shaded.  Returns the axes.
    """
    import matplotlib.pyplot as plt

    share = padding_share(network, input_shape, endpoint=endpoint)
    valid = valid_region(network, input_shape, endpoint=endpoint)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    if share.ndim == 1:
        x = np.arange(share.size)
        ax.plot(x, share, color="C3")
        ax.fill_between(x, 0, 1, where=valid, color="C2", alpha=0.2, label="valid region")
        ax.set_xlabel("output position")
        ax.set_ylabel("share of paths in padding")
        ax.set_ylim(0, 1)
        ax.legend(loc="upper center")
    elif share.ndim == 2:
        im = ax.imshow(share, cmap="magma", vmin=0, vmax=max(float(share.max()), 1e-12), interpolation="nearest")
        if valid.any() and not valid.all():
            ax.contour(valid.astype(float), levels=[0.5], colors="cyan", linewidths=1.0)
        ax.figure.colorbar(im, ax=ax, label="share of paths in padding")
        ax.set_xlabel("output column")
        ax.set_ylabel("output row")
    else:
        raise RFGraphError("plot_padding_share draws 1-D and 2-D outputs; take a slice of padding_share for 3-D")
    ax.set_title(title or f"padding exposure ({int(valid.sum())} of {valid.size} outputs valid)")
    return ax
