"""The base class of every op and the shared parameter checks (see :mod:`rfgraph.ops`)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import RFGraphError, printable

__all__ = ["Op", "Spatial", "Padding", "PAD_MODES", "pad_mode", "mark_rank", "stated_rank"]

PAD_MODES = ("zeros", "reflect", "replicate", "circular")
# torch.nn.functional.interpolate's modes (rfgraph.geometry.resize builds their index maps)
RESIZE_MODES = ("nearest", "nearest-exact", "linear", "cubic", "area")
PAD_ALIASES = {"zeros": "zeros", "constant": "zeros", "reflect": "reflect", "replicate": "replicate"}
PAD_ALIASES["circular"] = "circular"


Spatial = int | tuple[int, ...]
"""An int (same on every axis) or one int per spatial axis."""

Padding = int | str | tuple[int, ...] | tuple[tuple[int, int], ...]
"""int, per-axis ints, per-axis ``(left, right)`` pairs, ``"valid"`` or ``"same"``."""


def _as_tuple(value: Any) -> Any:
    """Lists (e.g. from JSON) become tuples and NumPy integers plain ints, so that ops stay hashable."""
    if isinstance(value, list | tuple):
        return tuple(_as_tuple(v) for v in value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | int):
        return int(value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_spatial(op: Op, what: str, value: Any, minimum: int) -> None:
    entries = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) and not value:
        raise RFGraphError(f"{op.label()}: {what}=() is empty; give an int or one int per axis")
    for v in entries:
        if not _is_int(v):
            raise RFGraphError(f"{op.label()}: {what}={value!r} must be an int or a tuple of ints")
        if v < minimum:
            raise RFGraphError(
                f"{op.label()}: {what}={value!r} must be >= {minimum} on every axis; "
                f"use {what}={max(minimum, 1)} or more"
            )


def _check_padding(op: Op, padding: Any) -> None:
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise RFGraphError(f"{op.label()}: padding={padding!r} is unknown; use an int, 'valid' or 'same'")
        return
    entries = padding if isinstance(padding, tuple) else (padding,)
    if isinstance(padding, tuple) and not padding:
        raise RFGraphError(f"{op.label()}: padding=() is empty; give an int or one entry per axis")
    for entry in entries:
        pair = entry if isinstance(entry, tuple) else (entry,)
        if isinstance(entry, tuple) and len(entry) != 2:
            raise RFGraphError(f"{op.label()}: padding entry {entry!r} must be an int or a (left, right) pair")
        for v in pair:
            if not _is_int(v):
                raise RFGraphError(f"{op.label()}: padding={padding!r} must hold ints")
            if v < 0:
                raise RFGraphError(f"{op.label()}: padding={padding!r} is negative; use padding >= 0")


@dataclass(frozen=True, repr=False)
class Op:
    """Base class of every op.  ``name`` is optional; unnamed ops get default names."""

    kind: ClassVar[str] = "op"
    name: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise RFGraphError(f"{type(self).__name__}: name={self.name!r} must be a non-empty string")
        if self.name is not None and not self.name.isprintable():
            # names from files (JSON, ONNX) are shown in tables and messages: escaped, never interpreted
            object.__setattr__(self, "name", printable(self.name))

    def label(self) -> str:
        """A short description for error messages: the kind and, if any, the name."""
        kind = type(self).__name__
        return f"{kind} {self.name!r}" if self.name else kind

    def _params(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        params = self._params()
        if self.name is not None:
            params.append(f"name={self.name!r}")
        return f"{type(self).__name__}({', '.join(params)})"


def mark_rank(op: Op, ndim: int, why: str) -> Op:
    """Record that ``op`` is made for ``ndim`` spatial axes (``why`` says so in messages); returns ``op``.

    The zoo marks the networks it builds, so that ``rf.receptive_field(rf.zoo.build("resnet50"), (224,))``
    refuses a 1-D input as the CLI does instead of computing a 1-D ResNet.  The mark is not a field:
    it changes neither equality nor hashing, and a network built by hand carries none.
    """
    object.__setattr__(op, "_rank", (int(ndim), str(why)))
    return op


def stated_rank(op: Op) -> tuple[int, str] | None:
    """``(ndim, why)`` when ``op`` was marked by :func:`mark_rank`, else None."""
    return getattr(op, "__dict__", {}).get("_rank")


def pad_mode(op: Op, mode: Any, what: str = "mode") -> str:
    """Normalise a padding mode (``"constant"`` is zeros) or raise naming the choices."""
    out = PAD_ALIASES.get(mode) if isinstance(mode, str) else None
    if out is None:
        raise RFGraphError(f"{op.label()}: {what}={mode!r} is unknown; use one of {', '.join(map(repr, PAD_MODES))}")
    return out


def per_axis_lengths(net: Any) -> set[int]:
    """Lengths of the per-axis tuples in a network's parameters (``conv3x3`` says 2-D)."""
    lengths: set[int] = set()
    stack = [net]
    seen: set[int] = set()
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        for attr in ("ops", "branches"):
            children = getattr(op, attr, None)
            if isinstance(children, tuple):
                stack.extend(children)
        for attr in ("kernel_size", "stride", "dilation", "padding", "output_padding", "scale_factor", "crop"):
            value = getattr(op, attr, None)
            if isinstance(value, tuple) and value:
                lengths.add(len(value))
    return lengths
