"""Documented maxima and the checks that enforce them before anything big is allocated.

rfgraph builds explicit per-axis index maps and unrolls every layer, so hostile or
mistyped input (``conv99999999999999999999``, ``"conv3*99999999"``, a YAML alias
bomb, a 2,000-deep JSON nesting) must be refused with exact integer arithmetic
*before* numpy or the recursion sees it.  The caps:

=====================  ==============  ================================================
name                   value           what it bounds
=====================  ==============  ================================================
``MAX_PARAM``          1,000,000       any kernel, stride, dilation, padding,
                                       output padding, scale factor or crop
``MAX_OPS``            100,000         layers of one network after repeats are expanded
                                       (also nodes read from JSON/YAML)
``MAX_DEPTH``          100             nesting of groups and merges (spec, JSON/YAML, ops)
``MAX_SPEC_CHARS``     100,000         length of a compact spec string
``MAX_FILE_BYTES``     2,000,000       size of a ``.json``/``.yaml`` network file
``MAX_OP_ENTRIES``     16,000,000      index pairs of one op along one axis (about 60 bytes
                                       each while the map is built)
``MAX_PLAN_ENTRIES``   32,000,000      index pairs of all per-axis maps of one plan
=====================  ==============  ================================================

(``MAX_AXIS`` and ``MAX_MAP_ENTRIES`` in :mod:`rfgraph.geometry` bound one axis and
one op's map.)  The values are module attributes; a caller that knows what it is doing
may raise them (``rfgraph.geometry.limits.MAX_OPS = 10**6``) before building a network.

>>> as_position(np.array(2))
(2,)
>>> as_position([3, np.int64(4)])
(3, 4)
>>> as_position(2.0)
Traceback (most recent call last):
...
rfgraph.errors.RFGraphError: target=2.0 must be an int or a sequence of ints (a position), not float
"""

from __future__ import annotations

import numbers
import weakref
from typing import Any

import numpy as np

from ..errors import RFGraphError

__all__ = [
    "MAX_PARAM",
    "MAX_OPS",
    "MAX_DEPTH",
    "MAX_SPEC_CHARS",
    "MAX_FILE_BYTES",
    "MAX_OP_ENTRIES",
    "MAX_PLAN_ENTRIES",
    "estimate_pairs",
    "check_pairs",
    "as_int",
    "as_position",
    "check_param",
    "check_op_params",
    "check_network",
    "Budget",
]

MAX_PARAM = 1_000_000
MAX_OPS = 100_000
MAX_DEPTH = 100
MAX_SPEC_CHARS = 100_000
MAX_FILE_BYTES = 2_000_000
MAX_OP_ENTRIES = 16_000_000
MAX_PLAN_ENTRIES = 32_000_000

_RAISE = "raise rfgraph.geometry.limits.{name} if you really mean it"


