"""The float64 path sweep compiled over a flattened link table (issue 28).

:mod:`rfgraph.engine._paths` pulls the gradient through one link at a time from Python: a copy, a
numba call and an allocation per link, which is most of a DAG's map (DenseNet-121 has 717
links, 609 of them identities).  Here a cropped plan is flattened once into arrays (cached
with the plan, and packed into one int64 array for the kernels):

* every tensor is a row range of one pool of shape ``(rows, batch)``, shared by tensors whose
  gradients are not alive at once (:func:`_lifetimes`); the batch holds several seeds at once
  (a list of targets) or one (a target, or ``target="all"`` as one seed of ones); the input is
  written into the returned map;
* every link is a row of a table: source, kind (pull, skip, copy, first write), axis order and
  per axis the id of a map (``-1`` where the link is the identity on that axis); window maps
  carry (stride, dilation, offset, taps) and need no CSR arrays, others keep theirs with the
  edge weights of SPEC section 11 (ones for path counts);
* ``_dense_sweep`` (numba, :mod:`rfgraph.engine._kernels_sweep`) walks the table once from the
  output to the input; per-tensor gains scale a tensor before its links are pulled.

A chain (each tensor one link and one consumer, as VGG) needs no dense array at all: its map
is the outer product of one vector per axis, and ``_chain_map``
(:mod:`rfgraph.engine._kernels_chain`) pulls those vectors through the whole table and writes
their product into the map in one call.  :func:`paths_program` binds either to a function of
no arguments (the engine's bound programs).

Every count is a sum of products of the same edges as the reference's, in float64: exact
below 2**53 (tests/test_engine.py, tests/test_many_targets.py and tests/test_sweep_kernels.py
compare with :mod:`rfgraph.engine.reference` and the Python sweep).
"""

from __future__ import annotations

import math
import sys
import weakref
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from ..plan import Plan

__all__ = ["LinkTable", "link_table", "dense_paths", "paths_program", "float_paths", "is_chain"]

from ._table import NDIM, LinkTable, _gain_array, link_table, packed  # noqa: F401 (NDIM, LinkTable: names of the sweep)


