"""Network description: immutable, hashable ops (SPEC section 2).

A network is a tree of ops.  Leaf ops (:class:`Conv`, :class:`Pool`,
:class:`ConvTranspose`, :class:`Upsample`, :class:`GlobalPool`) map one tensor to
a new one; :class:`Identity` returns its input; containers (:class:`Sequential`,
:class:`Add`, :class:`Concat`, :class:`Residual`) combine ops.  Channel counts and
pointwise layers never change the graph, so they are not described at all.

Every spatial parameter is an int (same on every axis) or a tuple with one entry
per spatial axis; the number of axes comes from the input shape given later.

>>> import rfgraph as rf
>>> rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), name="block1")
Sequential(Conv(3, padding=1), Pool(2), name='block1')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import RFGraphError
from .base import Op, Padding, Spatial, _as_tuple, _check_padding, _check_spatial, _is_int, pad_mode
from .index import (
    AdaptivePool,
    Flip,
    GlobalMix,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Resize,
    Roll,
    Slice,
    WindowMix,
)

__all__ = [
    "Op",
    "Conv",
    "Pool",
    "ConvTranspose",
    "Upsample",
    "GlobalPool",
    "Identity",
    "Crop",
    "Ref",
    "Sequential",
    "Add",
    "Concat",
    "Residual",
    "Spatial",
    "Padding",
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
]

UPSAMPLE_MODES = ("nearest", "linear")
_MODE_ALIASES = {"bilinear": "linear", "trilinear": "linear", "linear": "linear", "nearest": "nearest"}


@dataclass(frozen=True, repr=False)
class _Windowed(Op):
    """Shared fields and checks of Conv, Pool and ConvTranspose."""

    kernel_size: Spatial
    stride: Spatial | None = 1
    padding: Padding = 0
    dilation: Spatial = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        for attr in ("kernel_size", "stride", "padding", "dilation"):
            object.__setattr__(self, attr, _as_tuple(getattr(self, attr)))
        _check_spatial(self, "kernel_size", self.kernel_size, 1)
        if self.stride is not None:
            _check_spatial(self, "stride", self.stride, 1)
        _check_spatial(self, "dilation", self.dilation, 1)
        _check_padding(self, self.padding)

    @property
    def effective_stride(self) -> Spatial:
        return self.kernel_size if self.stride is None else self.stride

    def _params(self) -> list[str]:
        params = [repr(self.kernel_size)]
        for attr, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
            value = getattr(self, attr)
            if value != default:
                params.append(f"{attr}={value!r}")
        return params


@dataclass(frozen=True, repr=False)
class Conv(_Windowed):
    """Convolution, any channel count or groups.

    Output position ``o`` sees input ``o*stride - pad_left + t*dilation`` for each tap ``t``.
    ``padding_mode`` is torch's: ``"zeros"`` (taps in the padding give no edge),
    ``"reflect"``, ``"replicate"`` or ``"circular"`` (such a tap is an edge from the
    input position torch reads there).

    >>> Conv(3, stride=2, padding="same")
    Conv(3, stride=2, padding='same')
    """

    kind: ClassVar[str] = "conv"
    padding_mode: str = "zeros"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "padding_mode", pad_mode(self, self.padding_mode, "padding_mode"))

    def _params(self) -> list[str]:
        params = super()._params()
        if self.padding_mode != "zeros":
            params.append(f"padding_mode={self.padding_mode!r}")
        return params


@dataclass(frozen=True, repr=False)
class Pool(_Windowed):
    """Max or average pooling (the same graph).  ``stride=None`` means ``kernel_size``.

    >>> Pool(3, stride=2, ceil_mode=True)
    Pool(3, stride=2, ceil_mode=True)
    """

    kind: ClassVar[str] = "pool"
    stride: Spatial | None = None
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.ceil_mode, bool):
            raise RFGraphError(f"{self.label()}: ceil_mode={self.ceil_mode!r} must be True or False")

    def _params(self) -> list[str]:
        params = [repr(self.kernel_size)]
        if self.stride is not None:
            params.append(f"stride={self.stride!r}")
        for attr, default in (("padding", 0), ("dilation", 1), ("ceil_mode", False)):
            value = getattr(self, attr)
            if value != default:
                params.append(f"{attr}={value!r}")
        return params


@dataclass(frozen=True, repr=False)
class ConvTranspose(_Windowed):
    """Transposed convolution: input ``i`` feeds output ``i*stride - pad_left + t*dilation``.

    >>> ConvTranspose(4, stride=2, padding=1)
    ConvTranspose(4, stride=2, padding=1)
    """

    kind: ClassVar[str] = "deconv"
    output_padding: Spatial = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "output_padding", _as_tuple(self.output_padding))
        _check_spatial(self, "output_padding", self.output_padding, 0)

    def _params(self) -> list[str]:
        params = super()._params()
        if self.output_padding != 0:
            params.append(f"output_padding={self.output_padding!r}")
        return params


@dataclass(frozen=True, repr=False)
class Upsample(Op):
    """Resize by an integer factor; ``mode`` is ``"nearest"`` or ``"linear"``.

    ``"linear"`` (also spelled ``"bilinear"``/``"trilinear"``) uses
    ``align_corners=False``: an output sees the one or two inputs whose
    interpolation weight is non-zero.

    >>> Upsample(2, mode="bilinear")
    Upsample(2, mode='linear')
    """

    kind: ClassVar[str] = "upsample"
    scale_factor: Spatial = 2
    mode: str = "nearest"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "scale_factor", _as_tuple(self.scale_factor))
        _check_spatial(self, "scale_factor", self.scale_factor, 1)
        mode = _MODE_ALIASES.get(self.mode) if isinstance(self.mode, str) else None
        if mode is None:
            raise RFGraphError(
                f"{self.label()}: mode={self.mode!r} is unknown; use one of {', '.join(map(repr, _MODE_ALIASES))}"
            )
        object.__setattr__(self, "mode", mode)

    def _params(self) -> list[str]:
        params = [repr(self.scale_factor)]
        if self.mode != "nearest":
            params.append(f"mode={self.mode!r}")
        return params


@dataclass(frozen=True, repr=False)
class GlobalPool(Op):
    """Global average or max pooling: one output node fed by every input position.

    A ``Flatten`` + ``Linear`` head is the same graph.
    """

    kind: ClassVar[str] = "gpool"


@dataclass(frozen=True, repr=False)
class Identity(Op):
    """No op.  As a branch of :class:`Add`/:class:`Concat` it means "the input itself"."""

    kind: ClassVar[str] = "identity"


@dataclass(frozen=True, repr=False)
class Crop(Op):
    """Cut ``crop`` positions off the borders (U-Net's crop before concatenation).

    ``crop`` is an int (same on both sides of every axis), one int per axis, or
    per-axis ``(left, right)`` pairs, all ``>= 0``.  Output position ``o`` has one
    edge, from input ``o + left``; the output is ``n - left - right`` long.

    >>> Crop(((4, 4), (2, 3)))
    Crop(((4, 4), (2, 3)))
    """

    kind: ClassVar[str] = "crop"
    crop: Padding = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "crop", _as_tuple(self.crop))
        if isinstance(self.crop, str):
            raise RFGraphError(
                f"{self.label()}: crop={self.crop!r} must be an int, per-axis ints or (left, right) pairs"
            )
        try:
            _check_padding(self, self.crop)
        except RFGraphError as err:
            raise RFGraphError(str(err).replace("padding", "crop")) from None

    def _params(self) -> list[str]:
        return [repr(self.crop)]


@dataclass(frozen=True, repr=False)
class Ref(Op):
    """The tensor called ``target``, built earlier in the network; the op's own input is ignored.

    A tree of ops can only share a tensor as the common input of a merge's
    branches.  ``Ref`` reuses any earlier tensor, which networks such as DenseNet
    need (every layer of a dense block reads all earlier layers).  Like
    :class:`Identity` it creates no layer.  ``target`` is looked up from the
    innermost enclosing container outwards (``"conv1"`` inside ``Sequential(name="b")``
    finds ``"b.conv1"`` first, then ``"conv1"``).

    >>> Concat(Ref("stem"), Ref("block1"))
    Concat(Ref('stem'), Ref('block1'))
    """

    kind: ClassVar[str] = "ref"
    target: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.target, str) or not self.target:
            raise RFGraphError(f"{self.label()}: target={self.target!r} must be the name of an earlier tensor")

    def _params(self) -> list[str]:
        return [repr(self.target)]


def _collect(ops: tuple[Any, ...], owner: str) -> tuple[Op, ...]:
    # Sequential([a, b]) and Sequential(a, b) both work; JSON gives lists.
    if len(ops) == 1 and isinstance(ops[0], list | tuple):
        ops = tuple(ops[0])
    for i, op in enumerate(ops):
        if not isinstance(op, Op):
            raise RFGraphError(
                f"{owner}: entry {i} is {type(op).__name__} {op!r}, not an rfgraph op; "
                "use rf.Conv, rf.Pool, ... (see rfgraph.ops)"
            )
    return tuple(ops)


@dataclass(frozen=True, repr=False, init=False)
class Sequential(Op):
    """Ops applied in order.  ``Sequential()`` is the identity.

    >>> Sequential(Conv(3), Conv(3))
    Sequential(Conv(3), Conv(3))
    """

    kind: ClassVar[str] = "seq"
    ops: tuple[Op, ...] = ()

    def __init__(self, *ops: Op | Iterable[Op], name: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "ops", _collect(ops, "Sequential" if name is None else f"Sequential {name!r}"))
        self.__post_init__()

    def __iter__(self) -> Any:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def _params(self) -> list[str]:
        return [repr(op) for op in self.ops]


@dataclass(frozen=True, repr=False, init=False)
class _Merge(Op):
    branches: tuple[Op, ...] = ()

    def __init__(self, *branches: Op | Iterable[Op], name: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        label = type(self).__name__ if name is None else f"{type(self).__name__} {name!r}"
        collected = _collect(branches, label)
        if not collected:
            raise RFGraphError(
                f"{label}: needs at least one branch, e.g. {type(self).__name__}(Identity(), Conv(3, padding=1))"
            )
        object.__setattr__(self, "branches", collected)
        self.__post_init__()

    def _params(self) -> list[str]:
        return [repr(op) for op in self.branches]


class Add(_Merge):
    """Element-wise merge (sum, product, gating) of branches applied to the same input.

    Branches broadcast like NumPy: a branch of size 1 on an axis (a squeeze-and-excitation
    gate after a global pool) reaches every position on that axis.

    >>> Add(Identity(), Conv(3, padding=1))
    Add(Identity(), Conv(3, padding=1))
    """

    kind: ClassVar[str] = "add"


@dataclass(frozen=True, repr=False, init=False)
class Concat(_Merge):
    """Concatenation of branches applied to the same input: along channels (default),
    or along spatial axis ``axis`` (0 = first spatial axis), where the branches'
    outputs are placed one after the other.

    >>> Concat(Identity(), Pool(2), axis=0)
    Concat(Identity(), Pool(2), axis=0)
    """

    kind: ClassVar[str] = "concat"
    axis: int | None = None

    def __init__(self, *branches: Op | Iterable[Op], axis: int | None = None, name: str | None = None) -> None:
        object.__setattr__(self, "axis", axis)
        super().__init__(*branches, name=name)
        if axis is not None and not _is_int(axis):
            raise RFGraphError(f"{self.label()}: axis={axis!r} must be None (channels) or a spatial axis index")

    def _params(self) -> list[str]:
        params = super()._params()
        if self.axis is not None:
            params.append(f"axis={self.axis!r}")
        return params


@dataclass(frozen=True, repr=False, init=False)
class Residual(Op):
    """``Add(shortcut, body)``; the shortcut defaults to :class:`Identity`.

    >>> Residual(Sequential(Conv(3, padding=1), Conv(3, padding=1)))
    Residual(Sequential(Conv(3, padding=1), Conv(3, padding=1)))
    """

    kind: ClassVar[str] = "res"
    body: Op = field(default_factory=Identity)
    shortcut: Op = field(default_factory=Identity)

    def __init__(self, body: Op, shortcut: Op | None = None, *, name: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        label = "Residual" if name is None else f"Residual {name!r}"
        body, shortcut = _collect((body, Identity() if shortcut is None else shortcut), label)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "shortcut", shortcut)
        self.__post_init__()

    @property
    def branches(self) -> tuple[Op, ...]:
        # Body first so that default names follow torch (conv1, conv2, ..., then the shortcut).
        return (self.body, self.shortcut)

    def _params(self) -> list[str]:
        params = [repr(self.body)]
        if self.shortcut != Identity():
            params.append(f"shortcut={self.shortcut!r}")
        return params