def as_int(value: Any, what: str) -> int:
    """``value`` as a Python int: ints, NumPy integers and 0-d integer arrays; nothing else.

    >>> as_int(np.int32(7), "target")
    7
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise RFGraphError(f"{what}={value!r} must be an int, not {type(value).__name__}")
    return int(value)


def as_position(value: Any, what: str = "target") -> tuple[int, ...]:
    """A position or shape as a tuple of Python ints.

    Accepts an int, a NumPy integer, a 0-d or 1-D integer array, or a list/tuple of
    those; refuses floats (even ``2.0``), NaN, booleans, strings and nested sequences.
    The range (inside the output, positive sizes) is the caller's to check.
    """
    if isinstance(value, str | bytes) or value is None:
        raise RFGraphError(
            f"{what}={value!r} must be an int or a sequence of ints (a position), not {type(value).__name__}"
        )
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            raise RFGraphError(f"{what}: a {value.ndim}-D array is not a position; give one int per axis")
        if value.dtype.kind not in "iu":
            raise RFGraphError(
                f"{what}={value.tolist()!r} must hold integers, not {value.dtype}; e.g. np.array([3, 4])"
            )
        value = value.tolist()
        return (value,) if isinstance(value, int) else tuple(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return (int(value),)
    if not isinstance(value, list | tuple):
        raise RFGraphError(
            f"{what}={value!r} must be an int or a sequence of ints (a position), not {type(value).__name__}"
        )
    out = []
    for entry in value:
        if isinstance(entry, np.ndarray) and entry.ndim == 0 and entry.dtype.kind in "iu":
            entry = entry[()]
        if isinstance(entry, bool | np.bool_) or not isinstance(entry, numbers.Integral):
            raise RFGraphError(f"{what}={value!r}: entry {entry!r} is not an int; give one int per axis")
        out.append(int(entry))
    return tuple(out)


def check_param(value: int, what: str, where: str) -> None:
    """Refuse one spatial parameter above :data:`MAX_PARAM` (exact integer comparison)."""
    if value > MAX_PARAM:
        raise RFGraphError(
            f"{where}: {what}={value:,} exceeds rfgraph's maximum of {MAX_PARAM:,} per axis "
            f"(MAX_AXIS positions are handled); use a smaller {what}"
        )


def _ints(value: Any) -> list[int]:
    if isinstance(value, tuple | list):
        return [v for entry in value for v in _ints(entry)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


_PARAMS = (
    "kernel_size",
    "stride",
    "dilation",
    "padding",
    "output_padding",
    "scale_factor",
    "crop",
    "pads",
    "size",
    "output_size",
    "factor",
    "step",
    "window",
)


def check_op_params(op: Any, where: str) -> None:
    """Every int parameter of a leaf op is at most :data:`MAX_PARAM`.

    Called before :func:`rfgraph.geometry.resolve`, whose per-axis arrays are
    proportional to the kernel size.
    """
    for attr in _PARAMS:
        for v in _ints(getattr(op, attr, None)):
            check_param(v, attr, where)
    _check_pool_padding(op, where)


def _check_pool_padding(op: Any, where: str) -> None:
    # PyTorch refuses pooling padding above half the (dilated) kernel: such windows could lie
    # entirely in the padding.  Explicit paddings only ("same" never pads that much).
    from ..ops import Pool

    if not isinstance(op, Pool) or isinstance(op.padding, str):
        return

    def at(value: Any, axis: int) -> Any:
        if isinstance(value, tuple):
            return value[axis] if axis < len(value) else None
        return value

    # Per-axis values broadcast: Pool((3, 1), padding=1) is refused on axis 1.
    n_axes = max(len(v) if isinstance(v, tuple) else 1 for v in (op.kernel_size, op.dilation, op.padding))
    for axis in range(n_axes):
        k, d, entry = at(op.kernel_size, axis), at(op.dilation, axis), at(op.padding, axis)
        if not isinstance(k, int) or not isinstance(d, int) or entry is None:
            continue  # malformed per-axis tuples get their own error from geometry
        span = d * (k - 1) + 1
        for p in entry if isinstance(entry, tuple) else (entry,):
            if isinstance(p, int) and 2 * p > span:
                raise RFGraphError(
                    f"{where}: padding {p} is more than half the pooling window ({span}); PyTorch refuses this "
                    f"too, since a window could see only padding: use padding <= {span // 2}"
                )


def estimate_pairs(op: Any, shape: tuple[int, ...], where: str) -> list[int]:
    """Index pairs :func:`rfgraph.geometry.resolve` would store per axis, in exact integers.

    Nothing is allocated; an op whose output would be empty counts 0 here and gets
    its own error from ``resolve``.

    >>> from rfgraph.ops import Conv
    >>> estimate_pairs(Conv(3, padding=1), (10, 20), "conv1")
    [30, 60]
    """
    from .. import geometry as g
    from ..ops import ConvTranspose, Crop, GlobalPool, Pool, Upsample, _Windowed

    ndim = len(shape)
    if isinstance(op, _Windowed):
        ks = g.per_axis(op.kernel_size, ndim, "kernel_size", where)
        ss = g.per_axis(op.effective_stride, ndim, "stride", where)
        ds = g.per_axis(op.dilation, ndim, "dilation", where)
        pads = g._pads(op, shape, ks, ss, ds, where)
        out = []
        for n, k, s, d, pad in zip(shape, ks, ss, ds, pads):
            if isinstance(op, ConvTranspose):
                out.append(n * k)
                continue
            if isinstance(op, Pool):
                n_out = g.pool_output_size(n, k, s, pad, d, op.ceil_mode)
            else:
                n_out = g.conv_output_size(n, k, s, pad, d)
            out.append(max(n_out, 0) * k)
        return out
    if isinstance(op, Upsample):
        fs = g.per_axis(op.scale_factor, ndim, "scale_factor", where)
        return [2 * n * f for n, f in zip(shape, fs)]
    if isinstance(op, Crop | GlobalPool):
        return list(shape)
    return [0] * ndim


def check_pairs(op: Any, shape: tuple[int, ...], where: str) -> int:
    """Refuse an op whose map along one axis would exceed :data:`MAX_OP_ENTRIES`; returns the total."""
    pairs = estimate_pairs(op, shape, where)
    for axis, count in enumerate(pairs):
        if count > MAX_OP_ENTRIES:
            raise RFGraphError(
                f"{where}: axis {axis} (size {shape[axis]:,}) would need {count:,} index pairs, above rfgraph's "
                f"limits ({MAX_OP_ENTRIES:,} per op and axis); use a smaller input or kernel "
                f"({_RAISE.format(name='MAX_OP_ENTRIES')})"
            )
    return sum(pairs)


class Budget:
    """Counts layers and nesting while a network is read, refusing past the caps."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.ops = 0

    def add(self, count: int) -> None:
        self.ops += count
        if self.ops > MAX_OPS:
            raise RFGraphError(
                f"{self.source}: more than {MAX_OPS:,} layers once repeats (and YAML aliases) are expanded; "
                f"use fewer or shorter repeats ({_RAISE.format(name='MAX_OPS')})"
            )

    def depth(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise RFGraphError(
                f"{self.source}: nesting deeper than {MAX_DEPTH} levels; "
                f"flatten the groups ({_RAISE.format(name='MAX_DEPTH')})"
            )


def _children(op: Any) -> tuple[Any, ...]:
    for attr in ("ops", "branches"):
        children = getattr(op, attr, None)
        if isinstance(children, tuple):
            return children
    return ()


def check_network(network: Any, source: str = "network") -> int:
    """Refuse a network deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_OPS` layers.

    Walks the tree without recursion; shared sub-networks are counted once per use
    (as the plan would unroll them) but visited once, so a network built from
    aliases is refused in time proportional to its distinct ops.  Returns the
    number of layers.

    >>> from rfgraph.ops import Conv, Sequential
    >>> check_network(Sequential(Conv(3), Sequential(Conv(3), Conv(1))))
    3
    """
    key = (id(network), MAX_OPS, MAX_DEPTH)
    seen = _CHECKED.get(key)
    if seen is not None and seen[0]() is network:
        return seen[1]
    budget = Budget(source)
    weight: dict[int, int] = {}
    height: dict[int, int] = {}
    # Post-order walk without recursion: (op, children already done?)
    stack: list[tuple[Any, bool]] = [(network, False)]
    while stack:
        op, expanded = stack.pop()
        if id(op) in weight:
            continue
        children = _children(op)
        if not children:
            weight[id(op)], height[id(op)] = 1, 1
        elif expanded:
            total = sum(weight[id(c)] for c in children)
            if total > MAX_OPS:
                budget.add(total)
            weight[id(op)] = total
            height[id(op)] = 1 + max(height[id(c)] for c in children)
            budget.depth(height[id(op)])
        else:
            stack.append((op, True))
            stack.extend((c, False) for c in children if id(c) not in weight)
    try:
        # The same network is analysed again and again (many targets, the web page): remember it.
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        _CHECKED[key] = (weakref.ref(network), weight[id(network)])
    except TypeError:  # not weak-referenceable (not an rfgraph op): just don't remember it
        pass
    return weight[id(network)]


_CHECKED: dict[tuple[int, int, int], tuple[Any, int]] = {}
