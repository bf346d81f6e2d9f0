"""Constant folding for the ONNX importer: the shape arithmetic of unoptimised exports.

``torch.onnx.export`` computes reshape targets, ``chunk`` bounds, class-token expansions and
attention scales from ``Shape`` of input-dependent tensors.  The importer turns ``Shape`` into a
constant from static shape inference; :func:`fold_values` evaluates the arithmetic on top of it.

>>> int(fold_values("Div", [np.asarray(-7), np.asarray(2)], {}))  # ONNX truncates
-3
>>> fold_values("Slice", [np.arange(10), np.asarray([2]), np.asarray([8]), None, np.asarray([3])], {})
array([2, 5])
>>> fold_values("Conv", [np.zeros(3)], {}) is None
True
>>> fold_values("Cast", [np.asarray([2.5, -1.5])], {"to": 7})  # float to int64 truncates
array([ 2, -1])
>>> fold_values("Clip", [np.asarray([-3.0, 5.0]), np.asarray(0.0), None], {})
array([0., 5.])
>>> fold_values("Range", [np.asarray(0), np.asarray(10**12), np.asarray(1)], {}) is None  # never allocated
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__: list[str] = []

FOLD_SIZE = 1 << 16
"""Constants larger than this are weights: never folded (nothing to learn about shapes)."""


def _div(a: Any, b: Any) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        if not b.all():
            raise ValueError("integer division by zero")  # not folded
        return np.trunc(a / b).astype(np.result_type(a, b))  # ONNX integer division truncates
    return a / b


def _slice(data: Any, starts: Any, ends: Any, axes: Any = None, steps: Any = None) -> Any:
    starts, ends = np.atleast_1d(starts), np.atleast_1d(ends)
    axes = range(len(starts)) if axes is None else np.atleast_1d(axes)
    steps = np.ones(len(starts), dtype=np.int64) if steps is None else np.atleast_1d(steps)
    index = [slice(None)] * np.ndim(data)
    for a, b, e, s in zip(axes, starts, ends, steps, strict=True):
        index[int(a)] = slice(int(b), int(e), int(s))
    return np.asarray(data)[tuple(index)]


def _reshape(data: Any, shape: Any, allowzero: int = 0) -> Any:
    data = np.asarray(data)
    target = [int(d) for d in np.atleast_1d(shape)]
    if not allowzero:
        target = [data.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return data.reshape(target)


def _squeeze(op: str, data: Any, axes: Any) -> Any:
    if axes is None:
        return np.squeeze(data)
    func = np.expand_dims if op == "Unsqueeze" else np.squeeze
    return func(data, tuple(int(a) for a in np.atleast_1d(axes)))


_ELEMENTWISE: dict[str, Callable[..., Any]] = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": _div,
    "Mod": lambda a, b: np.fmod(a, b) if np.asarray(a).dtype.kind == "f" else np.mod(a, b),
    "Neg": np.negative,
    "Abs": np.abs,
    "Sqrt": np.sqrt,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Equal": np.equal,
    "Less": np.less,
    "Greater": np.greater,
    "Not": np.logical_not,
    "Where": np.where,
    "Min": lambda *v: functools.reduce(np.minimum, v),
    "Max": lambda *v: functools.reduce(np.maximum, v),
    "Identity": lambda v: v,
    "Range": lambda start, limit, delta: np.arange(start, limit, delta),
    "Expand": lambda a, shape: a * np.ones(_sizes(shape), dtype=np.asarray(a).dtype),
}


# ONNX TensorProto data types (onnx.TensorProto.FLOAT = 1, ...): those shape arithmetic uses.
_ONNX_DTYPES: dict[int, Any] = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}


def _cast(value: Any, dtype: Any) -> Any:
    """ONNX ``Cast``: float to integer truncates toward zero (as C does), NaN/inf are not folded."""
    value = np.asarray(value)
    if np.dtype(dtype).kind in "iub" and value.dtype.kind == "f":
        if not np.isfinite(value).all():
            raise ValueError("non-finite value cast to an integer")
        value = np.trunc(value)
    return value.astype(dtype)


def _sizes(shape: Any) -> list[int]:
    """A shape to allocate; a hostile one (huge or negative) is not folded."""
    sizes = [int(n) for n in np.atleast_1d(shape)]
    if any(n < 0 for n in sizes) or math.prod(max(n, 1) for n in sizes) > FOLD_SIZE:
        raise ValueError("too large to fold")
    return sizes


def fold_values(op: str, values: list[Any], attrs: dict[str, Any]) -> Any:
    """The value of ``op`` on constant ``values`` (None for an absent optional input), or None when
    rfgraph does not fold it."""
    present = [v for v in values if v is not None]
    if any(np.size(v) > FOLD_SIZE for v in present):
        return None
    if op == "Range" and len(present) == 3:
        start, limit, delta = (float(np.asarray(v).ravel()[0]) for v in present)
        if delta == 0 or not math.isfinite(start + limit + delta) or (limit - start) / delta > FOLD_SIZE:
            return None
    if op in _ELEMENTWISE:
        return _ELEMENTWISE[op](*present)
    if op == "Cast":
        dtype = _ONNX_DTYPES.get(int(attrs.get("to", 0)))
        return None if dtype is None else _cast(values[0], dtype)
    if op == "CastLike":
        return _cast(values[0], np.asarray(values[1]).dtype)
    if op == "Clip":
        lo = values[1] if len(values) > 1 and values[1] is not None else attrs.get("min")
        hi = values[2] if len(values) > 2 and values[2] is not None else attrs.get("max")
        out = np.asarray(values[0])
        if lo is not None:
            out = np.maximum(out, np.asarray(lo, dtype=out.dtype))
        if hi is not None:
            out = np.minimum(out, np.asarray(hi, dtype=out.dtype))
        return out
    if op == "Slice":
        return _slice(*values)
    if op == "Reshape":
        return _reshape(values[0], values[1], int(attrs.get("allowzero", 0)))
    if op == "Concat":
        return np.concatenate([np.atleast_1d(v) for v in present], axis=int(attrs.get("axis", 0)))
    if op in ("Unsqueeze", "Squeeze"):
        return _squeeze(op, values[0], attrs.get("axes", values[1] if len(values) > 1 else None))
    if op == "Transpose":
        perm = attrs.get("perm")
        return np.transpose(values[0], None if perm is None else [int(p) for p in perm])
    if op == "Gather":
        return np.take(values[0], values[1], axis=int(attrs.get("axis", 0)))
    if op == "ConstantOfShape":
        fill = attrs.get("value")
        dtype, value = (fill.dtype, fill.ravel()[0]) if fill is not None else (np.float32, 0)
        return np.full(_sizes(values[0]), value, dtype=dtype)
    return None
