"""What every picture shares: lazy matplotlib, input checks, norms, colour maps, values, files.

matplotlib is imported inside the functions only (:func:`_mpl` explains how to
install it when it is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import RFGraphError
from ..output import check_destination, write_file

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
"""File extensions the ``save_*`` helpers (and ``rfgraph map --out``) render to."""

Scale = Literal["linear", "log"]
Box = tuple[tuple[float, float], ...]

INSTALL_HINT = "pip install 'rfgraph[plot]'"


# --------------------------------------------------------------------------- helpers


def _mpl() -> Any:
    """Import matplotlib or explain how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise RFGraphError(f"plotting needs matplotlib; install it with {INSTALL_HINT}") from None
    return matplotlib


def _new_axes(ax: Any, projection: str | None = None, figsize: tuple[float, float] | None = None) -> Any:
    _mpl()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="constrained")
    return fig.add_subplot(projection=projection)


def _bare_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure with no pyplot state and no GUI (for files written by the CLI)."""
    _mpl()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _as_map(values: Any, ndim: int | Sequence[int] | None = None, what: str = "values") -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise RFGraphError(f"{what} must be a numeric array, e.g. rf.contribution_map(...)") from None
    except OverflowError:  # exact path counts (Python ints) beyond float64's range
        raise RFGraphError(
            f"{what} holds counts beyond float64's range (about 1.8e308), which cannot be drawn; "
            "write them with --out map.csv (exact integers) instead"
        ) from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        raise RFGraphError(f"{what} has {arr.ndim} axes; this plot needs {' or '.join(map(str, allowed))}")
    if arr.size == 0:
        raise RFGraphError(f"{what} is empty")
    if not np.all(np.isfinite(arr)):
        raise RFGraphError(f"{what} holds NaN or infinite entries")
    return arr


def _check_scale(scale: Any) -> Scale:
    if scale not in ("linear", "log"):
        raise RFGraphError(f"scale={scale!r} is unknown; use 'linear' or 'log'")
    return "log" if scale == "log" else "linear"


def _norm(scale: str, vmin: float, vmax: float) -> Any:
    from matplotlib.colors import LogNorm, Normalize

    if scale == "log":
        lo = vmin if vmin > 0 else 1.0
        return LogNorm(vmin=lo, vmax=max(vmax, lo * 10))
    return Normalize(vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)


def _positive_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    pos = [a[a > 0] for a in arrays]
    pos = [p for p in pos if p.size]
    if not pos:
        return 1.0, 10.0
    return float(min(p.min() for p in pos)), float(max(p.max() for p in pos))


def _cmap(name: str, bad: str = "#ececec") -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=bad)


def _fmt_value(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.3g}"


def _check_suffix(path: Path, overwrite: bool = False) -> None:
    """A picture extension (any case) and a safe destination, checked before drawing."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise RFGraphError(f"cannot draw to {str(path)!r}: use one of {', '.join(IMAGE_SUFFIXES)} for a picture")
    check_destination(path, overwrite, "picture", make_parents=True)


def _save(fig: Figure, path: Path, dpi: float, overwrite: bool = False) -> Path:
    # Temporary file beside the destination, then link/rename (rfgraph.output): never through a symlink.
    fmt = path.suffix.lower()[1:]
    return write_file(
        path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt), overwrite=overwrite, what="picture", make_parents=True
    )
