"""Token mixers in the shared translation table (issue 15): attention and class tokens.

Self-attention connects every token with every token: :class:`~rfgraph.ops_index.GlobalMix`
on the DAG tensor of the tokens.  Three spellings are recognised, all on token tensors whose
spatial axes were flattened (``(N, H*W, C)``, heads or not):

* ``nn.MultiheadAttention`` (torchvision's ViT), ``F.scaled_dot_product_attention`` (timm);
* ``q @ k.transpose(-2, -1)``, a softmax (plus any constant bias: relative positions, masks),
  then ``@ v``: the scores are carried as :class:`~rfgraph.importers._layout._Scores`;
* a class token concatenated in front of the tokens is no input position: it is tracked as
  ``extra`` tokens; once attention has run it has seen every position, so picking it
  (``x[:, 0]``) is a global pool, and dropping it (``x[:, 1:]``) gives the grid back.

Path counts through a class token are those of a global pool (its reach is exact).
"""

from __future__ import annotations

from typing import Any

from ..errors import RFGraphError
from ..ops import GlobalPool
from ..ops_index import GlobalMix
from ._convert import _Converter
from ._layout import _T, Value, _Flat, _Scores

__all__: list[str] = []


def attend(c: _Converter, values: list[Any], scopes: list[str], base: str) -> Value:
    """Attention of queries ``values[0]`` over keys/values ``values[1:]``: a global mix of their sources."""
    maps = [v for v in values if isinstance(v, _T)]
    if not maps:
        return values[0] if values else None
    sources = list(dict.fromkeys(m.index for m in maps))
    like = maps[0]
    index = sources[0] if len(sources) == 1 else c.dag.merge("add", sources, scopes, f"{base}.qkv")
    out = c.dag.leaf(GlobalMix(), index, scopes, base)
    return _T(out, like.rank, like.axes, None, like.extra, mixed=True)


def matmul(c: _Converter, a: Value, b: Value, out_shape: Any, scopes: list[str], base: str) -> Value:
    """``a @ b``: a channel op when one side is constant, attention scores or their application."""
    if isinstance(a, _Scores):
        rest = [v for v in (b,) if isinstance(v, _T)]
        index = list(dict.fromkeys([*a.sources, *(v.index for v in rest)]))
        like = rest[0] if rest else a.like
        return attend(c, [_T(i, like.rank, like.axes, None, like.extra) for i in index], scopes, base)
    if isinstance(a, _T) and isinstance(b, _T):
        # q (..., L, d) @ k^T (..., d, L): scores over two token axes
        qa, kb = c.dims(a), c.dims(b)
        if qa and kb and qa[0] % a.rank == a.rank - 2 and kb[0] % b.rank == b.rank - 1:
            return _Scores(tuple(dict.fromkeys((a.index, b.index))), a)
        # k^T (..., d, L) @ v (..., L, d): contracts the tokens (linear attention): a global vector
        if qa and kb and qa[0] % a.rank == a.rank - 1 and kb[0] % b.rank == b.rank - 2:
            merged = a.index if a.index == b.index else c.dag.merge("add", [a.index, b.index], scopes, base)
            return _Flat(c.dag.leaf(GlobalPool(), merged, scopes, f"{base}.context"))
        raise RFGraphError(f"{c.where(scopes, base)}: a product of two feature maps that is not attention")
    x = a if isinstance(a, _T) else b
    if isinstance(x, _T):
        contracted = x.rank - 1 if x is a else x.rank - 2
        if contracted in c.dims(x) and not c.is_global(x):
            raise RFGraphError(f"{c.where(scopes, base)} multiplies along a spatial axis by a constant; not supported")
        return x  # a channel op (x @ W)
    if isinstance(a, _Flat) and isinstance(b, _T):  # q @ (k^T v): every query reads a global vector
        return c.merge("add", [b, _T(a.index, b.rank)], scopes, base)
    if isinstance(b, _Flat) and isinstance(a, _T):
        return c.merge("add", [a, _T(b.index, a.rank)], scopes, base)
    return a if a is not None else b


def class_token_concat(c: _Converter, x: _T, lead: int, trail: int, scopes: list[str], base: str) -> Value:
    """``cat([class_token, tokens], dim=token axis)``: ``lead`` constant tokens in front of the grid."""
    if trail:
        raise RFGraphError(f"{c.where(scopes, base)}: tokens appended after the grid are not supported")
    return _T(x.index, x.rank, x.axes, None, x.extra + lead, x.mixed and not lead)


