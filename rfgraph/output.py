"""What rfgraph writes: safe output files and progress bars.

Files
-----
One place that every writer (CLI ``--out``, plot ``save_*``) goes through.

The rules (SECURITY.md):

- an empty name is an error, never "no file";
- the CLI never creates folders (for any format: a typo does not grow a tree); the
  API's ``save_*`` functions create missing folders (``make_parents=True``);
- a destination that is a symbolic link (dangling or not) or an existing file is
  refused unless ``overwrite=True`` (``--force``); with it, the link itself is
  replaced, never the file it points to;
- the data goes to a temporary file beside the destination, which is then linked
  or renamed into place, so a failed or interrupted write leaves no half file;
- extensions are compared case-insensitively (``MAP.NPY`` is ``.npy``).

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> out = write_file(os.path.join(folder, "a.txt"), lambda tmp: tmp.write_text("hi"))
>>> out.read_text()
'hi'
>>> write_file(out, lambda tmp: tmp.write_text("again"))
Traceback (most recent call last):
...
rfgraph.errors.RFGraphError: ... already exists; choose another name or pass --force to replace it

Progress
--------
A progress bar for computations that may take more than a second.

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

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import RFGraphError

__all__ = ["suffix", "check_destination", "write_file", "Progress", "progress"]


def suffix(path: str | Path) -> str:
    """The lower-case extension with its dot (``"X.NPY"`` -> ``".npy"``)."""
    return Path(path).suffix.lower()


def check_destination(path: Any, overwrite: bool = False, what: str = "--out", make_parents: bool = False) -> Path:
    """Validate an output path before any work is done; returns it as a :class:`Path`."""
    if path is None or not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise RFGraphError(f"{what} {path!r} is not a file name; give e.g. map.png or map.npy")
    p = Path(path)
    text = str(p)
    force = "pass --force" if what.startswith("--") else "pass overwrite=True"
    if p.is_symlink():
        if not overwrite:
            raise RFGraphError(
                f"{what} {text!r} is a symbolic link; rfgraph never writes through links: "
                f"choose another name or {force} to replace the link itself"
            )
    elif p.is_dir():
        raise RFGraphError(f"{what} {text!r} is a folder; give a file name inside it")
    elif p.exists() and not overwrite:
        raise RFGraphError(f"{what} {text!r} already exists; choose another name or {force} to replace it")
    parent = p.parent
    if make_parents and not parent.exists():
        return p
    if not parent.is_dir():
        state = "is not a folder" if parent.exists() else "does not exist"
        raise RFGraphError(f"{what} {text!r}: cannot access folder {str(parent)!r}: it {state}; create it first")
    return p


def _umask() -> int:
    # os.umask can only be read by setting it (not thread-safe); Linux shows it in /proc.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_file(
    path: Any,
    write: Callable[[Path], None],
    *,
    overwrite: bool = False,
    what: str = "--out",
    make_parents: bool = False,
) -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    Without ``overwrite`` the final step is a hard link, which fails if anything
    appeared at ``path`` meanwhile; with it, an atomic rename.  ``write`` receives a
    path with the destination's extension (matplotlib picks the format by it).
    """
    p = check_destination(path, overwrite, what, make_parents)
    if make_parents:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RFGraphError(
                f"{what} {str(p)!r}: cannot create folder {str(p.parent)!r}: {err.strerror or err}"
            ) from None
        check_destination(p, overwrite, what)
    fd, tmp_name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.stem}.", suffix=p.suffix.lower())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p, follow_symlinks=False)
            except FileExistsError:
                raise RFGraphError(
                    f"{what} {str(p)!r} appeared while rfgraph was writing; nothing was replaced"
                ) from None
            except OSError:  # a file system without hard links: re-check, then rename
                check_destination(p, False, what)
                os.replace(tmp, p)
    except OSError as err:
        raise RFGraphError(f"{what} {str(p)!r}: cannot write: {err.strerror or err}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


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
