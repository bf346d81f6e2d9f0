"""Blocking masks are structure (issue 24): causal and banded attention, constant 0/1 masks.

A mask that blocks (``-inf`` added to the scores, a boolean mask, ``is_causal=True``) removes
edges: token ``i`` then reads only the tokens its row allows, and its gradient reaches only
those.  The importer reads the mask's values (a buffer, or a constant computed in ``forward``
from Python numbers) and keeps the edges exactly:

* a row-band mask ``lo <= j - i <= hi`` over the tokens of one spatial axis (causal: ``lo = -(L-1)``,
  ``hi = 0``; sliding-window attention) is a :class:`~rfgraph.ops.Conv` of ``hi - lo + 1`` taps
  padded ``(-lo, hi)``: one layer with exactly the mask's edges;
* a mask that blocks nothing is global attention (:class:`~rfgraph.ops.index.GlobalMix`), as before;
* any other blocking mask is refused with its reason (never read as global: that would be a
  silent over-approximation).

Multiplying by a constant that is zero at some positions (``x * (t < 8)``) cuts those positions
off: a :class:`~rfgraph.ops.index.Slice` to the kept box and a zero :class:`~rfgraph.ops.index.Pad`
back (kept positions must form one box; anything else is refused).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..ops import Conv
from ..ops.index import GlobalMix, Pad, Slice

__all__: list[str] = []

_MAX_MASK = 1 << 24  # elements of a constant the importer evaluates to read a mask


UNKNOWN = object()
"""What :func:`constant` returns for a node that is no constant."""


class _NotConstant(Exception):
    """The node depends on the model's input (or cannot be evaluated here)."""


def constant(gm: Any, node: Any, torch: Any, cache: dict[Any, Any]) -> Any:
    """The value of fx node ``node`` when it does not depend on the input (a buffer, a mask built
    with ``torch.tril``/``arange`` in forward), else None.  Nothing larger than 2**24 elements."""
    try:
        return _eval(gm, node, torch, cache)
    except _NotConstant:
        return None


def _eval(gm: Any, arg: Any, torch: Any, cache: dict[Any, Any]) -> Any:
    fx = torch.fx
    if isinstance(arg, list | tuple):
        return type(arg)(_eval(gm, a, torch, cache) for a in arg)
    if isinstance(arg, dict):
        return {k: _eval(gm, v, torch, cache) for k, v in arg.items()}
    if not isinstance(arg, fx.Node):
        return arg
    if arg in cache:
        if cache[arg] is _NotConstant:
            raise _NotConstant
        return cache[arg]
    cache[arg] = _NotConstant  # cycles and failures stay "not constant"
    shape = getattr(arg.meta.get("tensor_meta") or arg.meta.get("val"), "shape", None)
    try:
        if shape is not None and math.prod(int(n) for n in shape) > _MAX_MASK:
            raise _NotConstant
    except TypeError:  # symbolic sizes
        raise _NotConstant from None
    if arg.op == "get_attr":
        value: Any = gm
        for part in str(arg.target).split("."):
            value = getattr(value, part, None)
    elif arg.op == "call_function" and arg.target is getattr and arg.args[1:] in (("device",), ("dtype",)):
        # x.device / x.dtype of the input: a mask is evaluated here, on the CPU
        meta = arg.args[0].meta.get("tensor_meta") or arg.args[0].meta.get("val")
        value = torch.device("cpu") if arg.args[1] == "device" else getattr(meta, "dtype", torch.float32)
    elif arg.op in ("call_function", "call_method"):
        args = _eval(gm, tuple(arg.args), torch, cache)
        kwargs = _eval(gm, dict(arg.kwargs), torch, cache)
        try:
            with torch.no_grad():
                if arg.op == "call_method":
                    value = getattr(args[0], arg.target)(*args[1:], **kwargs)
                else:
                    value = arg.target(*args, **kwargs)
        except Exception:  # noqa: BLE001 - whatever cannot be evaluated is not a constant mask
            raise _NotConstant from None
    elif arg.op == "placeholder" and arg.args:  # an optional forward argument left at its default
        value = arg.args[0]
    else:  # placeholders (the input, or lifted parameters) and modules
        raise _NotConstant
    if isinstance(value, torch.Tensor) and (value.is_meta or getattr(value, "fake_mode", None) is not None):
        raise _NotConstant
    cache[arg] = value
    return value


def allowed(mask: Any, torch: Any, *, true_blocks: bool) -> np.ndarray | None:
    """(queries, keys) boolean array of the pairs a mask lets through (any batch or head), or None
    when it blocks nothing.  Booleans block where ``true_blocks`` says; floats block at ``-inf``."""
    if not isinstance(mask, torch.Tensor) or mask.dim() < 1:
        return None
    m = mask.detach().cpu()
    ok = (m if not true_blocks else ~m) if m.dtype == torch.bool else ~torch.isneginf(m.float())
    if m.dim() == 1:
        ok = ok.unsqueeze(0)
    ok = ok.reshape(-1, *ok.shape[-2:]).any(dim=0).numpy()
    return None if ok.all() else ok


def causal(n_queries: int, n_keys: int) -> np.ndarray:
    """``is_causal=True`` as PyTorch aligns it: query ``i`` reads keys ``0 .. i``."""
    return np.tril(np.ones((n_queries, n_keys), dtype=bool))


