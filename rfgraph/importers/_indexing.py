"""Indexing an imported tensor (``x[..., 1:-1, ::2]``): the translation of ``getitem`` shared by the
importers, so that :mod:`rfgraph.importers._convert` stays small."""

from __future__ import annotations

from typing import Any

from ..errors import RFGraphError
from ..ops.index import Slice
from ._layout import _T, Value, _make, _Same

__all__: list[str] = []


def getitem(c: Any, x: Value, index: Any, scopes: list[str]) -> Value:
    """``x[index]`` on an imported tensor: slices of spatial axes become a ``Crop`` or, strided, a ``Slice``."""
    if isinstance(x, _Same):
        return x.value
    if isinstance(x, list | tuple):
        return x[index] if isinstance(index, int | slice) else None
    if not isinstance(x, _T):
        return x
    items = index if isinstance(index, tuple) else (index,)
    if any(i is None for i in items):
        raise RFGraphError(f"{c.where(scopes, 'indexing')}: None (new axes) in an index is not supported")
    if Ellipsis in items:
        k = items.index(Ellipsis)
        fill = x.rank - (len(items) - 1)
        items = items[:k] + (slice(None),) * fill + items[k + 1 :]
    items = items + (slice(None),) * (x.rank - len(items))
    dims = c.dims(x)
    pairs: list[tuple[int, int]] = [(0, 0)] * c.ndim
    bounds: list[tuple[int, int, int]] = [(0, n, 1) for n in c.spatial(x)]
    kept: list[int] = []
    for axis, item in enumerate(items):
        if axis not in dims:
            if not isinstance(item, int | slice):
                raise RFGraphError(f"{c.where(scopes, 'indexing')}: tensor indices are not supported")
            if not isinstance(item, int):
                kept.append(axis)
            continue
        kept.append(axis)
        if c.is_flattened(x):
            if item != slice(None):
                raise RFGraphError(
                    f"{c.where(scopes, 'indexing')} picks tokens of a flattened spatial axis; not supported"
                )
            continue
        k = dims.index(axis)
        n = c.spatial(x)[k]
        if not isinstance(item, slice):
            raise RFGraphError(
                f"{c.where(scopes, 'indexing')} picks single positions on spatial axis {axis} "
                f"({item!r}); only slices are supported"
            )
        start, stop, step = item.indices(n)
        if step < 1:
            raise RFGraphError(f"{c.where(scopes, 'indexing')}: negative steps are not supported; use flip")
        pairs[k] = (start, n - max(stop, start))
        bounds[k] = (start, stop, step)
    if any(step != 1 for _, _, step in bounds):  # strided: YOLOv5's Focus, x[..., ::2, 1::2]
        x = c.plain(x, scopes, "getitem")
        starts, stops, steps = zip(*bounds, strict=True)
        from ._layout import _c

        out = c.leaf(Slice(start=_c(starts), stop=_c(stops), step=_c(steps)), x, scopes, "getitem")
    else:
        out = c.crop(x, pairs, scopes, "getitem")
    return _T(out.index, len(kept), _make(0, len(kept), [kept.index(a) for a in dims], c.ndim).axes, out.pad)
