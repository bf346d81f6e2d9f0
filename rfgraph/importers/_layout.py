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
    extra: int = 0  # leading tokens that are no input position (a class token) on a flattened axis
    mixed: bool = False  # those tokens have seen every position (attention ran since they were added)
    hidden: bool = False  # the token axis holds the hidden units of a token-mixing MLP, each read every position


Atom = tuple[int, int, int]
"""A factor of a tensor axis: ``(k, stride, size)`` is the digit ``position // stride % size`` of spatial
axis ``k``; ``(-1, 0, size)`` a factor that is no position (batch, channels, heads)."""


@dataclass(frozen=True)
class _Split:
    """DAG tensor ``index`` whose spatial axes were split into digits spread over tensor axes: a
    window or grid partition (Swin, MaxViT) or MobileViT's unfolding of patches.  ``atoms`` lists,
    per tensor axis, its factors from outer to inner (memory order)."""

    index: int
    atoms: tuple[tuple[Atom, ...], ...]
    broadcast: frozenset[int] = frozenset()  # axes of size one whose digits were mixed (a keepdim reduction)

    @property
    def rank(self) -> int:
        return len(self.atoms)

    def spatial_atoms(self, axis: int) -> tuple[Atom, ...]:
        return tuple(a for a in self.atoms[axis] if a[0] >= 0)


@dataclass(frozen=True)
class _Scores:
    """Attention scores ``q @ k^T`` (two token axes): every query position reads every key position
    (``mixed``: only the digits of a split tensor's token axis; None: every position)."""

    sources: tuple[int, ...]
    like: Any  # _T | _Split
    mixed: tuple[Atom, ...] | None = None
    keys: tuple[Any, ...] = ()  # keys whose layout differs from the queries' (pooled queries)


@dataclass(frozen=True)
class _Flat:
    """DAG tensor ``index`` flattened into a vector (``x.flatten(1)``); a Linear on it mixes every position."""

    index: int


@dataclass(frozen=True)
class _Same:
    """The parts of ``chunk``/``split`` along channels: every part is the same spatial tensor."""

    value: Any


Value = Any  # _T | _Split | _Flat | _Same | _Scores | None | list/tuple/dict of values


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


def _regroup(
    in_shape: Sequence[int], out_shape: Sequence[int], axes: Sequence[int], spatial: Sequence[int]
) -> tuple[int, ...] | None:
    """Output axes of the spatial axes through a reshape that keeps memory order, or None.

    Every spatial axis either stays an axis of its own, or all of them end up flattened
    together (row-major, innermost) in one output axis -- token sequences ``(N, C, H*W)``,
    GroupNorm's ``(N, G, C/G*H*W)``; then every entry of the result is that axis.  ``axes`` may
    itself be flattened (all entries equal).
    """
    flattened = len(set(axes)) == 1 and len(axes) > 1
    atoms: list[int] = []  # sizes in memory order, spatial ones marked by their index in ``spatial_atoms``
    spatial_atoms: list[int] = []
    for a, n in enumerate(in_shape):
        if a in axes and flattened:
            lead = n // math.prod(spatial)
            atoms.append(lead)
            for s in spatial:
                spatial_atoms.append(len(atoms))
                atoms.append(s)
        elif a in axes:
            spatial_atoms.append(len(atoms))
            atoms.append(spatial[axes.index(a)])
        else:
            atoms.append(n)
    bounds = [math.prod(atoms[:j]) for j in range(len(atoms) + 1)]
    qs = [math.prod(out_shape[:b]) for b in range(len(out_shape) + 1)]
    own: list[int] = []
    for j in spatial_atoms:
        match = [b for b in range(len(out_shape)) if qs[b] == bounds[j] and qs[b + 1] == bounds[j + 1]]
        if not match:
            break
        own.append(match[-1] if atoms[j] == 1 else match[0])
    if len(own) == len(spatial_atoms) and own == sorted(own) and len(set(own)) == len(own):
        return tuple(own)
    first, last = spatial_atoms[0], spatial_atoms[-1]
    if spatial_atoms != list(range(first, last + 1)):
        return None
    for b in range(len(out_shape)):
        if qs[b] <= bounds[first] and qs[b + 1] == bounds[last + 1] and bounds[first] % qs[b] == 0:
            return (b,) * len(spatial)
    return None


def _tuple(value: Any, ndim: int) -> tuple[Any, ...]:
    if isinstance(value, int) or value is None:
        return (value,) * ndim
    out = tuple(value)
    return (out[0],) * ndim if len(out) == 1 else out


def _c(value: Any) -> Any:
    """Per-axis values that agree become one int (nicer reprs; the same graph)."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value) and isinstance(value[0], int):
        return value[0]
    return value
