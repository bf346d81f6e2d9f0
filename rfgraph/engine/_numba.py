"""The single place where numba options are chosen.

Every kernel is compiled with :func:`kernel`: ``cache=True`` so that a second
process pays no compile time, ``nogil=True`` so kernels can run beside other
threads, and no ``fastmath`` anywhere (counts must be exact).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` with rfgraph's numba options (lazy, cached, no fastmath)."""
    return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]
