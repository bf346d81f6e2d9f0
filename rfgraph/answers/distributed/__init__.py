"""Beyond one machine (SPEC section 13): exact-halo blockwise inference and model-zoo sweeps on dask.

* :func:`blockwise` (also ``rf.blockwise``) -- the model's output on an array larger than
  memory, as a dask graph of one task per output block; each task reads exactly the window
  :func:`rfgraph.tiles` gives, so the stitched result equals whole-array inference.
  :func:`plan_blockwise` states the halo, the tasks and the memory one task holds.
* :func:`compute` -- run dask collections on dask's local scheduler or on a
  ``dask.distributed`` cluster (the active client, or an address), with a progress bar.
* :func:`atlas` -- one dask task per model of a zoo (torchvision/timm names with globs,
  rfgraph zoo names, specs): import status and reason, stride, field, exact-map statistics.

Everything here needs the ``dask`` extra (``pip install 'rfgraph[dask]'``: dask,
distributed, zarr, tifffile); dask is imported only when a function runs.
"""

from __future__ import annotations

from typing import Any

from .blockwise import BlockwisePlan, blockwise, plan_blockwise

__all__ = ["BlockwisePlan", "blockwise", "plan_blockwise", "compute", "atlas", "atlas_row", "resolve_patterns"]


def compute(*collections: Any, scheduler: Any = None, progress: bool | None = None) -> tuple[Any, ...]:
    """``dask.compute`` on the local scheduler or a ``dask.distributed`` cluster (see :mod:`._compute`)."""
    from ._compute import compute as _compute

    return _compute(*collections, scheduler=scheduler, progress=progress)


def __getattr__(name: str) -> Any:
    if name in ("atlas", "atlas_row", "resolve_patterns"):
        from . import sweep as _atlas

        return getattr(_atlas, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
