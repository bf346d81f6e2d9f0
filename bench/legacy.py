"""The previous algorithm (rfgraph 0.1): no cropping, a dense float64 path sweep over whole tensors.

Kept here, not in the engine, as the baseline that ``bench_field.py`` times the engine against
and as an uncropped second opinion for ``tests/test_many_targets.py``.
"""

from __future__ import annotations

import numpy as np

from rfgraph.engine import _edges
from rfgraph.engine._kernels import _pull_axis
from rfgraph.geometry import AxisMap
from rfgraph.plan import Plan

__all__ = ["legacy_map", "legacy_paths"]


def _pull(g: np.ndarray, axis: int, m: AxisMap) -> np.ndarray:
    shape = g.shape
    pre = int(np.prod(shape[:axis], dtype=np.int64))
    post = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    out = _pull_axis(
        np.ascontiguousarray(g, dtype=np.float64).reshape(pre, shape[axis], post), m.indptr, m.indices, m.n_in
    )
    return out.reshape(shape[:axis] + (m.n_in,) + shape[axis + 1 :])


def legacy_paths(plan: Plan, target: tuple[int, ...]) -> np.ndarray:
    """Path counts by a dense float64 sweep over the whole (uncropped) plan, every gradient kept."""
    grads: list[np.ndarray | None] = [None] * len(plan.tensors)
    seed = np.zeros(plan.output.shape, dtype=np.float64)
    seed[target] = 1
    grads[-1] = seed
    for t in reversed(plan.tensors):
        g = grads[t.index]
        if g is None or t.op is None:
            continue
        for link in t.links:
            pulled = g
            for axis, m in enumerate(link.maps):
                pulled = _pull(pulled, axis, m)
            src = grads[link.source]
            grads[link.source] = pulled if src is None else src + pulled
    out = grads[0]
    if out is None:  # the target does not depend on the input at all
        return np.zeros(plan.input_shape, dtype=np.float64)
    return out


def legacy_map(plan: Plan, metric: str, target: tuple[int, ...] | None = None) -> np.ndarray:
    """The previous algorithm's map: uncropped paths sweep, or uncropped separable/node-level edges."""
    if target is None:
        target = tuple(n // 2 for n in plan.output.shape)
    if metric == "paths":
        return legacy_paths(plan, target)
    try:
        return _edges.separable_edges(plan, target)
    except _edges.TooManyTerms:
        return _edges.general_map(plan, target, "edges")
