"""The one exception rfgraph raises for invalid networks and arguments."""

from __future__ import annotations

__all__ = ["RFGraphError"]


class RFGraphError(ValueError):
    """An invalid network, input shape or argument.

    The message names the offending op (by name and position where it has one)
    and says what to change.  Subclasses :class:`ValueError` so that generic
    ``except ValueError`` handlers keep working.
    """

    def __init__(self, *args: object) -> None:
        # One printable line, always: names and op types read from files may hold newlines or
        # terminal escapes (issue 24); they are shown escaped (\n, \x1b), never interpreted.
        if len(args) == 1 and isinstance(args[0], str):
            args = (printable(args[0]),)
        super().__init__(*args)


def printable(text: str) -> str:
    """``text`` with control characters and other unprintable code points escaped.

    >>> printable("layer\\nname\\x1b[31m")
    'layer\\\\nname\\\\x1b[31m'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
