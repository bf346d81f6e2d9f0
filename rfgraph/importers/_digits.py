"""Spatial axes split into digits: window and grid partitions, unfolded patches (issue 15).

Swin, MaxViT and MobileViT reshape a feature map so that a spatial axis of size ``n`` becomes
two tensor axes -- the index of the window and the position inside it (Swin, MaxViT's block
attention), or the other way round (MaxViT's grid attention, MobileViT's patches) -- and
attend along one of them.  :class:`~rfgraph.importers._layout._Split` follows every factor
("digit") of every spatial axis through reshapes and permutes.  Attention, a softmax, a
normalisation or a reduction along tensor axes then couples exactly the positions that differ
only in those axes' digits: per spatial axis a run of digits, i.e. windows of ``window``
positions spaced ``dilation`` apart -- :class:`~rfgraph.ops.index.WindowMix` (inner digits:
windows; outer digits: a dilated grid), or :class:`~rfgraph.ops.index.GlobalMix` when every
digit is mixed.  When the digits come back together the value is a plain
:class:`~rfgraph.importers._layout._T` again.

>>> x = _Split(0, (((-1, 0, 8),), ((0, 1, 16),), ((1, 1, 16),)))  # (C, H, W), H = W = 16
>>> y = reshape_atoms(x, (8, 4, 4, 4, 4))  # view(C, H/4, 4, W/4, 4): window index and offset
>>> y.atoms[1:3]
(((0, 4, 4),), ((0, 1, 4),))
>>> window_of([(4, 4), (1, 4)], {1})  # mix the inner digit: windows of 4
(4, 1)
>>> window_of([(4, 4), (1, 4)], {0})  # mix the outer digit: 4 positions spaced 4 apart
(4, 4)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import RFGraphError
from ._layout import _T, Atom, Value, _Flat, _make, _Split

__all__: list[str] = []


def split(x: _T, dims: Sequence[int], spatial: Sequence[int], shape: Sequence[int]) -> _Split:
    """``x`` (spatial axes at tensor ``dims``, each its own axis or all flattened into one) as digits;
    ``shape`` is the tensor's shape."""
    flattened = len(dims) > 1 and len(set(dims)) == 1
    atoms: list[tuple[Atom, ...]] = []
    for axis, n in enumerate(shape):
        if axis in dims and flattened:
            lead = n // math.prod(spatial)
            atoms.append(_other(lead) + tuple((k, 1, s) for k, s in enumerate(spatial)))
        elif axis in dims:
            k = list(dims).index(axis)
            atoms.append(((k, 1, spatial[k]),))
        else:
            atoms.append(_other(n))
    return _Split(x.index, tuple(atoms))


def _other(n: int) -> tuple[Atom, ...]:
    return ((-1, 0, int(n)),) if n != 1 else ()


def _size(atoms: Iterable[Atom]) -> int:
    return math.prod(a[2] for a in atoms)


def reshape_atoms(x: _Split, out_shape: Sequence[int]) -> _Split | None:
    """The digits after a reshape (memory order kept), splitting digits where an axis boundary falls
    inside one; None when a boundary does not divide a digit."""
    queue = [a for axis in x.atoms for a in axis]
    out: list[tuple[Atom, ...]] = []
    for m in out_shape:
        axis: list[Atom] = []
        m = int(m)
        while m > 1:
            if not queue:
                return None
            k, stride, size = queue[0]
            if size <= m:
                if m % size:
                    return None
                axis.append(queue.pop(0))
                m //= size
            else:
                if size % m:
                    return None
                inner = size // m
                axis.append((k, stride * inner if k >= 0 else 0, m))
                queue[0] = (k, stride, inner)
                m = 1
        while queue and queue[0][2] == 1 and queue[0][0] >= 0 and len(out) + 1 == len(out_shape):
            axis.append(queue.pop(0))  # a size-one spatial axis at the end
        out.append(tuple(axis))
    if any(a[2] != 1 for a in queue):
        return None
    if queue:  # size-one spatial axes left: attach them to the last axis
        out[-1] = out[-1] + tuple(queue)
    return _Split(x.index, tuple(out))


def permute_atoms(x: _Split, order: Sequence[int]) -> _Split:
    rank = x.rank
    return _Split(x.index, tuple(x.atoms[int(o) % rank] for o in order), x.broadcast)


