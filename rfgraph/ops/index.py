"""Index-map ops (SPEC section 2): padding, resizing, adaptive pools, pixel shuffles,
slices, flips, rolls and token mixers.

Each maps one tensor to one tensor by a per-axis index relation (see
:mod:`rfgraph.geometry.index` and :mod:`rfgraph.geometry.resize`); shape-dependent
checks happen when the network is resolved against an input shape.

>>> import rfgraph as rf
>>> rf.Resize(scale_factor=0.5, mode="bilinear", align_corners=True)
Resize(scale_factor=0.5, mode='linear', align_corners=True)
>>> rf.Pad(((1, 2), (0, 0)), mode="reflect")
Pad(((1, 2), (0, 0)), mode='reflect')
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import RFGraphError
from .base import (
    PAD_MODES,
    RESIZE_MODES,
    Op,
    Padding,
    Spatial,
    _as_tuple,
    _check_padding,
    _check_spatial,
    _is_int,
    pad_mode,
)

__all__ = [
    "Pad",
    "Resize",
    "AdaptivePool",
    "PixelShuffle",
    "PixelUnshuffle",
    "Slice",
    "Flip",
    "Roll",
    "GlobalMix",
    "WindowMix",
    "PAD_MODES",
    "RESIZE_MODES",
]

RESIZE_ALIASES = {
    "nearest": "nearest",
    "nearest-exact": "nearest-exact",
    "nearest_exact": "nearest-exact",
    "linear": "linear",
    "bilinear": "linear",
    "trilinear": "linear",
    "cubic": "cubic",
    "bicubic": "cubic",
    "area": "area",
}


def _kw(params: list[str], op: Op, defaults: dict[str, Any]) -> list[str]:
    for attr, default in defaults.items():
        value = getattr(op, attr)
        if value != default:
            params.append(f"{attr}={value!r}")
    return params


@dataclass(frozen=True, repr=False)
class Pad(Op):
    """Explicit padding, ``pads`` in the same forms as ``Conv(padding=...)``, axis order.

    ``pads`` is an int, one int per axis, or per-axis ``(left, right)`` pairs
    (note: :func:`torch.nn.functional.pad` lists the *last* axis first).
    ``mode="zeros"`` (alias ``"constant"``) adds positions without edges;
    ``"reflect"``, ``"replicate"`` and ``"circular"`` give each padded position an
    edge from the input position torch reads there.  Zero padding may be negative
    (a crop), as in ``F.pad``.

    >>> Pad(1, mode="circular")
    Pad(1, mode='circular')
    """

    kind: ClassVar[str] = "pad"
    pads: Padding = 0
    mode: str = "zeros"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "pads", _as_tuple(self.pads))
        object.__setattr__(self, "mode", pad_mode(self, self.mode))
        if isinstance(self.pads, str):
            raise RFGraphError(
                f"{self.label()}: pads={self.pads!r} must be an int, per-axis ints or (left, right) pairs"
            )
        try:
            _check_padding(self, self.pads)
        except RFGraphError as err:
            negative = "negative" in str(err)
            if not (negative and self.mode == "zeros"):
                raise RFGraphError(
                    str(err).replace("padding", "pads")
                    + ("; only mode='zeros' pads may be negative (a crop)" if negative else "")
                ) from None
            _check_padding(self, _abs(self.pads))

    def _params(self) -> list[str]:
        return _kw([repr(self.pads)], self, {"mode": "zeros"})


def _abs(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_abs(v) for v in value)
    return abs(value) if _is_int(value) else value


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


@dataclass(frozen=True, repr=False)
class Resize(Op):
    """Any resize, exactly as :func:`torch.nn.functional.interpolate`.

    Give ``size`` (output size) or ``scale_factor`` (a positive number, not
    necessarily whole; output ``floor(n * scale_factor)``).  ``mode`` is one of
    ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (``"bilinear"``,
    ``"trilinear"``), ``"cubic"`` (``"bicubic"``) or ``"area"`` (adaptive average
    pooling).  ``align_corners`` applies to linear and cubic.  With a scale factor,
    torch maps indices with ``1 / scale_factor`` unless ``recompute_scale_factor=True``
    (then with ``n_in / n_out``), and so does rfgraph.  An output position gets an edge
    from every input whose interpolation weight torch computes as non-zero (float32).

    >>> Resize(size=(17, 17), mode="bicubic")
    Resize(size=(17, 17), mode='cubic')
    """

    kind: ClassVar[str] = "resize"
    size: Spatial | None = None
    scale_factor: float | tuple[float, ...] | None = None
    mode: str = "nearest"
    align_corners: bool = False
    recompute_scale_factor: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "size", _as_tuple(self.size))
        object.__setattr__(self, "scale_factor", _as_tuple(self.scale_factor))
        mode = RESIZE_ALIASES.get(self.mode) if isinstance(self.mode, str) else None
        if mode is None:
            raise RFGraphError(
                f"{self.label()}: mode={self.mode!r} is unknown; use one of {', '.join(map(repr, RESIZE_MODES))} "
                "(or 'bilinear', 'trilinear', 'bicubic')"
            )
        object.__setattr__(self, "mode", mode)
        if (self.size is None) == (self.scale_factor is None):
            raise RFGraphError(
                f"{self.label()}: give exactly one of size= and scale_factor=, e.g. Resize(size=64) or "
                "Resize(scale_factor=2)"
            )
        if self.size is not None:
            _check_spatial(self, "size", self.size, 1)
        else:
            sf = self.scale_factor
            entries: tuple[Any, ...] = sf if isinstance(sf, tuple) else (sf,)
            if not entries or not all(_is_number(v) and 0 < v < float("inf") for v in entries):
                raise RFGraphError(
                    f"{self.label()}: scale_factor={sf!r} must be a positive number or one per axis, e.g. 2 or 0.5"
                )
        for attr in ("align_corners", "recompute_scale_factor"):
            if not isinstance(getattr(self, attr), bool):
                raise RFGraphError(f"{self.label()}: {attr}={getattr(self, attr)!r} must be True or False")
        if self.align_corners and mode not in ("linear", "cubic"):
            raise RFGraphError(
                f"{self.label()}: align_corners=True needs mode 'linear' or 'cubic' (torch refuses it for {mode!r}); "
                "drop align_corners"
            )
        if self.recompute_scale_factor and self.scale_factor is None:
            raise RFGraphError(f"{self.label()}: recompute_scale_factor=True needs scale_factor=, not size=")

    def _params(self) -> list[str]:
        params = [f"size={self.size!r}"] if self.size is not None else [f"scale_factor={self.scale_factor!r}"]
        return _kw(params, self, {"mode": "nearest", "align_corners": False, "recompute_scale_factor": False})


@dataclass(frozen=True, repr=False)
class AdaptivePool(Op):
    """Adaptive average/max pooling to ``output_size``: output ``o`` of ``m`` pools inputs
    ``[floor(o*n/m), ceil((o+1)*n/m))``.  ``None`` on an axis keeps its size, as in torch.

    >>> AdaptivePool(7)
    AdaptivePool(7)
    """

    kind: ClassVar[str] = "apool"
    output_size: int | None | tuple[int | None, ...] = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "output_size", _as_tuple(self.output_size))
        size = self.output_size
        entries = size if isinstance(size, tuple) else (size,)
        if not entries or not all(v is None or (_is_int(v) and v >= 1) for v in entries):
            raise RFGraphError(
                f"{self.label()}: output_size={size!r} must be a positive int, None, or one per axis, e.g. 7 or (7, 7)"
            )

    def _params(self) -> list[str]:
        return [repr(self.output_size)]


@dataclass(frozen=True, repr=False)
class _Factor(Op):
    factor: Spatial = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "factor", _as_tuple(self.factor))
        _check_spatial(self, "factor", self.factor, 1)

    def _params(self) -> list[str]:
        return [repr(self.factor)]


@dataclass(frozen=True, repr=False)
class PixelShuffle(_Factor):
    """Depth-to-space by ``factor`` (``nn.PixelShuffle``): output ``o`` reads ``o // factor``."""

    kind: ClassVar[str] = "shuffle"