def both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Pairs allowed by two masks (both apply)."""
    if a is None or b is None:
        return a if b is None else b
    if a.shape[-1] != b.shape[-1]:
        return a  # a key-padding row shaped differently is refused where it is applied
    return np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)) & b


def _band(ok: np.ndarray) -> tuple[int, int] | None:
    """``(lo, hi)`` when exactly the pairs ``lo <= j - i <= hi`` are allowed, else None."""
    n, m = ok.shape
    i, j = np.nonzero(ok)
    if not len(i) or n != m:
        return None
    lo, hi = int((j - i).min()), int((j - i).max())
    offsets = np.arange(m)[None, :] - np.arange(n)[:, None]
    return (lo, hi) if np.array_equal(ok, (offsets >= lo) & (offsets <= hi)) else None


def mix(c: Any, index: int, ok: np.ndarray | None, scopes: list[str], base: str, extra: int = 0) -> int:
    """The DAG tensor of attention over the positions of ``index`` that mask ``ok`` allows."""
    if ok is None:
        return int(c.dag.leaf(GlobalMix(), index, scopes, base))
    where = c.where(scopes, base)
    grid = c.dag.shape(index)
    n = math.prod(grid) + extra
    if ok.shape[-2:] != (n, n) and ok.shape[-1:] == (n,) and ok.shape[-2] == 1:
        ok = np.broadcast_to(ok, (n, n))  # a key-padding mask: the same keys blocked for every query
    if ok.shape != (n, n):
        raise RFGraphError(
            f"{where}: an attention mask of shape {ok.shape} over {n} tokens; rfgraph reads masks over "
            "all tokens (queries x keys)"
        )
    if extra:
        raise RFGraphError(f"{where}: a blocking attention mask with class tokens is not supported")
    band = _band(ok)
    long = [a for a, size in enumerate(grid) if size > 1]
    if band is None:
        raise RFGraphError(
            f"{where}: the attention mask blocks pairs that are not a band (query i reading keys "
            "i+lo .. i+hi, as a causal or sliding-window mask does); rfgraph does not read such a mask, "
            "and global attention would over-approximate it"
        )
    lo, hi = band
    if lo <= -(n - 1) and hi >= n - 1:
        return int(c.dag.leaf(GlobalMix(), index, scopes, base))
    if lo > 0 or hi < 0:
        raise RFGraphError(f"{where}: an attention mask that blocks a token from itself (band {lo} .. {hi})")
    if len(long) > 1:
        raise RFGraphError(
            f"{where}: a causal or banded mask over tokens flattened from {len(long)} spatial axes "
            f"{grid} is not supported (only over the tokens of one axis)"
        )
    axis = long[0] if long else 0
    kernel = tuple(hi - lo + 1 if a == axis else 1 for a in range(len(grid)))
    padding = tuple((-lo, hi) if a == axis else (0, 0) for a in range(len(grid)))
    return int(c.dag.leaf(Conv(kernel, padding=padding), index, scopes, base))


def kept_box(values: Any, spatial: tuple[int, ...], dims: tuple[int, ...], rank: int, torch: Any) -> Any:
    """Per-axis ``(start, stop)`` of the positions a constant multiplier keeps (non-zero somewhere), or
    None when it keeps every position; raises when the kept positions are not one box."""
    if not isinstance(values, torch.Tensor) or values.dim() == 0 or values.is_floating_point() and values.isnan().any():
        return None
    v = values.detach().cpu()
    v = v.reshape((1,) * (rank - v.dim()) + tuple(v.shape)) if v.dim() <= rank else None
    if v is None:
        return None
    flat = len(set(dims)) == 1 and len(dims) > 1
    axes = sorted(set(dims))
    others = tuple(a for a in range(rank) if a not in axes)
    nonzero = (v != 0).any(dim=others) if others else v != 0
    kept = nonzero.numpy()
    total = math.prod(spatial)
    if flat:
        kept = np.broadcast_to(kept, (total,)).reshape(spatial) if kept.size in (1, total) else None
    else:
        kept = np.broadcast_to(kept, spatial) if all(k in (1, s) for k, s in zip(kept.shape, spatial)) else None
    if kept is None or kept.all():
        return None
    box = []
    for axis in range(len(spatial)):
        along = kept.any(axis=tuple(a for a in range(len(spatial)) if a != axis))
        idx = np.nonzero(along)[0]
        if not len(idx):
            return ()  # nothing kept: the product is a constant zero
        box.append((int(idx[0]), int(idx[-1]) + 1))
    inside = np.zeros(spatial, dtype=bool)
    inside[tuple(slice(a, b) for a, b in box)] = True
    if not np.array_equal(kept, inside):
        raise RFGraphError("multiplies by a constant mask whose non-zero positions are not one box; not supported")
    return tuple(box)


def cut(c: Any, index: int, box: tuple[tuple[int, int], ...], scopes: list[str], base: str) -> int:
    """Positions outside ``box`` read nothing: a Slice to the box and a zero Pad back."""
    grid = c.dag.shape(index)
    inner = c.dag.leaf(Slice(tuple(a for a, _ in box), tuple(b for _, b in box)), index, scopes, f"{base}.keep")
    pads = tuple((a, n - b) for (a, b), n in zip(box, grid, strict=True))
    return int(c.dag.leaf(Pad(pads), inner, scopes, base))