def settle(x: _Split, ndim: int) -> _T | _Split:
    """A plain :class:`_T` when every spatial axis is whole again (its own tensor axis, or all of them
    flattened together in order), else ``x``."""
    if x.broadcast:
        return x
    where: dict[int, set[int]] = {}
    for axis, atoms in enumerate(x.atoms):
        for k, _, _ in (a for a in atoms if a[0] >= 0):
            where.setdefault(k, set()).add(axis)
    if sorted(where) != list(range(ndim)) or any(len(v) != 1 for v in where.values()):
        return x
    axes = [next(iter(where[k])) for k in range(ndim)]

    def whole(atoms: Sequence[Atom]) -> bool:  # one spatial axis, digits outer to inner, nothing else
        return (
            all(a[0] == atoms[0][0] >= 0 for a in atoms)
            and all(a[1] == b[1] * b[2] for a, b in zip(atoms, atoms[1:], strict=False))
            and atoms[-1][1] == 1
        )

    if len(set(axes)) == ndim and all(whole(x.atoms[a]) for a in axes):
        return _make(x.index, x.rank, axes, ndim)
    if len(set(axes)) == 1:
        atoms = x.atoms[axes[0]]
        lead = 0
        while lead < len(atoms) and atoms[lead][0] < 0:
            lead += 1
        rest = atoms[lead:]
        groups = [tuple(a for a in rest if a[0] == k) for k in range(ndim)]
        ordered = tuple(a for g in groups for a in g) == rest
        if ordered and all(g and whole(g) for g in groups):
            return _T(x.index, x.rank, (axes[0],) * ndim)
    return x


