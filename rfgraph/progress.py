"""A progress bar for computations that may take more than a second.

The exact engine does one vectorised call per map, so there is no inner loop to
report from.  :func:`progress` therefore shows a bar over a few named *stages*
(e.g. "plan", "map", "figure") whose elapsed-time counter keeps ticking while a
stage runs (a background thread refreshes it).  Nothing at all is printed when
the work ends within ``delay`` seconds, when stderr is not a terminal (pipes,
CI, ``--json``), or when ``tqdm`` (the ``progress`` extra) is not installed.

>>> with progress("demo", total=2, enabled=False) as bar:
...     bar.update("plan")
...     bar.update("map")
>>> bar.n
2
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Progress", "progress"]


class Progress:
    """Stage counter behind :func:`progress`; ``update(stage)`` marks one stage done."""

    def __init__(
        self, desc: str, total: int | None, *, enabled: bool, delay: float, stream: TextIO, refresh: float = 0.2
    ) -> None:
        self.desc = desc
        self.total = total
        self.n = 0
        self.enabled = enabled
        self.delay = delay
        self.stream = stream
        self.refresh = refresh
        self._bar: Any = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._tqdm: Any = None
        self._t0 = 0.0

    # -- lifecycle
    def start(self) -> Progress:
        if self.enabled:
            try:  # imported here, not in the thread, which could wait on the import lock
                from tqdm import tqdm
            except ImportError:  # the progress extra is optional
                return self
            self._tqdm = tqdm
            self._t0 = time.time()
            self._thread = threading.Thread(target=self._run, name="rfgraph-progress", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        if self._done.wait(self.delay):
            return
        with self._lock:
            if self._done.is_set():
                return
            self._bar = self._tqdm(
                total=self.total,
                desc=self.desc,
                initial=self.n,
                file=self.stream,
                leave=False,
                unit="stage",
                dynamic_ncols=True,
            )
            self._bar.start_t = self._t0  # count the elapsed time from the start of the work
        while not self._done.wait(self.refresh):
            with self._lock:
                self._bar.refresh()

    def update(self, stage: str | None = None, n: int = 1) -> None:
        """Mark ``n`` stages done; ``stage`` names the next one in the bar."""
        with self._lock:
            self.n += n
            if self._bar is not None:
                if stage:
                    self._bar.set_postfix_str(stage, refresh=False)
                self._bar.update(n)

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None


@contextmanager
def progress(
    desc: str,
    total: int | None = None,
    *,
    enabled: bool | None = None,
    delay: float = 1.0,
    stream: TextIO | None = None,
) -> Iterator[Progress]:
    """Context manager yielding a :class:`Progress`; the bar appears after ``delay`` seconds.

    Parameters
    ----------
    desc : str
        Label shown in front of the bar.
    total : int, optional
        Number of stages, if known.
    enabled : bool, optional
        Default: only when ``stream`` is a terminal.
    delay : float
        Seconds to wait before showing anything (fast work prints nothing).
    stream : file, optional
        Default ``sys.stderr``.
    """
    out = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = bool(getattr(out, "isatty", lambda: False)())
    bar = Progress(desc, total, enabled=enabled, delay=delay, stream=out).start()
    try:
        yield bar
    finally:
        bar.close()
