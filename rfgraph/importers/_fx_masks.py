"""Reading blocking masks from an fx graph (see :mod:`._masks`): ``F.scaled_dot_product_attention``
(``attn_mask``, ``is_causal``), ``nn.MultiheadAttention`` (``attn_mask``, ``key_padding_mask``),
scores ``masked_fill``-ed with ``-inf`` or with ``-inf`` added, and products with 0/1 constants."""

from __future__ import annotations

import math
import operator
from typing import Any

from ..errors import RFGraphError
from . import _masks
from ._convert import _depends_on_input
from ._layout import _T, Value, _Scores
from ._tokens import attend_query

__all__: list[str] = []

_SDPA = "query key value attn_mask dropout_p is_causal scale enable_gqa".split()
_MHA = "query key value key_padding_mask need_weights attn_mask average_attn_weights is_causal".split()


def _arg(node: Any, names: list[str], name: str) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    at = names.index(name)
    return node.args[at] if len(node.args) > at else None


def _const(imp: Any, arg: Any) -> Any:
    torch = imp.c.torch
    if not isinstance(arg, torch.fx.Node):
        return arg
    return _masks.constant(imp.gm, arg, torch, imp.__dict__.setdefault("_constants", {}))


def _tokens(imp: Any, arg: Any) -> int | None:
    shape = imp.shape(arg) if hasattr(arg, "meta") else None
    return shape[-2] if shape is not None and len(shape) >= 2 else None


def _known(imp: Any, arg: Any, scopes: list[str], what: str) -> Any:
    value = _const(imp, arg)
    if value is _masks.UNKNOWN:
        raise RFGraphError(
            f"{imp.c.where(scopes, what)}: the attention mask depends on the input or cannot be evaluated "
            "without running the model, so rfgraph cannot tell which tokens it blocks; build the mask from "
            "constants (a buffer or torch.tril of fixed sizes)"
        )
    return value


def sdpa(imp: Any, node: Any, args: list[Value], scopes: list[str]) -> Value:
    """``F.scaled_dot_product_attention``: its mask and ``is_causal`` read as structure."""
    torch = imp.c.torch
    mask = _known(imp, _arg(node, _SDPA, "attn_mask"), scopes, "attention")
    ok = _masks.allowed(mask, torch, true_blocks=False)
    if _const(imp, _arg(node, _SDPA, "is_causal")) is True:
        lq, lk = _tokens(imp, _arg(node, _SDPA, "query")), _tokens(imp, _arg(node, _SDPA, "key"))
        if lq is None or lk is None:
            raise RFGraphError(f"{imp.c.where(scopes, 'attention')}: is_causal=True on tokens of unknown number")
        ok = _masks.both(ok, _masks.causal(lq, lk))
    values = [imp.value(_arg(node, _SDPA, k)) for k in ("query", "key", "value")]
    return attend_query(imp.c, values[0], [v for v in values[1:] if v is not None], scopes, "attention", allowed=ok)


def mha_allowed(imp: Any, node: Any, scopes: list[str]) -> Any:
    """The pairs ``nn.MultiheadAttention``'s ``attn_mask`` and ``key_padding_mask`` let through."""
    torch = imp.c.torch
    mask = _known(imp, _arg(node, _MHA, "attn_mask"), scopes, "attention")
    ok = _masks.allowed(mask, torch, true_blocks=True)
    padding = _known(imp, _arg(node, _MHA, "key_padding_mask"), scopes, "attention")
    if isinstance(padding, torch.Tensor) and padding.dim() == 2:
        keys = _masks.allowed(padding.unsqueeze(1), torch, true_blocks=True)  # (N, 1, S): same for every query
        ok = _masks.both(ok, keys)
    return ok


def scores_masked(imp: Any, node: Any, name: str, x: _Scores, scopes: list[str]) -> Value:
    """``scores.masked_fill(mask, -inf)``: ``mask`` blocks; any finite fill is a bias (no edge removed)."""
    fill = _const(imp, node.args[2] if len(node.args) > 2 else node.kwargs.get("value"))
    torch = imp.c.torch
    if isinstance(fill, torch.Tensor) and fill.numel() == 1:
        fill = float(fill)
    if not isinstance(fill, int | float):
        raise RFGraphError(f"{imp.c.where(scopes, name)}: scores filled with a value rfgraph cannot read")
    if not math.isinf(fill) or fill > 0:
        return x
    mask = _known(imp, node.args[1] if len(node.args) > 1 else node.kwargs.get("mask"), scopes, name)
    return _with(x, _masks.allowed(mask, torch, true_blocks=True))


def _with(x: _Scores, ok: Any) -> _Scores:
    return _Scores(x.sources, x.like, x.mixed, x.keys, _masks.both(x.allowed, ok))


def arithmetic(imp: Any, node: Any, name: str, out_shape: Any, scopes: list[str]) -> Value:
    """``scores + mask`` (``-inf`` blocks) and ``x * mask`` (zeros cut positions off); None otherwise."""
    torch = imp.c.torch
    c = imp.c
    operands = list(node.args[:2])
    values = [imp.value(a) for a in operands]
    if len(operands) != 2 or sum(_depends_on_input([v]) for v in values) != 1:
        return None
    at = 0 if _depends_on_input([values[0]]) else 1
    x, other = values[at], operands[1 - at]
    adds = name in ("add", "add_", "iadd") or node.target is operator.add
    muls = name in ("mul", "mul_", "imul") or node.target is operator.mul
    if isinstance(x, _Scores) and adds:
        # a bias rfgraph cannot evaluate (weights on the meta device) stays a bias, as before
        bias = _const(imp, other)
        return _with(x, None if bias is _masks.UNKNOWN else _masks.allowed(bias, torch, true_blocks=False))
    if not (muls and isinstance(x, _T)) or c.is_global(x) or out_shape is None:
        return None
    value = _const(imp, other)
    if not isinstance(value, torch.Tensor) or isinstance(value, torch.nn.Parameter) or value.requires_grad:
        return None  # a learned scale: weights are never read (a zero weight is still an edge)
    spatial = [out_shape[a] for a in set(c.dims(x))]
    if (
        value.dim() == 0
        or all(value.shape[a - len(out_shape)] == 1 for a in set(c.dims(x)) if a - len(out_shape) >= -value.dim())
        or math.prod(spatial) == 1
    ):
        return None  # constant along the positions: a channel scale
    if x.pad or x.extra or c.dag.shape(x.index) != c.spatial(x):
        return None
    box = _masks.kept_box(value, c.spatial(x), c.dims(x), len(out_shape), torch)
    if box is None:
        return None
    if box == ():
        raise RFGraphError(f"{c.where(scopes, name)} multiplies by a constant that is zero everywhere")
    return _T(_masks.cut(c, x.index, box, scopes, name), x.rank, x.axes, None, x.extra, x.mixed)