def resync(x: _Split, shape: Sequence[int] | None) -> _Split:
    """Sizes of the non-spatial factors from the tensor's actual ``shape`` (a Linear or a chunk
    changes them); raise when the spatial digits no longer fit."""
    if shape is None or len(shape) != x.rank:
        return x
    atoms = list(x.atoms)
    for axis, n in enumerate(shape):
        if axis in x.broadcast:
            continue
        have = atoms[axis]
        if _size(have) == n:
            continue
        spatial = _size(a for a in have if a[0] >= 0)
        others = [i for i, a in enumerate(have) if a[0] < 0]
        if n % spatial == 0 and len(others) <= 1:
            rest = [a for a in have if a[0] >= 0]
            lead = _other(n // spatial)
            at = others[0] if others else 0
            atoms[axis] = tuple(rest[:at]) + lead + tuple(rest[at:])
            continue
        raise RFGraphError(
            f"a tensor whose spatial axes are split into windows changed size on axis {axis} to {n} "
            "in a way rfgraph cannot follow"
        )
    return _Split(x.index, tuple(atoms), x.broadcast)


def window_of(chain: Sequence[tuple[int, int]], mixed: set[int]) -> tuple[int, int]:
    """``(window, dilation)`` of mixing the digits ``mixed`` (indices into ``chain``, the digits of one
    axis as ``(stride, size)`` from outer to inner); they must be consecutive."""
    if not mixed:
        return 1, 1
    lo, hi = min(mixed), max(mixed)
    if set(range(lo, hi + 1)) != mixed:
        raise ValueError("not consecutive")
    return math.prod(size for _, size in chain[lo : hi + 1]), chain[hi][0]


def mixing_op(x: _Split, mixed: Iterable[Atom], shape: Sequence[int], where: str) -> Any:
    """The op that couples the positions differing only in the digits ``mixed``; None when none are."""
    from ..ops.index import GlobalMix, WindowMix

    mixed = set(mixed)
    windows, dilations = [], []
    for k in range(len(shape)):
        chain = sorted(((a[1], a[2]) for axis in x.atoms for a in axis if a[0] == k), reverse=True)
        picked = {i for i, (stride, size) in enumerate(chain) if (k, stride, size) in mixed}
        try:
            w, d = window_of(chain, picked)
        except ValueError:
            raise RFGraphError(
                f"{where} mixes digits {sorted(mixed)} of spatial axis {k} that are not consecutive; not supported"
            ) from None
        windows.append(w)
        dilations.append(d)
    if all(w == 1 for w in windows):
        return None
    if all(w == n for w, n in zip(windows, shape, strict=True)):
        return GlobalMix()

    def one(v: list[int]) -> Any:
        return v[0] if len(set(v)) == 1 else tuple(v)

    if any(d != 1 for d in dilations):
        return WindowMix(one(windows), dilation=one(dilations))
    return WindowMix(one(windows))


def mix(c: Any, x: _Split, mixed: Iterable[Atom], scopes: list[str], base: str) -> _Split:
    """``x`` after every position read every position that differs from it only in the digits ``mixed``."""
    op = mixing_op(x, mixed, c.dag.shape(x.index), c.where(scopes, base))
    if op is None:
        return x
    return _Split(c.dag.leaf(op, x.index, scopes, base), x.atoms, x.broadcast)


def spatial_in(x: _Split, axes: Iterable[int]) -> tuple[Atom, ...]:
    """The spatial digits held by tensor ``axes``."""
    return tuple(a for axis in {int(d) % x.rank for d in axes} for a in x.atoms[axis] if a[0] >= 0)


def drop_axis(x: _Split, axis: int, what: str) -> _Split:
    """``x`` without tensor axis ``axis`` (an integer index, ``unbind``): it must hold no spatial digit."""
    axis %= x.rank
    if spatial_in(x, [axis]):
        raise RFGraphError(f"{what} picks single positions of a window-partitioned spatial axis; not supported")
    return _Split(
        x.index,
        x.atoms[:axis] + x.atoms[axis + 1 :],
        frozenset(a - (a > axis) for a in x.broadcast if a != axis),
    )


def layout_key(x: _Split) -> tuple[Any, ...]:
    """Where the spatial digits are, right-aligned (as torch broadcasts)."""
    return tuple((x.rank - axis, x.spatial_atoms(axis)) for axis in range(x.rank) if x.spatial_atoms(axis))


def check_same(values: Sequence[Value], what: str) -> None:
    keys = {layout_key(v) for v in values if isinstance(v, _Split)}
    if len(keys) > 1:
        raise RFGraphError(f"{what} combines window-partitioned tensors of different layouts; not supported")


def merge(c: Any, kind: str, values: list[Any], scopes: list[str], base: str) -> _Split:
    """A merge of window-partitioned tensors (a residual inside windows); one-position tensors broadcast."""
    splits = [v for v in values if isinstance(v, _Split)]
    others = [v for v in values if not isinstance(v, _Split)]
    if not all(isinstance(v, _T | _Flat) and c.is_global(v) for v in others):
        raise RFGraphError(
            f"{c.where(scopes, base)} combines a window-partitioned tensor with a feature map in another layout"
        )
    check_same(splits, c.where(scopes, base))
    widest = max(splits, key=lambda v: (v.rank, -len(v.broadcast)))
    index = c.dag.merge(kind, [v.index for v in splits] + [v.index for v in others], scopes, base)
    broadcast = frozenset.intersection(*(v.broadcast | frozenset(range(v.rank, widest.rank)) for v in splits))
    return _Split(index, widest.atoms, frozenset(a for a in broadcast if a < widest.rank))


def reshape(c: Any, x: _Split, inp: tuple[int, ...], out: tuple[int, ...], scopes: list[str], what: str) -> _T | _Split:
    if x.broadcast:
        raise RFGraphError(f"{c.where(scopes, what)} reshapes a reduced window-partitioned tensor")
    y = reshape_atoms(resync(x, inp), out)
    if y is None:
        raise RFGraphError(
            f"{c.where(scopes, what)} reshapes {inp} to {out}, cutting the spatial axes "
            f"{c.dag.shape(x.index)} where their sizes do not divide; not supported"
        )
    return settle(y, c.ndim)


def reduce(c: Any, x: _Split, dims: Any, keepdim: bool, scopes: list[str], base: str) -> Value:
    """A reduction over tensor axes holding digits: every position of a group reads the whole group
    (kept as one tensor: the result broadcasts back, as MobileViT v2's context vector does)."""
    axes = (
        range(x.rank)
        if dims is None
        else [int(d) % x.rank for d in (dims if isinstance(dims, list | tuple) else (dims,))]
    )
    mixed = spatial_in(x, axes)
    if not mixed:
        if keepdim:
            return x
        out = x
        for axis in sorted(axes, reverse=True):
            out = drop_axis(out, axis, c.where(scopes, base))
        return out
    if not keepdim:  # pooling over the innermost digits (Hiera's query pooling over its unrolled stride)
        return consume(c, x, mixed, None, scopes, base, drop=list(axes))
    y = mix(c, x, mixed, scopes, base)
    return _Split(y.index, y.atoms, y.broadcast | frozenset(a for a in axes if x.spatial_atoms(a)))


def pointwise_conv(c: Any, x: _Split, kernel: Any, stride: Any, padding: Any, scopes: list[str], base: str) -> Value:
    """A 1x1 convolution on unfolded patches (MobileViT v2's projections) mixes channels only."""
    from ._layout import _tuple

    ones = all(v == 1 for v in _tuple(kernel, c.ndim) + _tuple(stride, c.ndim))
    unpadded = padding == "valid" if isinstance(padding, str) else not any(_tuple(padding, c.ndim))
    if ones and unpadded:
        return contract(c, x, 1, False, scopes, base)
    raise RFGraphError(f"{c.where(scopes, base)}: a convolution on a window-partitioned tensor; not supported")


def softmax(c: Any, x: _Split, dim: Any, scopes: list[str], base: str) -> _Split:
    """A softmax along an axis holding digits couples those positions (its Jacobian is full)."""
    return mix(c, x, spatial_in(x, [dim]), scopes, base) if dim is not None else x


def getitem(c: Any, x: _Split, index: Any, scopes: list[str]) -> _Split:
    """Indexing that leaves the digits alone: integers and slices on axes without digits (``qkv[0]``)."""
    items = index if isinstance(index, tuple) else (index,)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + (slice(None),) * (x.rank - len(items) + 1) + items[k + 1 :]
    where = c.where(scopes, "indexing")
    if any(i is None for i in items) or len(items) > x.rank:
        raise RFGraphError(f"{where}: {index!r} on a window-partitioned tensor is not supported")
    for axis, item in enumerate(items):
        if x.spatial_atoms(axis) and item != slice(None):
            raise RFGraphError(
                f"{where} picks positions of a window-partitioned spatial axis ({item!r}); not supported"
            )
        if not isinstance(item, int | slice):
            raise RFGraphError(f"{where}: tensor indices are not supported")
    out = x
    for axis in sorted((a for a, i in enumerate(items) if isinstance(i, int)), reverse=True):
        out = drop_axis(out, axis, where)
    return out


def chunk(c: Any, x: _Split, dim: int, drop: bool, scopes: list[str], base: str) -> _Split:
    """``chunk``/``split``/``unbind`` along an axis without digits (``drop``: ``unbind`` removes it)."""
    if x.spatial_atoms(dim % x.rank):
        raise RFGraphError(f"{c.where(scopes, base)} splits a window-partitioned spatial axis; not supported")
    return drop_axis(x, dim, c.where(scopes, base)) if drop else x


def contract(c: Any, x: _Split, axis: int, same_size: bool, scopes: list[str], base: str) -> Value:
    """A Linear (or 1x1 convolution) over tensor ``axis``.

    Without digits it mixes channels only.  An axis of digits alone that keeps its size is token
    mixing (MLP-Mixer): those positions are coupled.  Digits packed into the channels (Swin's
    patch merging: ``(H/2, 2, W/2, 2, C) -> (H/2, W/2, 4C)``, then a Linear) are consumed: each
    remaining position reads its whole block, a convolution with kernel = stride = block.
    """

    axis %= x.rank
    digits = x.spatial_atoms(axis)
    if not digits:
        return x
    if same_size and len(digits) == len(x.atoms[axis]):
        return mix(c, x, digits, scopes, base)
    return consume(c, x, digits, axis, scopes, base)


def consume(
    c: Any, x: _Split, digits: Sequence[Atom], axis: int | None, scopes: list[str], base: str, drop: Sequence[int] = ()
) -> Value:
    """The positions of ``x`` without the digits ``digits`` (innermost ones): each remaining position reads
    its block -- a convolution with kernel = stride = block.  ``axis`` (if not None) is the tensor axis that
    held them; it keeps its non-spatial factors, or is dropped when ``axis`` is None (a reduction)."""
    from ..ops import Conv
    from ._layout import _c

    shape = c.dag.shape(x.index)
    blocks = []
    for k in range(len(shape)):
        chain = sorted((a for a in digits if a[0] == k), key=lambda a: a[1])
        block = 1
        for a in chain:  # innermost first: strides 1, s1*n1, ...
            if a[1] != block:
                raise RFGraphError(
                    f"{c.where(scopes, base)} folds outer digits of spatial axis {k} away; not supported"
                )
            block *= a[2]
        blocks.append(block)
    index = c.dag.leaf(Conv(_c(tuple(blocks)), stride=_c(tuple(blocks))), x.index, scopes, base)
    gone = set(digits)
    atoms = tuple(
        tuple((a[0], a[1] // blocks[a[0]], a[2]) if a[0] >= 0 else a for a in axis_atoms if a not in gone)
        for axis_atoms in x.atoms
    )
    out = _Split(index, atoms, x.broadcast)
    for gone_axis in sorted(drop, reverse=True):
        out = drop_axis(out, gone_axis, c.where(scopes, base))
    return settle(out, c.ndim)
