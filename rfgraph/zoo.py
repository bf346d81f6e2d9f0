"""Built-in architectures (filled in by the zoo issue)."""

from __future__ import annotations

from typing import Any

from .errors import RFGraphError
from .ops import Op

__all__ = ["names", "build", "describe"]

_REGISTRY: dict[str, Any] = {}


def names() -> list[str]:
    """Names of the built-in networks."""
    return sorted(_REGISTRY)


def describe(name: str) -> str:
    return str(_REGISTRY[name][1])


def build(name: str, **options: Any) -> Op:
    """Build a zoo network by name."""
    if name not in _REGISTRY:
        raise RFGraphError(f"unknown zoo name {name!r}; choose one of: {', '.join(names())}")
    return _REGISTRY[name][0](**options)  # type: ignore[no-any-return]
