"""Reading input files safely (issue 24): regular files only, never more than a cap.

``/dev/zero``, ``/dev/urandom``, FIFOs, sockets and directories are refused before a byte is read
(a FIFO is opened non-blocking, so that a writer never has to appear); a regular file is read
with a size cap, re-checked while reading (a file that grows is cut off, not followed).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import RFGraphError

__all__ = ["read_bounded"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bounded(path: str | Path, cap: int, what: str) -> bytes:
    """The bytes of regular file ``path``, at most ``cap`` of them; ``what`` names the file in errors.

    >>> read_bounded("/dev/zero", 10, "network file")
    Traceback (most recent call last):
    ...
    rfgraph.errors.RFGraphError: cannot read network file '/dev/zero': it is a character device, not a regular file
    """
    text = str(path)
    try:
        before = os.stat(text)
    except OSError as err:
        raise RFGraphError(f"cannot read {what} {text!r}: {err.strerror or err}") from None
    if not stat.S_ISREG(before.st_mode):
        raise RFGraphError(f"cannot read {what} {text!r}: it is {_kind(before.st_mode)}, not a regular file")
    if before.st_size > cap:
        raise RFGraphError(f"{what} {text!r}: {before.st_size:,} bytes is too large (at most {cap:,})")
    try:
        fd = os.open(text, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise RFGraphError(f"cannot read {what} {text!r}: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd).st_mode  # the file opened, not the one stat() saw (a swapped link)
        if not stat.S_ISREG(mode):
            raise RFGraphError(f"cannot read {what} {text!r}: it is {_kind(mode)}, not a regular file")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise RFGraphError(f"cannot read {what} {text!r}: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if size > cap:
        raise RFGraphError(f"{what} {text!r} is larger than {cap:,} bytes")
    return b"".join(chunks)
