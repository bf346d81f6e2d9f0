"""Checks shared by the ERF modules."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import RFGraphError


def _check_fractions(fractions: Iterable[float], what: str) -> tuple[float, ...]:
    out = tuple(float(f) for f in fractions)
    for f in out:
        if not 0 < f <= 1:
            raise RFGraphError(f"{what}={f!r} must lie in (0, 1], e.g. 0.5 or 0.95")
    return out