@dataclass(frozen=True, repr=False)
class PixelUnshuffle(_Factor):
    """Space-to-depth by ``factor`` (``nn.PixelUnshuffle``): output ``o`` reads
    ``o*factor .. o*factor + factor - 1``; the size must divide by ``factor``."""

    kind: ClassVar[str] = "unshuffle"


Bound = int | None | tuple[int | None, ...]


@dataclass(frozen=True, repr=False)
class Slice(Op):
    """``x[..., start:stop:step]`` on every spatial axis (Python semantics, negative
    indices count from the end; ``step >= 1`` as in torch).  Per-axis tuples give
    one entry per axis, e.g. YOLOv5's Focus ``Slice(start=(0, 1), step=2)``.

    >>> Slice(start=1, step=2)
    Slice(start=1, step=2)
    """

    kind: ClassVar[str] = "slice"
    start: Bound = 0
    stop: Bound = None
    step: Spatial = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        for attr in ("start", "stop", "step"):
            object.__setattr__(self, attr, _as_tuple(getattr(self, attr)))
        for attr in ("start", "stop"):
            value = getattr(self, attr)
            entries = value if isinstance(value, tuple) else (value,)
            if not entries or not all(v is None or _is_int(v) for v in entries):
                raise RFGraphError(f"{self.label()}: {attr}={value!r} must be an int, None, or one per axis")
        _check_spatial(self, "step", self.step, 1)

    def _params(self) -> list[str]:
        return _kw([], self, {"start": 0, "stop": None, "step": 1})


