"""Shared timing rules of the bench scripts (issue 28): honest, side-by-side numbers.

* :func:`single_thread` before anything is timed: ``NUMBA_NUM_THREADS=1`` (set before numba is
  imported), ``numba.set_num_threads(1)`` and ``torch.set_num_threads(1)``, so that neither side
  gets more cores than the other;
* every contender is built once, outside the timed region (a torch module, a plan), and
  :func:`interleaved` then times the contenders in turn, repetition after repetition, so that a
  burst of load on the machine hits all of them alike; it reports the minimum and the median;
* :func:`machine` names the CPU, the cores, the load average and the library versions, printed
  with every table;
* :func:`fmt` prints times with three significant digits (microseconds stay visible).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

__all__ = ["Stats", "single_thread", "machine", "interleaved", "fmt", "ratio", "autograd_paths"]


def single_thread() -> None:
    """One thread for numba and torch (call before timing; torch is optional)."""
    import numba

    numba.set_num_threads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def machine() -> str:
    """CPU model, cores, memory, load average, threads and versions, in one line."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        load = "load average unknown"
    import numba

    versions = (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads)"
    )
    try:
        import torch

        versions += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:  # pragma: no cover
        versions += ", torch absent"
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {load}; {versions}"


@dataclass
class Stats:
    """Times of one contender: the first (cold) call, then the warm repetitions."""

    first: float
    times: list[float]
    result: Any = None

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def interleaved(contenders: dict[str, Callable[[], Any]], repeat: int = 7, budget: float = 20.0) -> dict[str, Stats]:
    """Time every contender once cold, then ``repeat`` rounds taking each in turn.

    Stops early (after at least 3 rounds) once ``budget`` seconds are spent; fast contenders
    get more rounds (up to 100, while the rounds so far took under a second), so that a
    minimum of microseconds is not one noisy sample.
    """
    stats: dict[str, Stats] = {}
    for name, fn in contenders.items():
        start = time.perf_counter()
        result = fn()
        stats[name] = Stats(time.perf_counter() - start, [], result)
    spent = 0.0
    rnd = 0
    while rnd < repeat or (spent < 1.0 and rnd < 100):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            took = time.perf_counter() - start
            stats[name].times.append(took)
            spent += took
        rnd += 1
        if rnd >= 3 and spent > budget:
            break
    return stats


def fmt(seconds: float | None) -> str:
    """``1.23 s``, ``45.6 ms``, ``789 us`` (three significant digits); ``-`` for None."""
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def ratio(slow: float | None, fast: float | None) -> str:
    if slow is None or fast is None or fast <= 0:
        return "—"
    return f"{slow / fast:,.1f}x"


def autograd_paths(net: Any, shape: tuple[int, ...], endpoint: str | None, dtype: str = "float64") -> Callable[[], Any]:
    """Torch's contender, built once: the input gradient of the one-channel all-ones network.

    The module is built here; the returned function runs one forward and one backward pass
    (``torch.zeros`` input, ``requires_grad``) and returns the gradient as a numpy array.
    """
    import torch

    from rfgraph.engine import check_target
    from rfgraph.importers.to_torch import to_torch
    from rfgraph.plan import build_plan

    plan = build_plan(net, shape, endpoint)
    tgt = check_target(plan, None)
    tdtype = getattr(torch, dtype)
    model = to_torch(net, shape, channels=1, weights="ones", endpoint=endpoint).to(tdtype)

    def run() -> Any:
        x = torch.zeros((1, 1) + tuple(shape), dtype=tdtype, requires_grad=True)
        model(x)[(0, slice(None)) + tgt].sum().backward()
        assert x.grad is not None
        return x.grad[0, 0].numpy()

    return run
