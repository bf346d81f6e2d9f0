"""Token mixers in the shared translation table (issue 15): attention and class tokens.

Self-attention connects every token with every token: :class:`~rfgraph.ops.index.GlobalMix`
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
from ..ops.index import GlobalMix
from . import _digits
from ._convert import _Converter
from ._layout import _T, Atom, Value, _Flat, _Scores, _Split

__all__: list[str] = []


def attend(
    c: _Converter,
    values: list[Any],
    scopes: list[str],
    base: str,
    mixed: tuple[Atom, ...] | None = None,
    token_axis: int = -2,
) -> Value:
    """Attention of queries ``values[0]`` over keys/values ``values[1:]`` along ``token_axis``: a global mix
    of their sources, or on window-partitioned tokens a mix of the digits of the token axis (``mixed``:
    those of the scores).  When no position lies on the token axis (one token per image, positions in
    the batch: MobileViT's last stage at a small input) nothing is mixed."""
    if any(isinstance(v, _Split) for v in values):
        return _attend_split(c, values, scopes, base, mixed)
    maps = [v for v in values if isinstance(v, _T)]
    if not maps:
        return values[0] if values else None
    sources = list(dict.fromkeys(m.index for m in maps))
    like = maps[0]
    untouched = not c.is_global(like) and token_axis % like.rank not in c.dims(like)
    if untouched and len({c.dag.shape(i) for i in sources}) == 1:
        index = sources[0] if len(sources) == 1 else c.dag.merge("add", sources, scopes, f"{base}.qkv")
        return _T(index, like.rank, like.axes, None, like.extra, like.mixed)
    grid = c.dag.shape(like.index)
    same = [i for i in sources if c.dag.shape(i) == grid]
    other = [i for i in sources if c.dag.shape(i) != grid]
    if other:
        # keys/values on another grid (PVT's spatial reduction, LeViT's strided queries): every query
        # reads itself and every key position -- a global pool of the keys broadcast to the queries
        pooled = [c.dag.leaf(GlobalPool(), i, scopes, f"{base}.keys") for i in other]
        reads = same if len(same) > 1 else [like.index]
        mixed_same = reads[0] if len(reads) == 1 else c.dag.merge("add", reads, scopes, f"{base}.qkv")
        if len(reads) > 1:
            mixed_same = c.dag.leaf(GlobalMix(), mixed_same, scopes, f"{base}.self")
        out = c.dag.merge("add", [mixed_same, *pooled], scopes, base)
        return _T(out, like.rank, like.axes, None, like.extra, mixed=True)
    index = sources[0] if len(sources) == 1 else c.dag.merge("add", sources, scopes, f"{base}.qkv")
    out = c.dag.leaf(GlobalMix(), index, scopes, base)
    return _T(out, like.rank, like.axes, None, like.extra, mixed=True)


def attend_query(
    c: _Converter, query: Value, keys: list[Any], scopes: list[str], base: str, token_axis: int = -2
) -> Value:
    """Attention whose query is not a feature map: a class token's query (CaiT, XCiT's class attention)
    or a learned one reads every key position -- a global summary, as a pooled class token is."""
    maps = [v for v in keys if isinstance(v, _T | _Split)]
    if isinstance(query, _T | _Split) or not maps:
        return attend(c, [v for v in [query, *keys] if v is not None], scopes, base, token_axis=token_axis)
    sources = list(dict.fromkeys([v.index for v in maps] + ([query.index] if isinstance(query, _Flat) else [])))
    grid = [i for i in sources if c.dag.shape(i) != (1,) * c.ndim]
    pooled = [c.dag.leaf(GlobalPool(), i, scopes, f"{base}.keys") for i in grid]
    rest = [i for i in sources if i not in grid]
    reads = pooled + rest
    return _Flat(reads[0] if len(reads) == 1 else c.dag.merge("add", reads, scopes, base))


def _attend_split(
    c: _Converter,
    values: list[Any],
    scopes: list[str],
    base: str,
    mixed: tuple[Atom, ...] | None,
    atoms: tuple[tuple[Atom, ...], ...] | None = None,
) -> Value:
    splits = [v for v in values if isinstance(v, _Split)]
    if isinstance(values[0], _T) and not any(isinstance(v, _T) for v in values[1:]):
        return _pooled_queries(c, values[0], [], splits, scopes, base)  # queries pooled back to whole axes
    if len(splits) != len([v for v in values if isinstance(v, _T | _Flat | _Split)]):
        raise RFGraphError(f"{c.where(scopes, base)}: attention between window-partitioned and other tokens")
    q = values[0] if isinstance(values[0], _Split) else splits[0]
    key = _digits.layout_key(q)
    others = [v for v in splits if _digits.layout_key(v) != key]
    if others:
        return _pooled_queries(c, q, [v for v in splits if v not in others], others, scopes, base)
    if mixed is None:  # (..., L, E): the token axis is the second to last
        mixed = q.spatial_atoms(q.rank - 2)
    sources = list(dict.fromkeys(v.index for v in splits))
    index = sources[0] if len(sources) == 1 else c.dag.merge("add", sources, scopes, f"{base}.qkv")
    return _digits.mix(c, _Split(index, q.atoms if atoms is None else atoms), mixed, scopes, base)


def einsum(c: _Converter, equation: Any, operands: list[Any], shapes: list[Any], scopes: list[str]) -> Value:
    """``torch.einsum`` with letters for axes (MaxViT's attention): scores, their application, or a
    channel op; the letters say where the digits go."""
    where = c.where(scopes, "einsum")
    eq = equation.replace(" ", "") if isinstance(equation, str) else ""
    if "->" not in eq or "..." in eq:
        raise RFGraphError(f"{where}: equation {equation!r} is not supported (give explicit output letters)")
    inputs, out = eq.split("->")
    subs = inputs.split(",")
    values = []
    for sub, v, shape in zip(subs, operands, shapes, strict=False):
        if isinstance(v, _T) and not v.pad:
            if shape is None:
                raise RFGraphError(f"{where}: the shape of an operand is unknown")
            v = _digits.split(v, c.dims(v), c.spatial(v), shape)
        if isinstance(v, _T | _Flat):
            raise RFGraphError(f"{where}: {equation!r} on this tensor is not supported")
        values.append((sub, v))
    maps = [(sub, v) for sub, v in values if isinstance(v, _Split | _Scores)]
    if not maps:
        return None

    def letters(sub: str, v: _Split) -> dict[str, tuple[Atom, ...]]:
        return {ch: v.atoms[i] for i, ch in enumerate(sub)}

    if len(maps) == 2 and all(isinstance(v, _Split) for _, v in maps):
        (sa, a), (sb, b) = maps
        la, lb = letters(sa, a), letters(sb, b)  # type: ignore[arg-type]
        own_a = [ch for ch in sa if ch not in lb and any(t[0] >= 0 for t in la[ch])]
        own_b = [ch for ch in sb if ch not in la and any(t[0] >= 0 for t in lb[ch])]
        shared = [ch for ch in sa if ch in lb]
        if (
            len(own_a) == 1
            and len(own_b) == 1
            and own_a[0] in out
            and own_b[0] in out
            and all(ch in out or not any(t[0] >= 0 for t in la[ch]) for ch in shared)
        ):
            queries = tuple(t for t in la[own_a[0]] if t[0] >= 0)
            return _Scores(tuple(dict.fromkeys((a.index, b.index))), a, queries)  # type: ignore[union-attr]
        raise RFGraphError(f"{where}: {equation!r} multiplies two feature maps in a way that is not attention")
    if len(maps) == 2 and isinstance(maps[0][1], _Scores) and isinstance(maps[1][1], _Split):
        (ss, scores), (sv, v) = maps
        assert isinstance(scores, _Scores) and isinstance(v, _Split)
        lv = letters(sv, v)
        query = next((ch for ch in ss if ch not in sv and ch in out), None)
        if query is None or scores.mixed is None or not isinstance(scores.like, _Split):
            raise RFGraphError(f"{where}: {equation!r} applies attention scores in a way rfgraph cannot follow")
        atoms = tuple(lv.get(ch, scores.mixed) for ch in out)
        reads = [_Split(i, scores.like.atoms) for i in scores.sources]
        return _attend_split(c, [*reads, v], scopes, "attention", scores.mixed, atoms)
    if len(maps) == 1 and isinstance(maps[0][1], _Split):
        sub, x = maps[0][0], maps[0][1]
        lx = letters(sub, x)
        lost = [ch for ch in sub if ch not in out and any(t[0] >= 0 for t in lx[ch])]
        if lost:
            return _digits.mix(c, x, [t for ch in lost for t in lx[ch] if t[0] >= 0], scopes, "einsum")
        y = _Split(x.index, tuple(lx.get(ch, ()) for ch in out))
        return _digits.settle(y, c.ndim)
    raise RFGraphError(f"{where}: {equation!r} on these operands is not supported")


def _pooled_queries(
    c: _Converter, q: _Split | _T, same: list[_Split], kv: list[_Split], scopes: list[str], base: str
) -> Value:
    """Queries pooled to a coarser grid than keys and values (Hiera): every key position reads its window,
    the window is pooled to the queries' grid, and each query reads its own position and that."""
    where = c.where(scopes, base)
    _digits.check_same(kv, where)
    sources = list(dict.fromkeys(v.index for v in kv))
    index = sources[0] if len(sources) == 1 else c.dag.merge("add", sources, scopes, f"{base}.kv")
    keys = _Split(index, kv[0].atoms)
    keys = _digits.mix(c, keys, keys.spatial_atoms(keys.rank - 2), scopes, f"{base}.keys")
    # the queries' grid is the keys' grid without its innermost digits: a block of n_keys / n_queries
    blocks = [
        n // m if m and n % m == 0 else 0 for n, m in zip(c.dag.shape(keys.index), c.dag.shape(q.index), strict=True)
    ]
    if 0 in blocks:
        raise RFGraphError(f"{where}: queries and keys on grids rfgraph cannot relate")
    extra = [a for axis in keys.atoms for a in axis if a[0] >= 0 and a[1] < blocks[a[0]]]
    pooled = _digits.consume(c, keys, extra, None, scopes, f"{base}.pool")
    if not isinstance(pooled, _Split | _T) or c.dag.shape(pooled.index) != c.dag.shape(q.index):
        raise RFGraphError(f"{where}: queries and keys on grids rfgraph cannot relate")
    reads = list(dict.fromkeys([q.index, *(v.index for v in same), pooled.index]))
    index = c.dag.merge("add", reads, scopes, base)
    return _Split(index, q.atoms) if isinstance(q, _Split) else _T(index, q.rank, q.axes)


def _matmul_split(c: _Converter, a: Value, b: Value, scopes: list[str], base: str) -> Value:
    where = c.where(scopes, base)
    if isinstance(a, _Split) and isinstance(b, _Split):
        keys = _digits.permute_atoms(b, [*range(b.rank - 2), b.rank - 1, b.rank - 2])
        queries = a.spatial_atoms(a.rank - 2)
        if queries and _digits.layout_key(keys) != _digits.layout_key(a) and keys.spatial_atoms(keys.rank - 2):
            return _Scores((a.index,), a, queries, (keys,))  # queries on a coarser grid than the keys (Hiera)
        _digits.check_same([a, keys], where)
        if queries and b.spatial_atoms(b.rank - 1) == queries and not a.spatial_atoms(a.rank - 1):
            return _Scores(tuple(dict.fromkeys((a.index, b.index))), a, queries)
        raise RFGraphError(f"{where}: a product of two window-partitioned tensors that is not attention")
    if isinstance(a, _Split) and not isinstance(b, _T | _Flat | _Split | _Scores):
        if a.spatial_atoms(a.rank - 1):
            return _digits.mix(c, a, a.spatial_atoms(a.rank - 1), scopes, base)  # tokens times a constant
        return a  # a channel op (x @ W)
    if isinstance(b, _Split) and not isinstance(a, _T | _Flat | _Split | _Scores):
        return _digits.mix(c, b, b.spatial_atoms(b.rank - 2), scopes, base)  # W @ x: along the rows of x
    raise RFGraphError(f"{where}: a product of a window-partitioned tensor with another layout")


def matmul(c: _Converter, a: Value, b: Value, out_shape: Any, scopes: list[str], base: str) -> Value:
    """``a @ b``: a channel op when one side is constant, attention scores or their application."""
    if isinstance(a, _Scores) and isinstance(a.like, _Split):
        queries = [_Split(i, a.like.atoms) for i in a.sources]
        rest = [*a.keys, *(v for v in (b,) if isinstance(v, _Split))]
        return attend(c, [*queries, *rest], scopes, base, a.mixed)
    if isinstance(a, _Split) or isinstance(b, _Split):
        return _matmul_split(c, a, b, scopes, base)
    if isinstance(b, _Scores) and not isinstance(a, _Scores) and not isinstance(b.like, _Split):
        a, b = b, a  # v @ attn^T (EfficientViT's cascaded group attention): the same reads
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
        # spatial axes among the batch axes of both (MobileViT's patch pixels): a product per position
        if qa and kb and a.rank - qa[0] > 2 and b.rank - kb[0] > 2 and a.rank - qa[0] == b.rank - kb[0]:
            return c.merge("add", [a, b], scopes, base)
        raise RFGraphError(f"{c.where(scopes, base)}: a product of two feature maps that is not attention")
    if isinstance(a, _Flat) and isinstance(b, _T):  # (k^T v) as rows: every token reads a global vector
        return _seen(c.merge("add", [b, _T(a.index, b.rank)], scopes, base))
    if isinstance(b, _Flat) and isinstance(a, _T):  # q @ (k^T v), class tokens included
        return _seen(c.merge("add", [a, _T(b.index, a.rank)], scopes, base))
    x = a if isinstance(a, _T) else b
    if isinstance(x, _T):
        contracted = x.rank - 1 if x is a else x.rank - 2
        if contracted in c.dims(x) and not c.is_global(x):
            raise RFGraphError(f"{c.where(scopes, base)} multiplies along a spatial axis by a constant; not supported")
        return x  # a channel op (x @ W)
    return a if a is not None else b


def _seen(x: Value) -> Value:
    """``x`` whose class tokens (if any) have now read every position."""
    return _T(x.index, x.rank, x.axes, x.pad, x.extra, True, x.hidden) if isinstance(x, _T) else x


def class_token_concat(
    c: _Converter, x: _T, lead: int, trail: int, scopes: list[str], base: str, seen: bool = False
) -> Value:
    """``cat([class_token, tokens], dim=token axis)``: ``lead`` tokens in front of the grid, constants or
    (``seen``) a class token put back after it has read every position (CoaT, EVA's rotary embedding)."""
    if trail:
        raise RFGraphError(f"{c.where(scopes, base)}: tokens appended after the grid are not supported")
    return _T(x.index, x.rank, x.axes, None, x.extra + lead, seen or (x.mixed and not lead))


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
    if isinstance(item, slice) and item.step in (None, 1) and item.start in (None, 0) and item.stop == x.extra:
        # the class tokens alone (x[:, :1]): constants until attention ran, then a global summary
        return _Flat(c.dag.leaf(GlobalPool(), x.index, scopes, "cls_token")) if x.mixed else None
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
    if not all(isinstance(i, int | slice) for i in others):  # channel slices (rotary embeddings) are fine
        raise RFGraphError(f"{c.where(scopes, 'indexing')}: {index!r} is not supported on tokens")
    out = pick_tokens(c, x, items[axis], scopes)
    if isinstance(out, _T):
        dropped = sum(isinstance(i, int) for a, i in enumerate(items) if a < axis)
        rank = x.rank - sum(isinstance(i, int) for i in others)
        return _T(out.index, rank, (axis - dropped,) * c.ndim, None, out.extra, out.mixed)
    return out


def window_attention(c: _Converter, x: Value, window: Any, shift: Any, scopes: list[str], base: str) -> Value:
    """Swin's (shifted) window attention on ``x``, exactly as torchvision computes it.

    The grid is padded (zeros: no edges) at the end to whole windows, rolled by ``-shift``,
    cut into windows, attended and rolled back: ``Pad``, ``WindowMix(window, shift=shift)``,
    ``Crop``.  Swin's mask adds -100 to the scores of pairs that the roll brought together
    across the border: their weight is about e^-100, not zero, so they stay edges (a float64
    gradient sees them), as in timm's Swin, whose roll and partition are imported as written.
    """
    from ..ops import Crop
    from ..ops.index import Pad, WindowMix
    from ._convert import _c, _tuple

    if not isinstance(x, _T):
        return x
    shape = c.spatial(x)
    windows = [int(w) for w in _tuple(window, c.ndim)]
    shifts = [int(s) for s in _tuple(shift, c.ndim)]
    pairs = []
    for k, (n, w) in enumerate(zip(shape, windows, strict=True)):
        padded = -(-n // w) * w
        if w >= padded:
            shifts[k] = 0  # torchvision: no shift when one window covers the axis
        pairs.append((0, padded - n))
    x = c.plain(x, scopes, base)
    index = x.index
    if any(b for _, b in pairs):
        index = c.dag.leaf(Pad(tuple(pairs)), index, scopes, f"{base}.pad")
    index = c.dag.leaf(WindowMix(_c(tuple(windows)), shift=_c(tuple(shifts))), index, scopes, base)
    if any(b for _, b in pairs):
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
