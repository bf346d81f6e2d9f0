"""Tiled inference: the exact halo and a tile plan that stitches back exactly (SPEC section 8).

A large image is cut into tiles; each tile is run with some context (the halo)
and only the outputs that the context fully determines are kept.  Both answers
come from the exact per-axis fields of :mod:`rfgraph.answers.borders`, not from the
receptive-field arithmetic, so they stay exact after stride, dilation,
up-sampling, crops and skip connections.

Conventions (per axis, in input pixels): output ``o`` sits at input position
``floor(o * S)`` where ``S`` is the network's effective stride; the halo
``(left, right)`` says how far the field of an interior output reaches left and
right of that position, the worst over all phases of the output grid.

>>> import rfgraph as rf
>>> rf.halo(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(5, dilation=2, padding=4)), (32,))
((5, 5),)
>>> rf.halo(rf.Sequential(rf.Conv(3, stride=2, padding=1), rf.Upsample(2)), (32, 32))
((2, 1), (2, 1))
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from ..errors import RFGraphError
from ..ops import Op
from ..plan import Plan, build_plan, normalize_shape
from .borders import AxisFields, axis_fields, equivariance_error

__all__ = ["Tile", "halo", "tiles", "alignment"]


class Tile(NamedTuple):
    """One tile of a tiled inference; each field holds one slice per spatial axis.

    Run the network on ``image[..., *tile.input]``, keep ``result[..., *tile.crop]``
    and write it to ``output[..., *tile.output]``.
    """

    input: tuple[slice, ...]
    output: tuple[slice, ...]
    crop: tuple[slice, ...]


def _fields(network: Op, shape: tuple[int, ...], endpoint: str | None) -> tuple[Plan, tuple[AxisFields, ...]]:
    plan = build_plan(network, shape, endpoint)
    why = equivariance_error(plan)
    if why is not None:
        raise RFGraphError(why)
    return plan, axis_fields(plan)


def _positions(f: AxisFields, o: np.ndarray) -> np.ndarray:
    assert f.stride is not None
    return (o * f.stride.numerator) // f.stride.denominator


def halo(network: Op, input_shape: Any, *, endpoint: str | None = None) -> tuple[tuple[int, int], ...]:
    """The exact, minimal context per side that a tile needs, in input pixels.

    Output ``o`` sits at input position ``p = floor(o * S)`` (``S`` the effective
    stride); its exact field spans ``[p - left, p + right]`` at most, over every
    output whose computation meets no border, so ``left`` and ``right`` are
    attained: one pixel less on either side changes some output.  The halo may be
    asymmetric and depends on the phase of the output after stride and
    up-sampling; the worst phase is taken.

    Parameters
    ----------
    network : Op
        A translation-equivariant network (no global pooling).
    input_shape : tuple of int
        The image size (it decides "same" padding); when it is smaller than the
        field, the halo is measured on a wider image of the same phase.
    endpoint : str, optional
        Tile this tensor instead of the network output.

    Returns
    -------
    tuple of (int, int)
        ``(left, right)`` per spatial axis.

    Examples
    --------
    >>> import rfgraph as rf
    >>> rf.halo(rf.Conv(4, padding=((1, 2),)), (16,))
    ((1, 2),)
    """
    shape = normalize_shape(input_shape)
    _, fields = _fields(network, shape, endpoint)
    out = []
    for axis, f in enumerate(fields):
        found = _axis_halo(f)
        step = 0
        while found is None and step < _MAX_GROWTH:
            # An image smaller than the field has no interior output; the same network on a wider
            # image (wider by multiples of the alignment grid, so every tensor keeps its phase and
            # "same" padding) has the same interior fields.
            step += 1
            wider = shape[:axis] + (shape[axis] + 2 * step * f.align * _GROWTH,) + shape[axis + 1 :]
            try:
                found = _axis_halo(axis_fields(build_plan(network, wider, endpoint), (axis,))[0])
            except RFGraphError:
                break
        if found is None:
            raise RFGraphError(
                f"input_shape={shape}: along axis {axis} no output in every phase is free of border effects, "
                "even on a much wider image; use a larger input_shape"
            )
        out.append(found)
    return tuple(out)


_GROWTH = 8  # alignment steps added per side per try
_MAX_GROWTH = 32


def _axis_halo(f: AxisFields) -> tuple[int, int] | None:
    clean = np.flatnonzero(f.clean)
    assert f.stride is not None
    period = f.align * f.stride.denominator // f.stride.numerator
    if clean.size == 0 or np.unique(clean % period).size < period:
        return None
    pos = _positions(f, clean)
    return int((pos - f.lo[clean]).max()), int((f.hi[clean] - pos).max())


def alignment(network: Op, input_shape: Any, *, endpoint: str | None = None) -> tuple[int, ...]:
    """Per axis, the grid (in input pixels) that tile origins must lie on.

    It is the least common multiple of the numerators of every tensor's
    effective stride, e.g. 16 for a U-Net with four 2x poolings even though its
    output stride is 1.

    >>> import rfgraph as rf
    >>> alignment(rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), rf.Upsample(2)), (8, 8))
    (2, 2)
    """
    shape = normalize_shape(input_shape)
    _, fields = _fields(network, shape, endpoint)
    return tuple(f.align for f in fields)


def _tile_sizes(tile_shape: Any, shape: tuple[int, ...], align: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(tile_shape, numbers.Integral) and not isinstance(tile_shape, bool):
        tile_shape = (int(tile_shape),) * len(shape)
    try:
        sizes = tuple(tile_shape)
    except TypeError:
        raise RFGraphError(f"tile_shape={tile_shape!r} must be an int or one int per axis, e.g. (256, 256)") from None
    if len(sizes) != len(shape) or any(
        not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1 for n in sizes
    ):
        raise RFGraphError(
            f"tile_shape={tile_shape!r} must hold {len(shape)} positive ints (one per axis of the image {shape})"
        )
    # Blocks start on the alignment grid, so that every layer of a tile sees the image's pixel
    # phases: round down to a multiple of it (at least one step).
    return tuple(max(int(t) // a, 1) * a for t, a in zip(sizes, align))


def _out_chunks(f: AxisFields, n: int, step: int) -> list[tuple[int, int]]:
    """Partition the output axis into chunks of ``step`` input pixels (the last one takes the rest)."""
    assert f.stride is not None
    n_out = f.lo.size
    per = step * f.stride.denominator // f.stride.numerator
    starts = list(range(0, n_out, per))
    chunks = [(a, min(a + per, n_out)) for a in starts]
    if chunks:
        chunks[-1] = (chunks[-1][0], n_out)
    return chunks


def _kept_ok(
    network: Op,
    shape: tuple[int, ...],
    endpoint: str | None,
    axis: int,
    image: AxisFields,
    x0: int,
    x1: int,
    chunk: tuple[int, int],
) -> bool:
    """Does the tile ``[x0, x1)`` along ``axis`` compute outputs ``chunk`` exactly as the whole image does?"""
    n = shape[axis]
    tile_shape = shape[:axis] + (x1 - x0,) + shape[axis + 1 :]
    try:
        tile = axis_fields(build_plan(network, tile_shape, endpoint), (axis,))[0]
    except RFGraphError:
        return False
    assert image.stride is not None
    shift = x0 * image.stride.denominator // image.stride.numerator
    a, b = chunk
    j = np.arange(a, b) - shift
    if j.size == 0 or j[0] < 0 or j[-1] >= tile.lo.size:
        return False
    # Border effects are allowed only where the tile's border is the image's own border.
    if (x0 > 0 and tile.left[j].any()) or (x1 < n and tile.right[j].any()):
        return False
    live = tile.lo[j] <= tile.hi[j]
    return bool(
        np.array_equal(tile.lo[j][live] + x0, image.lo[a:b][live])
        and np.array_equal(tile.hi[j][live] + x0, image.hi[a:b][live])
    )


def _axis_tiles(
    network: Op, shape: tuple[int, ...], endpoint: str | None, axis: int, f: AxisFields, step: int
) -> list[tuple[slice, slice, slice]]:
    n, a_ = shape[axis], f.align
    assert f.stride is not None
    out = []
    for a, b in _out_chunks(f, n, step):
        live = f.lo[a:b] <= f.hi[a:b]
        need_lo = int(f.lo[a:b][live].min()) if live.any() else 0
        need_hi = int(f.hi[a:b][live].max()) if live.any() else 0
        # Origins on the alignment grid; ends congruent to the image end, so that every tensor of
        # the tile has the image's sizes modulo its stride ("same" padding, ceil_mode, merges).
        x0 = max(need_lo, 0) // a_ * a_
        x1 = n - (n - min(need_hi + 1, n)) // a_ * a_
        while not _kept_ok(network, shape, endpoint, axis, f, x0, x1, (a, b)):
            if x0 == 0 and x1 == n:  # pragma: no cover - the whole image always reproduces itself
                raise RFGraphError(f"cannot tile axis {axis}: even the whole image does not reproduce its output")
            x0, x1 = max(x0 - a_, 0), min(x1 + a_, n)
        shift = x0 * f.stride.denominator // f.stride.numerator
        out.append((slice(x0, x1), slice(a, b), slice(a - shift, b - shift)))
    return out


def tiles(network: Op, image_shape: Any, tile_shape: Any, *, endpoint: str | None = None) -> list[Tile]:
    """A tile plan whose stitched outputs equal the whole-image output exactly.

    The image is cut into blocks of ``tile_shape`` input pixels on the
    alignment grid (:func:`alignment`); each block's outputs are kept once, so
    the output is covered exactly once.  Each tile's input is the block plus the
    exact context its kept outputs read (clipped to the image: the image border
    uses the network's own padding), widened to the alignment grid.  Every tile
    is checked against the exact per-axis fields of the whole image.

    Parameters
    ----------
    network : Op
        A translation-equivariant network.
    image_shape : tuple of int
        Spatial size of the whole image.
    tile_shape : int or tuple of int
        Size of the blocks whose outputs one tile keeps, in input pixels (without
        the halo); rounded down to a multiple of :func:`alignment` (at least one
        grid step) on every axis.
    endpoint : str, optional
        Tile this tensor instead of the network output.

    Returns
    -------
    list of Tile
        In row-major order of the block grid.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))
    >>> for t in rf.tiles(net, (10,), (4,)):
    ...     print(t.input, t.output, t.crop)
    (slice(0, 6, None),) (slice(0, 4, None),) (slice(0, 4, None),)
    (slice(2, 10, None),) (slice(4, 8, None),) (slice(2, 6, None),)
    (slice(6, 10, None),) (slice(8, 10, None),) (slice(2, 4, None),)
    """
    shape = normalize_shape(image_shape)
    _, fields = _fields(network, shape, endpoint)
    steps = _tile_sizes(tile_shape, shape, tuple(f.align for f in fields))
    per_axis = [_axis_tiles(network, shape, endpoint, a, f, steps[a]) for a, f in enumerate(fields)]
    result = []
    for combo in np.ndindex(*(len(p) for p in per_axis)):
        parts = [per_axis[a][i] for a, i in enumerate(combo)]
        result.append(Tile(tuple(p[0] for p in parts), tuple(p[1] for p in parts), tuple(p[2] for p in parts)))
    return result