def dense_paths(
    plan: Plan,
    seeds: np.ndarray,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Path counts (or weighted sums) from every seed column to the input, one compiled sweep.

    ``seeds`` is ``(output nodes, batch)`` float64 (row-major positions of ``plan.output``);
    returns ``(batch, *plan.input_shape)``.  ``out``: for one column, a contiguous float64
    array of the input's size to write the map into (zeros where nothing reaches).
    """
    table = link_table(plan, weighted)
    batch = seeds.shape[1]
    if out is None:
        out = _new_map(table, batch)
    else:
        assert batch == 1 and out.size == table.sizes[0] and out.flags.c_contiguous
        if not table.live[0]:
            out[...] = 0.0
    _run_dense(table, packed(table), _gain_array(plan, gains), batch, seeds.reshape(-1), out)
    if batch == 1:
        return out.reshape((1,) + plan.input_shape)
    return np.ascontiguousarray(out.reshape(-1, batch).T).reshape((batch,) + plan.input_shape)


def _new_map(table: LinkTable, batch: int) -> np.ndarray:
    """The input's buffer: empty when some link reaches the input (its first write fills it), else zeros."""
    return (np.empty if table.live[0] else np.zeros)(int(table.sizes[0]) * batch, dtype=np.float64)


def _run_dense(
    table: LinkTable, itab: np.ndarray, gain_array: np.ndarray, batch: int, seed: float | np.ndarray, out: np.ndarray
) -> None:
    """One compiled dense sweep into ``out``: the pool and scratch buffers in one work array,
    the output tensor's rows set to ``seed`` (a value, or ``rows x batch`` values)."""
    from ._kernels_sweep import _dense_entry

    work = np.empty(_work_rows(table) * batch, dtype=np.float64)
    start = int(table.offsets[-1]) * batch
    work[start : start + int(table.sizes[-1]) * batch] = seed
    _dense_entry(work, out, itab, table.weights_all, gain_array, batch)


def _work_rows(table: LinkTable) -> int:
    """Rows of a dense sweep's work array per seed column: the pool, then the scratch buffers."""
    return table.pool_rows + table.scratch_rows + _scratch2(table)


def peak(values: np.ndarray, gains: Mapping[int, float | int] | None) -> float:
    """The largest absolute value of a paths map.  Path counts and averaging weights are never
    negative (only a negative gain makes a sum so): then it is the maximum, with no pass of
    ``abs`` over the map."""
    signed = bool(gains) and any(float(g) < 0 for g in (gains or {}).values())
    return float((np.abs(values) if signed else values).max(initial=0.0))


def _scratch2(table: LinkTable) -> int:
    """Rows of the second scratch buffer (only a 3-D link pulls through two intermediates)."""
    return table.scratch_rows if table.ndim == 3 else 0


def is_chain(plan: Plan) -> bool:
    """Every tensor but the input has one link, from the tensor just before it."""
    return all(len(t.links) == 1 and t.links[0].source == t.index - 1 for t in plan.tensors[1:])


def biggest(plan: Plan) -> int:
    """Nodes of the largest tensor of ``plan`` (from its cached table)."""
    return link_table(plan).biggest


def sweep_bytes(plan: Plan, batch: int, weighted: bool = False) -> int:
    """Bytes of :func:`dense_paths` for ``batch`` seeds (the buffer, two scratch buffers, the result)."""
    table = link_table(plan, weighted)
    return 8 * batch * (table.pool_rows + 2 * table.scratch_rows + 2 * int(table.sizes[0]))


def stays_factored(plan: Plan) -> bool:
    """Whether :func:`rfgraph.engine._paths.sweep` keeps every gradient a sum of outer products (never dense)."""
    from ._paths import _dense_is_cheaper

    terms = [0] * len(plan.tensors)
    terms[-1] = 1
    for t in reversed(plan.tensors):
        r = terms[t.index]
        if r == 0 or t.op is None:
            continue
        if _dense_is_cheaper(r, t.shape):
            return False
        for link in t.links:
            terms[link.source] += r
    return True


def paths_program(
    plan: Plan,
    window: tuple[tuple[int, int], ...] | None = None,
    full_shape: tuple[int, ...] | None = None,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
    limit: float | None = None,
) -> Callable[[], np.ndarray | None]:
    """:func:`float_paths`'s map as a function of no arguments, every array it reads bound once;
    it returns None instead when the map's peak |value| is ``limit`` or more (or not a number).

    A repeated map of one target (a loop, the page, a benchmark) then costs one compiled call,
    not a walk through the Python layers above it.
    """
    kind = _kind(plan)
    full = plan.input_shape if window is None or full_shape is None else full_shape
    if kind == "chain":
        from ._kernels_chain import _chain_entry

        table = link_table(plan, weighted)
        lo = np.array([0] * len(full) if window is None or full_shape is None else [a for a, _ in window], np.int64)
        gain = float(np.prod(_gain_array(plan, gains))) if gains else 1.0
        itab, weights_all, full_arr = packed(table), table.weights_all, np.array(full, dtype=np.int64)
        # The kernel writes every value of the map (zeros outside the window).
        return _bound(_chain_entry, full, 5 * table.longest, (itab, weights_all, full_arr, lo, gain), True, limit)
    if kind == "dense":
        from ._kernels_sweep import _dense_ones

        table = link_table(plan, weighted)
        tail = (packed(table), table.weights_all, _gain_array(plan, gains))
        # No link reaching the input leaves its map unwritten: zeros, never handed out again.
        run = _bound(_dense_ones, plan.input_shape, _work_rows(table), tail, bool(table.live[0]), limit)
    else:
        from ._paths import dense_result, sweep

        def run() -> np.ndarray | None:
            g = sweep(plan, [np.ones((1, n)) for n in plan.output.shape], weighted=weighted, gains=gains)
            values = dense_result(g, None)[0]
            return values if limit is None or peak(values, gains) < limit else None

    if full == plan.input_shape:
        return run
    inner = tuple(slice(a, b) for a, b in window or ())

    def embedded() -> np.ndarray | None:
        values = run()
        if values is None:
            return None
        out = np.zeros(full)
        out[inner] = values
        return out

    return embedded


# Nothing big: a bound program needing at most this much skips the memory check
# (rfgraph.engine) and keeps its last map and work buffer for its next call (_bound).
SMALL_BYTES = 32 << 20


def _bound(
    kernel: Any,
    shape: tuple[int, ...],
    rows: int,
    tail: tuple[Any, ...],
    written: bool,
    limit: float | None,
) -> Callable[[], np.ndarray | None]:
    """``kernel(map, work, *tail)`` (a compiled kernel that returns the map's peak |value|,
    called through its overload for these argument types) as a function of no arguments that
    returns the map of ``shape``, or None at a peak of ``limit`` or more (never with None).

    A program needing at most :data:`SMALL_BYTES` keeps its map (when the kernel writes every
    value of it: ``written``) and its work buffer for the next call: a fresh buffer costs the
    first large malloc after another library freed thousands of small blocks (10-15 us when the
    call comes cold, against a 12 us VGG-16 map).  Buffers are taken out while a call runs, so
    two threads never share one; the map is handed out again only once nothing refers to it or
    a view of it, so every answer is a new array to its caller.  The whole call is this one
    Python function: each frame, method or numpy call on the way costs 1-3 us when it comes cold,
    right after another library ran.
    """
    from ._numba import entry

    probe = np.empty(1, dtype=np.float64)
    call = entry(kernel, probe, probe, *tail)
    keep = (rows + math.prod(shape)) * 8 <= SMALL_BYTES
    keep_map = keep and written
    fresh = np.empty if written else np.zeros
    maps: list[tuple[np.ndarray, np.ndarray]] = []  # (the map, its flat view for the kernel)
    works: list[np.ndarray] = []
    refs = sys.getrefcount
    below = math.inf if limit is None else limit

    def program() -> np.ndarray | None:
        try:
            whole, flat = maps.pop()
            if refs(whole) != 3:  # more than this name, the argument and the flat view's base
                raise IndexError
        except IndexError:
            whole = fresh(shape, dtype=np.float64)
            flat = whole.reshape(-1)
        try:
            work = works.pop()
        except IndexError:
            work = np.empty(rows, dtype=np.float64)
        top = call(flat, work, *tail)
        if keep:
            if keep_map and not maps:
                maps.append((whole, flat))
            if not works:
                works.append(work)
        if top < below:
            return whole
        return None if limit is not None else whole

    return program


def float_paths(
    plan: Plan,
    window: tuple[tuple[int, int], ...] | None = None,
    full_shape: tuple[int, ...] | None = None,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> tuple[np.ndarray, float]:
    """float64 paths (or weighted sums) of a cropped plan seeded with ones on its whole output,
    and the largest absolute value.

    A chain is one compiled call (:func:`chain_map`); a network whose gradient stays a few outer
    products goes through :func:`rfgraph.engine._paths.sweep`; any other through the compiled
    dense sweep.  With ``window`` and ``full_shape`` the map is returned in the uncropped input
    (zeros outside the window).
    """
    values = paths_program(plan, window, full_shape, weighted=weighted, gains=gains)()
    assert values is not None  # no limit
    return values, peak(values, gains)


_KINDS: weakref.WeakKeyDictionary[Plan, str] = weakref.WeakKeyDictionary()
_BATCH_ROWS = 32768  # seed columns x plan rows of one batched sweep on large plans


def dense_work(plan: Plan) -> int:
    """Element operations of a dense sweep (an upper bound of the factored one)."""
    work = 0
    for t in plan.tensors:
        for link in t.links:
            size = t.size
            for m in link.maps:
                size = size // max(m.n_out, 1) * max(m.nnz, 1)
                work += size
    return work


# The factored sweep is Python per link (about 10 us each); the compiled dense one about 0.1 ns
# per element operation: the factored sweep only where the dense one would cost more (a 3-D
# U-Net at 64^3: 0.67 against 1.15 ms; at 224^2 it is 0.38 against 0.10 ms).
_FACTORED_US_PER_LINK = 10.0
_DENSE_US_PER_OP = 1e-4


def _kind(plan: Plan) -> str:
    """``"chain"``, ``"factored"`` (stays a few outer products, and that is cheaper than the
    compiled dense sweep) or ``"dense"`` (cached with the plan)."""
    kind = _KINDS.get(plan)
    if kind is None:
        if is_chain(plan):
            kind = "chain"
        elif stays_factored(plan):
            links = sum(len(t.links) for t in plan.tensors)
            cheaper = links * _FACTORED_US_PER_LINK < dense_work(plan) * _DENSE_US_PER_OP
            kind = "factored" if cheaper else "dense"
        else:
            kind = "dense"
        _KINDS[plan] = kind
    return kind


def _area(window: tuple[tuple[int, int], ...] | None) -> int:
    return 0 if window is None else math.prod(hi - lo for lo, hi in window)


@lru_cache(maxsize=8)  # small: an entry keeps its plan alive (as rfgraph.engine's crop cache)
def _union_crop(plan: Plan, targets: tuple[tuple[int, ...], ...]) -> tuple[Plan, tuple[Any, ...]] | None:
    """The plan cropped to the union of the targets' fields and its windows; None where no input
    reaches them or one sweep per target is cheaper.  Cached: a list asked again (a loop, the
    page) crops and builds its link table once."""
    from ._crop import crop_plan, field_windows

    boxes = [tuple((i, i + 1) for i in t) for t in targets]
    windows = field_windows(plan, boxes)
    if windows[0] is None:
        return None
    # One field (the largest of three samples) against the union: a crop and a table per target
    # cost more than a batch column over a somewhat larger box, so batch unless the targets lie
    # far apart (the union many times one field).
    samples = {boxes[0], boxes[len(boxes) // 2], boxes[-1]}
    field = max(_area(field_windows(plan, [b])[0]) for b in samples)
    if _area(windows[0]) > 8 * max(field, 1):
        return None
    return crop_plan(plan, windows), tuple(windows)


def batched_paths(
    plan: Plan,
    targets: list[tuple[int, ...]],
    budget: int,
    *,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> np.ndarray | None:
    """float64 maps of many targets in batched sweeps: ``(len(targets), *plan.input_shape)``.

    The plan is cropped once to the union of the targets' fields and every target is a one-hot
    seed column; columns go in chunks of at most ``budget`` bytes.  None when one sweep per
    target is cheaper (targets far apart: the union is much larger than one field).
    """
    union = _union_crop(plan, tuple(targets))
    if union is None:
        return None
    cp, windows = union
    out_window = windows[-1]
    assert out_window is not None
    out_shape = cp.output.shape
    flat = [int(np.ravel_multi_index(tuple(i - lo for i, (lo, _) in zip(t, out_window)), out_shape)) for t in targets]
    per_column = sweep_bytes(cp, 1, weighted)
    chunk = max(1, budget // max(per_column, 1))
    # Wide seed columns pay off on small plans (one call for many targets); on large ones a
    # column per sweep keeps the buffers in cache and is faster (DenseNet-121, 49 targets at
    # 224x224: 9 ms one by one, 20 ms as one batch).
    chunk = min(chunk, max(1, _BATCH_ROWS // max(per_column // 8, 1)))
    result = np.zeros((len(targets),) + plan.input_shape, dtype=np.float64)
    inner = tuple(slice(lo, hi) for lo, hi in windows[0])
    whole = cp.input_shape == plan.input_shape
    if chunk == 1:
        for i, f in enumerate(flat):
            seeds = np.zeros((cp.output.size, 1))
            seeds[f, 0] = 1.0
            if whole:  # straight into the result
                dense_paths(cp, seeds, weighted=weighted, gains=gains, out=result[i].reshape(-1))
            else:
                result[(i,) + inner] = dense_paths(cp, seeds, weighted=weighted, gains=gains)[0]
        return result
    for start in range(0, len(targets), chunk):
        part = flat[start : start + chunk]
        seeds = np.zeros((cp.output.size, len(part)))
        seeds[part, np.arange(len(part))] = 1.0
        values = dense_paths(cp, seeds, weighted=weighted, gains=gains)
        result[(slice(start, start + len(part)),) + inner] = values
    return result
