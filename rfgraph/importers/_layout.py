"""Where the spatial axes of an imported tensor are: the values the importers pass around.

An importer follows every tensor that depends on the input.  :class:`_T` is a tensor whose
spatial axes (the DAG tensor's positions) sit at known tensor axes -- the trailing ones
(channels first, ``(N, C, H, W)``) or anywhere after a permute (channels last,
``(N, H, W, C)``).  :class:`_Flat` is a tensor whose spatial axes were flattened into
features (``x.flatten(1)``); when the DAG tensor has one position (a globally pooled
vector) every layout of it is the same graph, so it may be reshaped back freely.

>>> _follow((1, 8, 5, 6), (1, 5, 6, 8), (2, 3))  # no permute: a reshape that moves data
>>> _follow((1, 8, 5, 6), (1, 2, 4, 5, 6), (2, 3))
(3, 4)
>>> _permuted((2, 3), (0, 2, 3, 1))
(1, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__: list[str] = []


@dataclass(frozen=True)
class _T:
    """A tensor of rank ``rank`` holding DAG tensor ``index``; ``axes`` are the tensor axes of the
    spatial axes (None: the trailing ones); ``pad`` is zero padding added by ``F.pad`` that the next
    convolution or pooling absorbs."""

    index: int
    rank: int
    axes: tuple[int, ...] | None = None
    pad: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class _Flat:
    """DAG tensor ``index`` flattened into a vector (``x.flatten(1)``); a Linear on it mixes every position."""

    index: int


@dataclass(frozen=True)
class _Same:
    """The parts of ``chunk``/``split`` along channels: every part is the same spatial tensor."""

    value: Any


Value = Any  # _T | _Flat | _Same | None | list/tuple/dict of values


def _dims(x: _T, ndim: int) -> tuple[int, ...]:
    """Tensor axes of the spatial axes of ``x``."""
    return x.axes if x.axes is not None else tuple(range(x.rank - ndim, x.rank))


def _make(index: int, rank: int, axes: Sequence[int], ndim: int) -> _T:
    axes = tuple(axes)
    return _T(index, rank, None if axes == tuple(range(rank - ndim, rank)) else axes)


def _permuted(axes: Sequence[int], order: Sequence[int]) -> tuple[int, ...]:
    """Spatial axes after ``permute(order)`` (output axis ``i`` is input axis ``order[i]``)."""
    rank = len(order)
    where = [int(o) % rank for o in order]
    return tuple(where.index(a) for a in axes)


def _follow(in_shape: Sequence[int], out_shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...] | None:
    """Output axes of the spatial axes through a reshape, or None when one is split or merged.

    A reshape keeps memory order: an axis survives when the product of the sizes before it and
    its size are both unchanged.  Axes of size one may appear or vanish; they are matched in
    order (None when one has vanished).
    """
    out: list[int] = []
    prefix_out = [math.prod(out_shape[:b]) for b in range(len(out_shape) + 1)]
    last = -1
    for a in axes:
        before, n = math.prod(in_shape[:a]), in_shape[a]
        found = None
        for b in range(last + 1, len(out_shape)):
            if prefix_out[b] == before and out_shape[b] == n:
                found = b
                if n > 1:
                    break
                # a size-one axis: prefer the match at the same distance from the end
                if len(out_shape) - b == len(in_shape) - a:
                    break
        if found is None:
            return None
        out.append(found)
        last = found
    return tuple(out)
