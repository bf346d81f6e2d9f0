"""Where a dask graph runs: dask's local scheduler, or a ``dask.distributed`` cluster; with a progress bar."""

from __future__ import annotations

import re
import sys
from typing import Any

from ...errors import RFGraphError

__all__ = ["compute", "client_for"]

_LOCAL = {"threads", "threading", "sync", "synchronous", "single-threaded", "processes", "multiprocessing"}
_ADDRESS = re.compile(r"^(?:[a-z]+://)?[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}$")


def client_for(scheduler: Any) -> tuple[Any, bool]:
    """The ``dask.distributed`` client to use and whether rfgraph opened it (and must close it).

    ``None``: the active (default) client if there is one; an address such as
    ``"tcp://127.0.0.1:8786"`` or ``"127.0.0.1:8786"``: a new client of that scheduler; a
    client: itself; a local scheduler name (``"threads"``, ``"sync"``, ``"processes"``): none.
    """
    if scheduler is None:
        if "distributed" not in sys.modules:
            return None, False
        from distributed import default_client

        try:
            return default_client(), False
        except ValueError:
            return None, False
    if isinstance(scheduler, str):
        if scheduler in _LOCAL:
            return None, False
        if not _ADDRESS.match(scheduler):
            raise RFGraphError(
                f"--scheduler {scheduler!r} is not a dask.distributed address (e.g. tcp://127.0.0.1:8786) "
                f"nor a local scheduler ({', '.join(sorted(_LOCAL))})"
            )
        try:
            from distributed import Client
        except ImportError:
            raise RFGraphError("a scheduler address needs dask.distributed: pip install 'rfgraph[dask]'") from None
        try:
            return Client(scheduler, timeout="10s"), True
        except OSError as err:
            raise RFGraphError(f"cannot reach the dask scheduler at {scheduler!r}: {err}") from None
    if type(scheduler).__name__ == "Client":
        return scheduler, False
    raise RFGraphError(f"scheduler={scheduler!r} must be an address, a distributed.Client or a local scheduler name")


def compute(*collections: Any, scheduler: Any = None, progress: bool | None = None) -> tuple[Any, ...]:
    """``dask.compute`` on the chosen scheduler, with a progress bar on stderr.

    The bar is dask's ``ProgressBar`` locally (shown only for runs longer than 1 s) and
    ``distributed.progress`` on a cluster; by default only when stderr is a terminal.

    >>> import dask.array as da
    >>> [float(v) for v in compute(da.ones(4).sum(), progress=False)]
    [4.0]
    """
    import dask

    show = sys.stderr.isatty() if progress is None else bool(progress)
    client, opened = client_for(scheduler)
    try:
        if client is not None:
            futures = client.compute(list(collections))
            if show:
                from distributed import progress as bar

                bar(futures)
            return tuple(client.gather(futures))
        options = {"scheduler": scheduler} if isinstance(scheduler, str) else {}
        if show:
            from dask.diagnostics import ProgressBar

            with ProgressBar(minimum=1.0, out=sys.stderr):
                return tuple(dask.compute(*collections, **options))
        return tuple(dask.compute(*collections, **options))
    finally:
        if opened:
            client.close()
