"""The zoo's registry: entries, names, families, descriptions, default inputs, options, build."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RFGraphError
from ..ops import Op
from ..ops.base import mark_rank

__all__ = ["FAMILIES", "ZooEntry", "register", "names", "build", "describe", "default_input", "entries", "options"]

FAMILIES = ("seed", "torchvision", "tf-slim", "segmentation")


@dataclass(frozen=True)
class ZooEntry:
    """One registered network."""

    name: str
    builder: Callable[..., Op]
    description: str
    default_input: tuple[int, ...]
    family: str
    fixed: tuple[tuple[str, Any], ...] = ()

    def build(self, **options: Any) -> Op:
        return self.builder(**dict(self.fixed), **options)

    def options(self) -> dict[str, Any]:
        fixed = dict(self.fixed)
        return {
            p.name: p.default
            for p in inspect.signature(self.builder).parameters.values()
            if p.name not in fixed and p.default is not inspect.Parameter.empty
        }


_REGISTRY: dict[str, ZooEntry] = {}


def register(
    name: str, builder: Callable[..., Op], description: str, default_input: tuple[int, ...], family: str, **fixed: Any
) -> None:
    assert family in FAMILIES and name not in _REGISTRY
    _REGISTRY[name] = ZooEntry(name, builder, description, default_input, family, tuple(fixed.items()))


def _entry(name: str) -> ZooEntry:
    if not isinstance(name, str) or name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, names(), n=3) if isinstance(name, str) else []
        if close:
            raise RFGraphError(f"unknown zoo name {name!r}; did you mean {' or '.join(map(repr, close))}?")
        raise RFGraphError(f"unknown zoo name {name!r}; choose one of: {', '.join(names())}")
    return _REGISTRY[name]


def names(family: str | None = None) -> list[str]:
    """Names of the built-in networks, optionally of one family (``"torchvision"``, ``"tf-slim"``, ...).

    >>> names("seed")
    ['alexnet_seed']
    """
    if family is not None and family not in FAMILIES:
        raise RFGraphError(f"unknown zoo family {family!r}; choose one of: {', '.join(FAMILIES)}")
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def entries() -> list[ZooEntry]:
    """All registry entries, sorted by name."""
    return [_REGISTRY[n] for n in names()]


def describe(name: str) -> str:
    """A one-line description of a zoo network.

    >>> describe("resnet50")
    'ResNet-50 (torchvision geometry and names; bottleneck blocks, stride in conv2)'
    """
    return _entry(name).description


def default_input(name: str) -> tuple[int, ...]:
    """The input shape the network is usually run at (the CLI's default ``--input``).

    >>> default_input("alexnet_seed"), default_input("unet")
    ((227, 227), (572, 572))
    """
    return _entry(name).default_input


def options(name: str) -> dict[str, Any]:
    """The keyword options of :func:`build` for ``name`` with their defaults.

    >>> options("vgg16")
    {'fc_as_conv': False, 'include_top': True, 'batch_norm': False}
    """
    return _entry(name).options()


def build(name: str, **options: Any) -> Op:
    """Build a zoo network by name.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    **options
        Builder options (see :func:`options`), e.g. ``fc_as_conv=True`` for VGG or
        ``include_top=False`` to stop at the last convolutional end-point.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.zoo.build("alexnet_seed")
    >>> rec = rf.receptive_field(net, rf.zoo.default_input("alexnet_seed"), endpoint="pool5")[-1]
    >>> rec.shape, rec.stride, rec.size, rec.start
    ((6, 6), (32, 32), (195, 195), (33.5, 33.5))
    """
    entry = _entry(name)
    allowed = entry.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        shown = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise RFGraphError(f"zoo network {name!r} has no option {', '.join(map(repr, unknown))}; options: {shown}")
    # The network knows its rank: a 1-D input for a 2-D zoo network is refused everywhere, as in the CLI.
    # Built for a given input (``input_size=(64, 64, 64)``: a 3-D U-Net), the rank is that input's.
    size = options.get("input_size")
    ndim = len(size) if isinstance(size, tuple | list) else len(entry.default_input)
    return mark_rank(entry.build(**options), ndim, f"the zoo network {name!r} is {ndim}-D")