def pick_tokens(c: _Converter, x: _T, item: Any, scopes: list[str]) -> Value:
    """Index the flattened token axis: a class token (a global pool once attention ran) or the grid."""
    if isinstance(item, int):
        if 0 <= item < x.extra:
            if not x.mixed:
                return None  # still the constant it was
            return _Flat(c.dag.leaf(GlobalPool(), x.index, scopes, "cls_token"))
        raise RFGraphError(f"{c.where(scopes, 'indexing')} picks one grid token; not supported")
    if isinstance(item, slice) and item.step in (None, 1) and item.start == x.extra and item.stop is None:
        return _T(x.index, x.rank, x.axes)
    if item == slice(None):
        return x
    raise RFGraphError(
        f"{c.where(scopes, 'indexing')} picks tokens {item!r} of a flattened spatial axis; not supported"
    )


def index_tokens(c: _Converter, x: _T, index: Any, scopes: list[str]) -> Value:
    """``x[index]`` on a tensor whose spatial axes are one flattened token axis (a class token picked,
    or dropped to give the grid back); other axes may take ints or full slices."""
    items = index if isinstance(index, tuple) else (index,)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + (slice(None),) * (x.rank - len(items) + 1) + items[k + 1 :]
    items = items + (slice(None),) * (x.rank - len(items))
    axis = c.dims(x)[0]
    others = [i for a, i in enumerate(items) if a != axis]
    if not all(isinstance(i, int) or i == slice(None) for i in others):
        raise RFGraphError(f"{c.where(scopes, 'indexing')}: {index!r} is not supported on tokens")
    out = pick_tokens(c, x, items[axis], scopes)
    if isinstance(out, _T):
        dropped = sum(isinstance(i, int) for a, i in enumerate(items) if a < axis)
        rank = x.rank - sum(isinstance(i, int) for i in others)
        return _T(out.index, rank, (axis - dropped,) * c.ndim, None, out.extra, out.mixed)
    return out


def window_attention(
    c: _Converter, x: Value, window: Any, shift: Any, scopes: list[str], base: str, masked: bool = True
) -> Value:
    """Swin's (shifted) window attention on ``x``, exactly as torchvision computes it.

    The grid is padded (zeros: no edges) to whole windows; a shift ``s`` rolls the grid and
    Swin's mask forbids attention across the wrap, so the windows are the segments with
    boundaries at ``s + k*window`` -- prepending ``window - s`` zeros puts them at multiples of
    the window: ``Pad``, ``WindowMix(window)``, ``Crop``.
    """
    from ..ops import Crop
    from ..ops_index import Pad, WindowMix
    from ._convert import _tuple

    if not isinstance(x, _T):
        return x
    shape = c.spatial(x)
    windows = [int(w) for w in _tuple(window, c.ndim)]
    shifts = [int(s) for s in _tuple(shift, c.ndim)]
    pairs = []
    for n, w, s in zip(shape, windows, shifts, strict=True):
        padded = -(-n // w) * w
        s = 0 if w >= padded else s  # torchvision: no shift when one window covers the axis
        if s and not masked:
            raise RFGraphError(f"{c.where(scopes, base)}: unmasked shifted windows are not supported")
        left = (w - s) % w if s else 0
        pairs.append((left, -(-(n + left) // w) * w - n - left))
    x = c.plain(x, scopes, base)
    index = x.index
    if any(a or b for a, b in pairs):
        index = c.dag.leaf(Pad(tuple(pairs)), index, scopes, f"{base}.pad")
    index = c.dag.leaf(WindowMix(tuple(windows) if len(set(windows)) > 1 else windows[0]), index, scopes, base)
    if any(a or b for a, b in pairs):
        index = c.dag.leaf(Crop(tuple(pairs)), index, scopes, f"{base}.crop")
    return _T(index, x.rank, x.axes)


def patch_merging(c: _Converter, x: Value, scopes: list[str], base: str) -> Value:
    """torchvision's ``_patch_merging_pad``: pad to even, the four 2x2 phases concatenated on channels,
    which is a 2x2 stride-2 window."""
    from ..ops import Conv

    if not isinstance(x, _T):
        return x
    pads = tuple((0, n % 2) for n in c.spatial(x))
    x = c.plain(x, scopes, base)
    index = c.dag.leaf(Conv(2, stride=2, padding=pads), x.index, scopes, base)
    return _T(index, x.rank, x.axes)
