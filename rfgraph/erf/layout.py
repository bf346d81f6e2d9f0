"""Where a tensor keeps its spatial axes: channels first, channels last, or a token sequence.

:func:`gradient_erf` reads the target of any output layout (SPEC section 12):

* ``"channels_first"``: ``(N, C, *spatial)``, PyTorch's convolutions;
* ``"channels_last"``: ``(N, *spatial, C)``, timm's Swin stages, ConvNeXt blocks, a
  ``permute(0, 2, 3, 1)``;
* ``"tokens"``: ``(N, L, C)``, a transformer's token sequence: ``L`` = prefix tokens (class,
  distillation, register tokens, first) + one token per cell of a grid, row-major.

:func:`guess_layout` reads it from the shapes: the spatial axes must follow the input's by
one common stride (``out ~ in / s`` on every axis), which the channel axis almost never
does; ties go to channels-first, and ``layout=`` overrides the guess.  :func:`to_grid`
returns the tensor as ``(N, C, *grid)`` so that one target indexing serves every layout;
the default target is then the centre cell of the grid, never a class token (the
centre-token rule for transformers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import RFGraphError

__all__ = ["LAYOUTS", "Layout", "guess_layout", "to_grid"]

LAYOUTS = ("channels_first", "channels_last", "tokens")
_ALIASES = {
    "channels_first": "channels_first",
    "nchw": "channels_first",
    "ncl": "channels_first",
    "ncdhw": "channels_first",
    "channels_last": "channels_last",
    "nhwc": "channels_last",
    "nlc": "tokens",
    "ndhwc": "channels_last",
    "tokens": "tokens",
}
_MAX_PREFIX = 16  # class + distillation + register tokens (timm's ViTs have up to 1 + 1 + 8 or 16)


@dataclass(frozen=True)
class Layout:
    """A tensor's layout: its ``kind`` (one of :data:`LAYOUTS`), its spatial ``grid`` and ``prefix`` tokens."""

    kind: str
    grid: tuple[int, ...]
    prefix: int = 0

    def describe(self) -> str:
        """E.g. ``"tokens (1 class/prefix token + a 14x14 grid)"``."""
        grid = "x".join(map(str, self.grid))
        if self.kind != "tokens":
            return f"{self.kind.replace('_', '-')} ({grid})"
        extra = f"{self.prefix} class/prefix token{'s' if self.prefix != 1 else ''} + " if self.prefix else ""
        return f"tokens ({extra}a {grid} grid)"


def _consistent(out: tuple[int, ...], inp: tuple[int, ...]) -> bool:
    """True when every ``out[i]`` is ``inp[i] / s`` for one common stride ``s`` (up to the rounding of
    padding and kernels: within one position plus 10%)."""
    if len(out) != len(inp) or not out or any(n < 1 for n in out):
        return False
    for s in {i / o for i, o in zip(inp, out, strict=True)}:
        if all(abs(o - i / s) <= 1 + 0.1 * i / s for o, i in zip(out, inp, strict=True)):
            return True
    return False


def _token_grid(
    length: int, inp: tuple[int, ...], hint: tuple[int, ...] | None, prefix_hint: int | None
) -> tuple[tuple[int, ...], int] | None:
    """``(grid, prefix)`` with ``prod(grid) + prefix == length``, the grid following the input by one stride."""
    if hint is not None and len(hint) == len(inp):
        k = length - math.prod(hint)
        if 0 <= k <= _MAX_PREFIX and (prefix_hint is None or k == prefix_hint or prefix_hint == 0 and k == 0):
            return tuple(hint), k
    prefixes = [prefix_hint] if prefix_hint is not None else []
    prefixes += [k for k in range(min(length - 1, _MAX_PREFIX) + 1) if k not in prefixes]
    for k in prefixes:
        cells = length - k
        if cells < 1:
            continue
        if len(inp) == 1:
            return (cells,), k
        # grids that follow the input: sizes in / s rounded either way, for the strides that give `cells`
        base = (math.prod(inp) / cells) ** (1 / len(inp))
        for s in sorted({base * f for f in (1.0, 0.98, 1.02, 0.95, 1.05)} | _integer_strides(inp, base)):
            for rnd in (math.ceil, math.floor, round):
                grid = tuple(max(1, int(rnd(i / s))) for i in inp)
                if math.prod(grid) == cells:
                    return grid, k
    return None