@dataclass(frozen=True, repr=False)
class Flip(Op):
    """``torch.flip`` on spatial ``axes`` (0 = first spatial axis; ``None`` = all).

    >>> Flip(axes=1)
    Flip(axes=1)
    """

    kind: ClassVar[str] = "flip"
    axes: int | tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "axes", _as_tuple(self.axes))
        entries = self.axes if isinstance(self.axes, tuple) else (self.axes,)
        if self.axes is not None and (not entries or not all(_is_int(a) for a in entries)):
            raise RFGraphError(
                f"{self.label()}: axes={self.axes!r} must be None, a spatial axis index or a tuple of them"
            )

    def _params(self) -> list[str]:
        return _kw([], self, {"axes": None})


@dataclass(frozen=True, repr=False)
class Roll(Op):
    """``torch.roll`` by ``shift`` positions on every spatial axis (or one shift per axis):
    output ``o`` reads ``(o - shift) mod n``.

    >>> Roll((3, -3))
    Roll((3, -3))
    """

    kind: ClassVar[str] = "roll"
    shift: Spatial = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "shift", _as_tuple(self.shift))
        entries = self.shift if isinstance(self.shift, tuple) else (self.shift,)
        if not entries or not all(_is_int(v) for v in entries):
            raise RFGraphError(f"{self.label()}: shift={self.shift!r} must be an int or one int per axis")

    def _params(self) -> list[str]:
        return [repr(self.shift)]


@dataclass(frozen=True, repr=False)
class GlobalMix(Op):
    """Global token mixing (self-attention over all positions): every output position
    reads every input position; the shape is kept."""

    kind: ClassVar[str] = "gmix"


@dataclass(frozen=True, repr=False)
class WindowMix(Op):
    """Window attention (Swin): all-to-all inside windows of ``window`` positions, the
    windows cyclically shifted by ``shift`` (``roll(-shift)``, windows, ``roll(shift)``).

    ``dilation`` spreads each window out: the (rolled) axis is cut into blocks of
    ``window * dilation`` positions, and inside a block the positions with the same
    index mod ``dilation`` form one window of ``window`` positions ``dilation`` apart
    (MaxViT's grid attention, MobileViT's attention across patches).  The size must
    divide by ``window * dilation`` on every axis (pad first, as Swin does).

    >>> WindowMix(7, shift=3)
    WindowMix(7, shift=3)
    >>> WindowMix(4, dilation=(2, 1))
    WindowMix(4, dilation=(2, 1))
    """

    kind: ClassVar[str] = "wmix"
    window: Spatial = 7
    shift: Spatial = 0
    dilation: Spatial = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        for attr in ("window", "shift", "dilation"):
            object.__setattr__(self, attr, _as_tuple(getattr(self, attr)))
        _check_spatial(self, "window", self.window, 1)
        _check_spatial(self, "shift", self.shift, 0)
        _check_spatial(self, "dilation", self.dilation, 1)

    def _params(self) -> list[str]:
        return _kw([repr(self.window)], self, {"shift": 0, "dilation": 1})
