"""The one exception rfgraph raises for invalid networks and arguments."""

from __future__ import annotations

__all__ = ["RFGraphError"]


class RFGraphError(ValueError):
    """An invalid network, input shape or argument.

    The message names the offending op (by name and position where it has one)
    and says what to change.  Subclasses :class:`ValueError` so that generic
    ``except ValueError`` handlers keep working.
    """