def _integer_strides(inp: tuple[int, ...], base: float) -> set[float]:
    return {float(s) for s in range(max(1, int(base) - 2), int(base) + 3)}


def guess_layout(
    shape: tuple[int, ...], input_spatial: tuple[int, ...], *, layout: str | None = None, hints: Any = None
) -> Layout | None:
    """The layout of a tensor of ``shape`` computed from an input of spatial shape ``input_spatial``.

    ``hints`` is the model (timm's ``patch_embed.grid_size`` and ``num_prefix_tokens`` fix a
    token grid).  Returns None when no layout has the input's spatial axes.

    >>> guess_layout((2, 8, 14, 14), (224, 224)).kind
    'channels_first'
    >>> guess_layout((2, 7, 7, 768), (224, 224)).kind
    'channels_last'
    >>> guess_layout((2, 197, 192), (224, 224))
    Layout(kind='tokens', grid=(14, 14), prefix=1)
    >>> guess_layout((2, 1000), (224, 224)) is None
    True
    """
    d = len(input_spatial)
    kind = None
    if layout is not None:
        kind = _ALIASES.get(str(layout).lower().replace("-", "_"))
        if kind is None:
            raise RFGraphError(f"layout={layout!r} is unknown; use one of {', '.join(LAYOUTS)}")
    grid_hint, prefix_hint = _hints(hints)
    candidates = [kind] if kind else ["channels_first", "channels_last", "tokens"]
    for k in candidates:
        if k == "channels_first" and len(shape) == d + 2:
            grid = tuple(shape[2:])
            if kind or (_consistent(grid, input_spatial) and math.prod(grid) > 1):
                return Layout(k, grid)
        elif k == "channels_last" and len(shape) == d + 2:
            grid = tuple(shape[1:-1])
            # (N, C, 1, 1) is a pooled vector, not a channels-last (N, H, W, 1) of another stride.
            pooled = kind is None and math.prod(shape[2:]) == 1
            if kind or (not pooled and _consistent(grid, input_spatial) and math.prod(grid) > 1):
                return Layout(k, grid)
        elif k == "tokens" and len(shape) == 3 and (d > 1 or kind):
            found = _token_grid(int(shape[1]), input_spatial, grid_hint, prefix_hint)
            if found is not None and (kind or _consistent(found[0], input_spatial)) and math.prod(found[0]) > 1:
                return Layout(k, found[0], found[1])
            if kind:
                raise RFGraphError(
                    f"layout='tokens': {shape[1]} tokens are no grid following the input {input_spatial} "
                    "(prefix tokens first, then one token per cell, row-major)"
                )
    if kind:
        raise RFGraphError(
            f"layout={layout!r} does not fit a tensor of shape {tuple(shape)} for an input with "
            f"{d} spatial axes: {kind} needs {d + 2 if kind != 'tokens' else 3} axes"
        )
    return None


def _hints(model: Any) -> tuple[tuple[int, ...] | None, int | None]:
    if model is None:
        return None, None
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    prefix = getattr(model, "num_prefix_tokens", None)
    try:
        grid = tuple(int(n) for n in grid) if grid is not None else None
    except (TypeError, ValueError):
        grid = None
    return grid, (int(prefix) if isinstance(prefix, int) and not isinstance(prefix, bool) else None)


def to_grid(y: Any, lay: Layout) -> Any:
    """``y`` as ``(N, C, *grid)``: a view for every layout (prefix tokens dropped)."""
    if lay.kind == "channels_first":
        return y
    if lay.kind == "channels_last":
        return y.movedim(-1, 1)
    cells = y[:, lay.prefix :, :]
    return cells.reshape(y.shape[0], *lay.grid, y.shape[-1]).movedim(-1, 1)
