"""Physical pixel sizes: ``"0.65um"``, ``"2m"``, ``"30 cm"`` (microscopy, remote sensing).

>>> parse_length("0.65um")
(0.65, 'um')
>>> parse_length("2m")
(2.0, 'm')
>>> to_pixels("13um", (0.65, "um"))
20.0
"""

from __future__ import annotations

import re

from ..errors import RFGraphError

__all__ = ["UNITS", "parse_length", "to_pixels", "format_length"]

UNITS = {"nm": 1e-9, "um": 1e-6, "µm": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0, "km": 1e3}
"""Units accepted, in metres."""

_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zµ]*)\s*$")


def parse_length(text: str) -> tuple[float, str]:
    """``"0.65um"`` -> ``(0.65, "um")``; the unit is one of :data:`UNITS` (``µm`` is written ``um``)."""
    m = _PATTERN.match(str(text))
    if m is None or m.group(2) not in UNITS or float(m.group(1)) <= 0:
        raise RFGraphError(
            f"{text!r} is not a length; write a positive number and a unit ({', '.join(u for u in UNITS if u != 'µm')}), "
            "e.g. 0.65um or 2m"
        )
    unit = "um" if m.group(2) == "µm" else m.group(2)
    return float(m.group(1)), unit


def to_pixels(text: str, pixel_size: tuple[float, str] | None) -> float:
    """A bound written in pixels (``"256"``) or, with a pixel size, in a length unit (``"50um"``)."""
    try:
        return float(text)
    except ValueError:
        pass
    if pixel_size is None:
        raise RFGraphError(f"{text!r} has a unit; give --pixel-size (e.g. 0.65um) or write pixels")
    value, unit = parse_length(text)
    # Round away the binary residue of unit factors (13um / 0.65um is 20 pixels, not 19.999...).
    return float(f"{value * (UNITS[unit] / UNITS[pixel_size[1]]) / pixel_size[0]:.12g}")


def format_length(pixels: float, pixel_size: tuple[float, str]) -> str:
    """``pixels`` times the pixel size, e.g. ``"27.95 um"``."""
    return f"{pixels * pixel_size[0]:.4g} {pixel_size[1]}"
