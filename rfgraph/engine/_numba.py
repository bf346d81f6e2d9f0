"""The single place where numba options are chosen.

Every kernel is compiled with :func:`kernel`: ``cache=True`` so that a second
process pays no compile time, ``nogil=True`` so kernels can run beside other
threads, and no ``fastmath`` anywhere (counts must be exact).

numba's cache checks only the source file of the function it caches, while a cached kernel
holds the code of every compiled function it calls (and :func:`helper` inlines its helpers):
after editing ``_kernels_rows.py``, the kernels of ``_kernels_sweep.py`` and ``_kernels_chain.py``
still run the old rows until their cache goes (``rm rfgraph/engine/__pycache__/*.nb[ic]``, or a
fresh ``NUMBA_CACHE_DIR``).  A fresh clone (CI) compiles everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` with rfgraph's numba options (lazy, cached, no fastmath)."""
    return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]


def helper(fn: F) -> F:
    """:func:`kernel` inlined into its callers (numba IR inlining, ``inline="always"``), for the
    small helpers called once per row: a call between compiled functions costs 15-30 ns (the
    arguments' arrays are passed as structs and reference-counted), as much as a 224-value row."""
    return numba.njit(cache=True, nogil=True, inline="always")(fn)  # type: ignore[return-value]


def entry(dispatcher: Any, *examples: Any) -> Callable[..., Any]:
    """The compiled function of ``dispatcher`` for the numba types of ``examples`` (loaded from
    the cache or compiled now), to be called with arguments of exactly those types.

    A dispatcher types every argument on every call to choose its overload; a bound program
    whose arrays never change type calls the overload directly (a cold call, right after
    another library ran, costs 4-5 us through it against 10-12 us through the dispatcher).
    """
    return dispatcher.compile(tuple(numba.typeof(x) for x in examples))  # type: ignore[no-any-return]
