"""Per-axis edges of the index-map ops: padding modes, adaptive pools, pixel shuffles,
slices, flips, rolls, broadcasts, spatial concatenation and token mixers (SPEC section 3).

Every function returns an :class:`~rfgraph.geometry.axismap.AxisMap` (rows = outputs).

>>> pad_axis(4, 2, 1, "reflect").dense().astype(int).argmax(axis=1).tolist()
[2, 1, 0, 1, 2, 3, 2]
>>> adaptive_axis(5, 3).dense().astype(int).tolist()
[[1, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 1, 1]]
"""

from __future__ import annotations

import numpy as np

from ..ops.base import PAD_MODES
from .axismap import AxisMap

__all__ = [
    "PAD_MODES",
    "pad_source",
    "pad_axis",
    "adaptive_axis",
    "shuffle_axis",
    "unshuffle_axis",
    "slice_axis",
    "flip_axis",
    "roll_axis",
    "broadcast_axis",
    "offset_axis",
    "all_to_all_axis",
    "window_axis",
]


def pad_source(j: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Input position torch reads at virtual position ``j`` (``-pad <= j < n + pad``); -1 = a zero."""
    if mode == "zeros":
        return np.where((j >= 0) & (j < n), j, -1)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return np.mod(j, n)
    # reflect (pad < n is checked by the caller): mirror without repeating the edge pixel
    if n == 1:
        return np.zeros_like(j)
    period = 2 * (n - 1)
    m = np.mod(j, period)
    return np.where(m < n, m, period - m)


def pad_axis(n: int, left: int, right: int, mode: str) -> AxisMap:
    """``F.pad`` along one axis: output ``o`` reads virtual input position ``o - left``."""
    n_out = n + left + right
    o = np.arange(n_out, dtype=np.int64)
    return AxisMap.from_pairs(n, n_out, o, pad_source(o - left, n, mode))


def adaptive_axis(n: int, m: int) -> AxisMap:
    """torch's adaptive pooling windows ``[floor(o*n/m), ceil((o+1)*n/m))``, exact integers."""
    o = np.arange(m, dtype=np.int64)
    start = (o * n) // m
    end = -((-(o + 1) * n) // m)
    widths = end - start
    outs = np.repeat(o, widths)
    ins = np.repeat(start, widths) + (np.arange(outs.size) - np.repeat(np.cumsum(widths) - widths, widths))
    return AxisMap.from_pairs(n, m, outs, ins, np.repeat(1.0 / widths, widths))  # averaging: 1/width


def shuffle_axis(n: int, r: int) -> AxisMap:
    """PixelShuffle: output ``o`` of ``n*r`` reads ``o // r``."""
    o = np.arange(n * r, dtype=np.int64)
    return AxisMap.from_pairs(n, n * r, o, o // r)


def unshuffle_axis(n: int, r: int) -> AxisMap:
    """PixelUnshuffle: output ``o`` of ``n/r`` reads ``o*r .. o*r + r - 1``."""
    m = n // r
    o = np.repeat(np.arange(m, dtype=np.int64), r)
    return AxisMap.from_pairs(n, m, o, o * r + np.tile(np.arange(r, dtype=np.int64), m))


def slice_axis(n: int, start: int, step: int, n_out: int) -> AxisMap:
    """``x[start::step]`` truncated to ``n_out`` entries."""
    o = np.arange(n_out, dtype=np.int64)
    return AxisMap.from_pairs(n, n_out, o, start + o * step)


def offset_axis(n: int, n_out: int, offset: int) -> AxisMap:
    """Output ``o`` reads ``o - offset`` (placement of a branch inside a spatial concatenation)."""
    i = np.arange(n, dtype=np.int64)
    return AxisMap.from_pairs(n, n_out, i + offset, i)


def flip_axis(n: int) -> AxisMap:
    o = np.arange(n, dtype=np.int64)
    return AxisMap.from_pairs(n, n, o, n - 1 - o)


def roll_axis(n: int, shift: int) -> AxisMap:
    """``torch.roll``: output ``o`` reads ``(o - shift) mod n``."""
    o = np.arange(n, dtype=np.int64)
    return AxisMap.from_pairs(n, n, o, np.mod(o - shift, n))


def broadcast_axis(n_out: int) -> AxisMap:
    """A size-1 axis broadcast to ``n_out`` positions: every output reads the one input."""
    return AxisMap.from_pairs(1, n_out, np.arange(n_out, dtype=np.int64), np.zeros(n_out, dtype=np.int64))


def all_to_all_axis(n: int) -> AxisMap:
    """Every output reads every input (global token mixing)."""
    o = np.repeat(np.arange(n, dtype=np.int64), n)
    return AxisMap.from_pairs(n, n, o, np.tile(np.arange(n, dtype=np.int64), n), np.full(o.size, 1.0 / n))


def window_axis(n: int, window: int, shift: int, dilation: int = 1) -> AxisMap:
    """Swin's (shifted) window attention along one axis, windows optionally dilated.

    ``roll(x, -shift)``, all-to-all inside windows, ``roll(., shift)``.  In the rolled
    coordinate ``y``, blocks ``[k*span, (k+1)*span)`` of ``span = window * dilation``
    positions each hold ``dilation`` windows: the positions of the block with the same
    ``y mod dilation``, ``dilation`` apart.  Output ``o`` reads ``(q + shift) mod n`` for
    every ``q`` in the window of ``(o - shift) mod n``.

    >>> window_axis(8, 2, 0, dilation=2).inputs_of(1).tolist()
    [1, 3]
    """
    o = np.arange(n, dtype=np.int64)
    y = np.mod(o - shift, n)
    span = window * dilation
    base = (y // span) * span + y % dilation  # the window's first position (rolled coordinate)
    outs = np.repeat(o, window)
    q = np.repeat(base, window) + np.tile(np.arange(window, dtype=np.int64) * dilation, n)
    # uniform attention: 1/window per axis
    return AxisMap.from_pairs(n, n, outs, np.mod(q + shift, n), np.full(outs.size, 1.0 / window))
