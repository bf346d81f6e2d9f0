"""Path lengths (SPEC section 11): how many paths pass through how many computing ops.

A path's length is the number of computing ops it passes (``Conv``, ``ConvTranspose``,
``Pool``, ``AdaptivePool``, ``GlobalPool``, ``Resize``, ``Upsample``, ``GlobalMix``,
``WindowMix``); merges, ``Identity`` and index maps count 0.  Veit, Wilber & Belongie
("Residual Networks Behave Like Ensembles of Relatively Shallow Networks", NeurIPS 2016):
``n`` residual blocks with one-op bodies give ``C(n, k)`` paths of length ``k``.

* Without a shape: paths through the op graph (one node per op), counted exactly with
  Python ints by one pass in topological order, one polynomial in the length per op.
* With a shape: pixel-level paths from every input pixel to the target, the path-count
  sweep of :func:`rfgraph.contribution_map` carried once per length (exact residues
  modulo primes, reconstructed with the Chinese remainder theorem).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import engine
from ..errors import RFGraphError
from ..ops import (
    AdaptivePool,
    Conv,
    ConvTranspose,
    GlobalMix,
    GlobalPool,
    Op,
    Pool,
    Resize,
    Upsample,
    WindowMix,
)
from ..plan import Plan, build_plan

__all__ = ["path_lengths", "COMPUTING_OPS", "is_computing"]

COMPUTING_OPS = (Conv, ConvTranspose, Pool, AdaptivePool, GlobalPool, Resize, Upsample, GlobalMix, WindowMix)


def is_computing(op: Op | None) -> bool:
    """Whether ``op`` adds one to a path's length."""
    return isinstance(op, COMPUTING_OPS)


def _as_ints(values: list[int] | np.ndarray) -> np.ndarray:
    """int64 when every count fits, else an object array of Python ints."""
    arr = np.empty(len(values), dtype=object) if not isinstance(values, np.ndarray) else values
    if not isinstance(values, np.ndarray):
        arr[:] = values
    if all(abs(int(v)) < 2**63 for v in arr.ravel()):
        return arr.astype(np.int64)
    return arr


def _op_graph_counts(plan: Plan) -> list[int]:
    """Paths input -> output of the op graph, by length (exact ints)."""
    counts: list[list[int] | None] = [None] * len(plan.tensors)
    counts[0] = [1]
    for t in plan.tensors[1:]:
        total: list[int] = []
        for link in t.links:
            src = counts[link.source]
            if src is None:
                continue
            if len(src) > len(total):
                total += [0] * (len(src) - len(total))
            for k, c in enumerate(src):
                total[k] += c
        if not total:
            continue
        counts[t.index] = [0, *total] if is_computing(t.op) else total
    out = counts[-1]
    return out if out is not None else [0]


def _max_length(plan: Plan) -> int:
    return len(_op_graph_counts(plan)) - 1


def _pixel_counts(plan: Plan, target: Any) -> np.ndarray:
    """(max_length + 1, *input_shape) exact counts of pixel paths to ``target`` by length."""
    from . import _paths

    tgt = engine.check_target(plan, target)
    length = _max_length(plan)
    out_shape = (length + 1, *plan.input_shape)
    cropped = engine._cropped(plan, tgt)
    if cropped is None:
        return np.zeros(out_shape, dtype=np.int64)
    cp, window = cropped
    primes = _paths.primes_for_bits(_paths.count_bound_bits(cp))
    rings = len(primes)
    ring_primes = np.repeat(primes, length + 1)  # ring (p, l): length l modulo prime p
    engine._check_memory(plan, 8 * rings * (length + 1) * max(t.size for t in cp.tensors) * 4, "path lengths per pixel")
    grads: list[np.ndarray | None] = [None] * len(cp.tensors)
    seed = np.zeros((rings, length + 1, *cp.output.shape), dtype=np.int64)
    seed[:, 0] = 1
    grads[-1] = seed
    for t in reversed(cp.tensors):
        g = grads[t.index]
        if g is None or t.op is None:
            continue
        grads[t.index] = None
        if is_computing(t.op):  # one more op on every path through t
            shifted = np.zeros_like(g)
            shifted[:, 1:] = g[:, :-1]
            g = shifted
        flat = g.reshape(rings * (length + 1), *g.shape[2:])
        for link in t.links:
            pulled = flat
            for axis, m in enumerate(link.maps):
                pulled = _paths._pull(pulled, axis, m, ring_primes)
            pulled = pulled.reshape(rings, length + 1, *pulled.shape[1:])
            src = grads[link.source]
            grads[link.source] = pulled if src is None else (src + pulled) % primes.reshape(-1, 1, *(1,) * cp.ndim)
    g0 = grads[0]
    if g0 is None:
        return np.zeros(out_shape, dtype=np.int64)
    values = _paths.to_python_ints(g0.reshape(rings, -1), primes).reshape(length + 1, *cp.input_shape)
    full = np.zeros(out_shape, dtype=object)
    full[...] = 0
    full[(slice(None),) + tuple(slice(lo, hi) for lo, hi in window)] = values
    if all(int(v) < 2**63 for v in values.ravel()):
        return full.astype(np.int64)
    return full


def path_lengths(
    network: Op,
    shape: Any = None,
    target: Any = None,
    per_pixel: bool = False,
    *,
    endpoint: str | None = None,
) -> np.ndarray:
    """Exact numbers of paths by length (the number of computing ops passed).

    Parameters
    ----------
    network : Op
        The network description.
    shape : tuple of int, optional
        ``None``: paths through the op graph (one node per op; the input shape is the
        smallest the network accepts, which does not change the op graph).  A shape:
        pixel-level paths from every input pixel to ``target``.
    target : tuple of int, optional
        With ``shape``: the output position (default the centre).
    per_pixel : bool
        With ``shape``: return ``(max_length + 1, *shape)`` counts whose sum over
        lengths is ``contribution_map(network, shape, "paths", target)``.

    Returns
    -------
    numpy.ndarray
        int64 (an object array of Python ints when a count exceeds int64), indexed by
        length ``0 .. max_length`` (the longest op-graph path).

    Examples
    --------
    >>> import rfgraph as rf
    >>> blocks = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(4)])
    >>> rf.path_lengths(blocks).tolist()  # C(4, k)
    [1, 4, 6, 4, 1]
    >>> rf.path_lengths(blocks, (9,)).tolist()  # pixel paths: C(4, k) * 3**k
    [1, 12, 54, 108, 81]
    """
    if per_pixel not in (True, False):
        raise RFGraphError(f"per_pixel={per_pixel!r} must be True or False")
    if shape is None:
        if target is not None or per_pixel:
            raise RFGraphError("target= and per_pixel=True need shape=: pixel paths are counted on an input shape")
        from ..answers.sizes import min_input_shape

        try:
            smallest = min_input_shape(network)
        except RFGraphError as err:
            raise RFGraphError(f"path_lengths: {err}; give shape= to count on that input") from None
        plan = build_plan(network, smallest, endpoint)
        return _as_ints(_op_graph_counts(plan))
    plan = build_plan(network, shape, endpoint)
    counts = _pixel_counts(plan, target)
    if per_pixel:
        return counts
    summed = [sum(int(v) for v in row.ravel()) for row in counts] if counts.dtype == object else None
    if summed is not None:
        return _as_ints(summed)
    total = counts.reshape(counts.shape[0], -1).astype(object).sum(axis=1)
    return _as_ints(list(total))
