"""The translations :func:`rfgraph.from_torch` keeps within a process, by module structure.

An :class:`~rfgraph.ops.Op` is immutable, so one translation serves every later call with the
same module structure, input shape and arguments.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..ops import Op

__all__ = ["CACHE", "CACHE_SIZE", "cache_key", "clear_cache"]

CACHE: OrderedDict[Any, Op] = OrderedDict()
CACHE_SIZE = 32
_PLAIN = (int, float, bool, str, type(None))


def clear_cache() -> None:
    """Forget the translations :func:`from_torch` keeps (for benchmarks)."""
    CACHE.clear()


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    return isinstance(value, tuple | list) and len(value) <= 16 and all(isinstance(v, _PLAIN) for v in value)


def _setting(torch: Any, value: Any) -> Any:
    """A hashable stand-in for one module attribute (an unusual object: its identity)."""
    if _plain(value):
        return tuple(value) if isinstance(value, list) else value
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    return (type(value).__qualname__, id(value))


def cache_key(torch: Any, module: Any, args: tuple[Any, ...]) -> Any:
    """What the translation depends on: every submodule's path, class, plain settings (``stride``,
    ``padding``, flags read in ``forward``), parameter and buffer shapes, and hooks; None (no
    caching) when an argument is not hashable or a forward is set on an instance."""
    parts: list[Any] = [args]
    for path, m in module.named_modules(remove_duplicate=False):
        settings = tuple(
            (k, _setting(torch, v)) for k, v in m.__dict__.items() if k != "training" and not k.startswith("_")
        )
        tensors = tuple((k, tuple(v.shape), v.dtype) for k, v in m._parameters.items() if v is not None)
        tensors += tuple((k, tuple(v.shape), v.dtype) for k, v in m._buffers.items() if v is not None)
        hooks = (len(m._forward_hooks), len(m._forward_pre_hooks))
        # A forward assigned on the instance is code the key cannot see: no caching.
        if "forward" in m.__dict__:
            return None
        parts.append((path, type(m), settings, tensors, hooks))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key
