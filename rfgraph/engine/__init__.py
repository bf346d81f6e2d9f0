"""The engine: exact contribution maps and reach (SPEC section 4).

For a target node ``t`` and every input pixel ``x``:

* ``paths(x)``: number of directed paths ``x -> t`` (one backward sweep,
  :mod:`rfgraph.engine._paths`);
* ``edges(x)``: number of distinct edges on those paths.  An edge ``(u, v)`` is on
  such a path iff ``x`` reaches ``u`` and ``v`` reaches ``t``, so
  ``edges(x) = sum_u [x reaches u] * outdeg_cone(u)`` (:mod:`rfgraph.engine._edges`).

Cost follows the field, not the image: the plan is first cropped to the box of
nodes that can lie on a path to the target (:mod:`rfgraph.engine._crop`), and path
counts stay a sum of outer products of 1-D sweeps as long as that is cheaper
than a dense array.  Exact counts use residues modulo several primes and the
Chinese remainder theorem.  Every fast path is checked against
:mod:`rfgraph.engine.reference` in the tests.

Path counts and float64
-----------------------
``exact=False`` (the default, SPEC section 6) returns float64: exact below
2**53 and rounded beyond, exactly as torch autograd on the all-ones network;
counts beyond float64's range raise :class:`~rfgraph.RFGraphError` (suggesting
``exact=True``) instead of returning ``inf``.  ``exact=True`` always returns
exact Python ints (an object array).  ``exact=None`` picks per call: float64
when every count is below 2**53, exact Python ints otherwise, so the numbers
are never rounded (the CLI uses it: printed digits are never false).
"""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ..errors import RFGraphError
from ..geometry import limits
from ..ops import Op
from ..plan import Plan, build_plan
from . import _edges, _paths, _recent, _sweep
from ._crop import embed, field_windows  # noqa: F401 (field_windows: rfgraph.erf.expected reads it here)
from ._questions import (
    _PRIVATE_METHODS,
    FLOAT_EXACT,
    INT64_MAX,
    MAX_EXACT_WORK,
    METHODS,
    METRICS,
    WEIGHTS,
    _check_metric,
    _check_weights,
    _cropped,
    _parse_targets,
    _Weights,
    _zeros,
    check_target,
)

_ONES = _Weights()  # weights="ones": path counts

__all__ = [
    "contribution_map",
    "profile",
    "reach",
    "plan_contribution_map",
    "plan_reach",
    "check_target",
    "METRICS",
    "METHODS",
    "WEIGHTS",
]

_MEMINFO: list[float] = [-1.0, 0.0]  # (time read, bytes): /proc/meminfo is read at most every 0.1 s


def _available_memory() -> int:
    """Memory the kernel says can be used without swapping (MemAvailable), else free pages; never more
    than the address space a limit leaves (``ulimit -v``, ``prlimit --as``) beyond what is mapped now."""
    free = _free_memory()
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return free
    if soft == resource.RLIM_INFINITY:
        return free
    mapped = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    mapped = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    return max(0, min(free, soft - mapped))


def _free_memory() -> int:
    """MemAvailable (else free pages), read from /proc/meminfo at most every 0.1 s."""
    now = time.monotonic()
    if now - _MEMINFO[0] < 0.1:
        return int(_MEMINFO[1])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    _MEMINFO[:] = [now, int(line.split()[1]) * 1024]
                    return int(_MEMINFO[1])
    except (OSError, ValueError, IndexError):
        pass
    try:  # pragma: no cover - not Linux
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def _check_memory(plan: Plan, needed: int, what: str, power: int = 1) -> None:
    """Refuse before allocating; ``needed`` grows like (input pixels) ** ``power``."""
    limit = _available_memory() // 2
    if needed <= limit:
        return
    scale = (limit / needed) ** (1 / (power * plan.ndim))
    smaller = tuple(max(1, int(n * scale * 0.9)) for n in plan.input_shape)
    raise RFGraphError(
        f"{what} would need about {needed / 2**30:.1f} GiB but only {limit / 2**30:.1f} GiB may be used; "
        f"try a smaller input such as {smaller}"
    )


def _general_cost(plan: Plan) -> int:
    """Bytes of the node-level edges engine on the whole (uncropped) plan: an upper bound (rfgraph.web)."""
    return _edges.general_cost(plan)


# --------------------------------------------------------------------------- paths


def _seed_factors(cp: Plan, target: tuple[int, ...] | None) -> list[np.ndarray]:
    # After cropping a single target is the only node of the last tensor: a 1 on every axis.
    return [np.ones((1, n)) for n in cp.output.shape]


def _exact_paths(plan: Plan, cp: Plan, target: tuple[int, ...] | None, weights: _Weights = _ONES) -> np.ndarray:
    gains = dict(weights.gains)
    primes = _paths.primes_for_bits(_paths.count_bound_bits(cp, gains=gains))
    rings = len(primes)
    work = rings * (_sweep.dense_work(cp) + plan.tensors[0].size)
    if work > MAX_EXACT_WORK:
        raise RFGraphError(
            f"exact path counts for this network need about {work:,} residue operations "
            f"(limit {MAX_EXACT_WORK:,}); use exact=False for float64 counts or a smaller input"
        )
    biggest = max(t.size for t in cp.tensors)
    _check_memory(
        plan, plan.tensors[0].size * (48 + 8 * rings) + 32 * rings * biggest, "exact path counts (Python ints)"
    )
    g = _paths.sweep(cp, _seed_factors(cp, target), primes, gains=gains)
    values = _paths.exact_from_factors(g, primes)
    if values is None:
        values = _paths.to_python_ints(_paths.dense_result(g, primes), primes)
    return values


def _paths_map(
    plan: Plan, target: tuple[int, ...] | None, exact: bool | None, method: str, weights: _Weights = _ONES
) -> np.ndarray:
    """Paths to one target (or, with ``target=None``, summed over every output position)."""
    cropped = _cropped(plan, target)
    if cropped is None:
        return _zeros(plan, object if exact else np.float64)
    cp, window = cropped
    if exact:
        return embed(_exact_paths(plan, cp, target, weights), window, plan.input_shape)
    biggest = _sweep.biggest(cp)
    if not weights.ones:
        # A weighted path sum: the same sweep, each edge times its weight (SPEC section 11).
        _check_memory(plan, 16 * plan.tensors[0].size + 32 * biggest, "the weighted path sweep")
        with np.errstate(over="ignore", invalid="ignore"):
            if method == "auto":
                values, peak = _sweep.float_paths(
                    cp, window, plan.input_shape, weighted=weights.mean, gains=dict(weights.gains)
                )
            else:
                g = _paths.sweep(
                    cp,
                    _seed_factors(cp, target),
                    separable=method != "dense",
                    weighted=weights.mean,
                    gains=dict(weights.gains),
                )
                values = _paths.dense_result(g, None)[0]
                peak = float(np.abs(values).max(initial=0.0))
        if peak >= FLOAT_EXACT and exact is None and weights.integer:
            return embed(_exact_paths(plan, cp, target, weights), window, plan.input_shape)
        if not np.isfinite(peak):
            raise RFGraphError(
                f"weighted path sums to {plan.output.name!r} exceed float64's range (about 1.8e308); "
                "use smaller gains" + (" or exact=True" if weights.integer else "")
            )
        return embed(values, window, plan.input_shape)
    if method == "general":
        if target is None:
            raise RFGraphError("method='general' computes one target at a time; use method='auto' for target='all'")
        _check_memory(plan, 8 * plan.tensors[0].size + _edges.general_paths_cost(cp), "the node-level path count")
        values = _edges.general_map(cp, tuple(0 for _ in cp.output.shape), "paths")
        peak = float(values.max(initial=0.0))
    else:
        _check_memory(plan, 16 * plan.tensors[0].size + 32 * biggest, "the path-count sweep")
        with np.errstate(over="ignore", invalid="ignore"):  # inf is detected below
            if method == "auto":  # the compiled sweep (rfgraph._sweep); "separable"/"dense" keep the Python one
                values, peak = _sweep.float_paths(cp, window, plan.input_shape)
            else:
                g = _paths.sweep(cp, _seed_factors(cp, target), separable=method != "dense")
                values = _paths.dense_result(g, None)[0]
                peak = float(values.max(initial=0.0))
    if peak >= FLOAT_EXACT:
        if exact is None:
            return embed(_exact_paths(plan, cp, target), window, plan.input_shape)
        if not np.isfinite(peak):
            raise RFGraphError(
                f"path counts to {plan.output.name!r} exceed float64's range (about 1.8e308); "
                "use exact=True (or exact=None) for exact Python ints"
            )
    return embed(values, window, plan.input_shape)


# --------------------------------------------------------------------------- edges


def _edges_map(plan: Plan, target: tuple[int, ...], method: str) -> np.ndarray:
    cropped = _cropped(plan, target)
    if cropped is None:
        return _zeros(plan, np.int64)
    cp, window = cropped
    tgt = tuple(0 for _ in cp.output.shape)
    out_bytes = 8 * plan.tensors[0].size
    if method in ("separable", "auto"):
        cost = _edges.separable_cost(cp)
        if method == "separable" or cost + out_bytes <= _available_memory() // 2:
            _check_memory(plan, out_bytes + cost, "this edges map (separable algebra)")
            try:
                return embed(_edges.separable_edges(cp, tgt, INT64_MAX), window, plan.input_shape)
            except _edges.TooManyTerms:
                if method == "separable":
                    raise RFGraphError(
                        f"the separable algebra needs more than {_edges.MAX_SEPARABLE_TERMS} terms for this "
                        "network; use method='general' or 'auto'"
                    ) from None
    general = _edges.general_cost(cp)
    if method == "auto" and out_bytes + general > _available_memory() // 2:
        # Neither fits: refuse with the cheaper one (output-dominated costs grow like the input).
        cost = min(general, _edges.separable_cost(cp))
        _check_memory(plan, out_bytes + cost, "this edges map", power=2 if cost > out_bytes else 1)
    _check_memory(
        plan, out_bytes + general, "this edges map (node-level engine)", power=2 if general > out_bytes else 1
    )
    return embed(_edges.general_map(cp, tgt, "edges"), window, plan.input_shape)


def _one_map(
    plan: Plan, metric: str, target: tuple[int, ...], exact: bool | None, method: str, weights: _Weights = _ONES
) -> np.ndarray:
    if metric == "paths":
        return _paths_map(plan, target, exact, method, weights)
    return _edges_map(plan, target, method)


def _many_paths(plan: Plan, targets: list[tuple[int, ...]], weights: _Weights, exact: bool | None) -> np.ndarray | None:
    """float64 maps of many targets in batched sweeps (one crop); None where one sweep each is better,
    or where the per-target path must decide (a count reaching 2**53 with ``exact=None``: exact
    ints; beyond float64's range: an error)."""
    budget = min(_available_memory() // 4, 1 << 30)
    with np.errstate(over="ignore", invalid="ignore"):
        values = _sweep.batched_paths(plan, targets, budget, weighted=weights.mean, gains=dict(weights.gains))
    if values is None:
        return None
    peak = _sweep.peak(values, dict(weights.gains))
    if not np.isfinite(peak) or (peak >= FLOAT_EXACT and exact is None):
        return None
    return values


def _stack(maps: list[np.ndarray]) -> np.ndarray:
    if any(m.dtype == object for m in maps):
        maps = [m.astype(object) for m in maps]
    return np.stack(maps)


# --------------------------------------------------------------------------- programs

# A float64 paths map of one target (or "all") asked again of the same plan: the cropped plan's
# compiled sweep with every array bound (rfgraph.engine._sweep.paths_program), reached through
# one dict lookup instead of the validation and cropping layers (they ran the first time; the
# same arguments give the same answer).  Keys are plain values only, so that True never stands
# for 1 nor a float for an int.
_PROGRAMS: weakref.WeakKeyDictionary[Plan, dict[tuple[Any, ...], Callable[[], np.ndarray | None]]] = (
    weakref.WeakKeyDictionary()
)
_PROGRAMS_PER_PLAN = 32


def _program_key(metric: Any, target: Any, exact: Any, method: Any, weights: Any) -> tuple[Any, ...] | None:
    if metric != "paths" or type(metric) is not str or method != "auto" or type(method) is not str:
        return None
    if exact is not False and exact is not None:
        return None
    if weights not in WEIGHTS or type(weights) is not str:
        return None
    if type(target) is str:
        if target != "all":
            return None
    elif target is not None and (type(target) is not tuple or not all(type(i) is int for i in target)):
        return None
    return (target, exact, weights)


def _program(
    plan: Plan, metric: Any, target: Any, exact: Any, method: Any, weights: Any
) -> Callable[[], np.ndarray | None] | None:
    """The bound program of this question (built on its first asking), or None."""
    key = _program_key(metric, target, exact, method, weights)
    if key is None:
        return None
    per_plan = _PROGRAMS.get(plan)
    if per_plan is None:
        per_plan = _PROGRAMS.setdefault(plan, {})
    program = per_plan.get(key)
    if program is None:
        try:
            tgt = None if target == "all" else check_target(plan, target)
        except RFGraphError:
            return None  # the full path raises it with its context
        program = _build_program(plan, tgt, weights == "mean", exact is None)
        if program is None:
            return None
        if len(per_plan) >= _PROGRAMS_PER_PLAN:
            per_plan.pop(next(iter(per_plan)))
        per_plan[key] = program
    return program


def _build_program(
    plan: Plan, target: tuple[int, ...] | None, mean: bool, exact_beyond: bool
) -> Callable[[], np.ndarray | None] | None:
    cropped = _cropped(plan, target)
    if cropped is None:
        return None
    cp, window = cropped
    limit = FLOAT_EXACT if exact_beyond else math.inf
    # None hands the question back to the full path: too little memory now (it refuses), counts
    # beyond float64's range (an error), or with exact=None counts at or beyond 2**53 (exact
    # ints); exact=False keeps float64 rounded beyond 2**53, as the full path does.
    run = _sweep.paths_program(cp, window, plan.input_shape, weighted=mean, limit=limit)
    needed = 16 * plan.tensors[0].size + 32 * _sweep.biggest(cp)
    if needed <= _sweep.SMALL_BYTES:
        # A program that needs little asks the kernel nothing before it runs: the getrlimit and
        # /proc reads of the memory check cost more than a small map itself when they come cold,
        # right after another program ran (8-25 us against a 12 us VGG-16 map).
        return run

    def program() -> np.ndarray | None:
        return None if needed > _available_memory() // 2 else run()

    return program


# --------------------------------------------------------------------------- public API


def plan_contribution_map(
    plan: Plan,
    metric: str = "edges",
    target: Any = None,
    *,
    exact: bool | None = False,
    method: Literal["auto", "separable", "general"] = "auto",
    weights: Any = "ones",
) -> np.ndarray:
    """:func:`contribution_map` for an already-built :class:`~rfgraph.plan.Plan`."""
    program = _program(plan, metric, target, exact, method, weights)
    if program is not None:
        values = program()
        if values is not None:
            return values
    return _full_answer(plan, metric, target, exact, method, weights)


def _full_answer(plan: Plan, metric: Any, target: Any, exact: Any, method: Any, weights: Any) -> np.ndarray:
    """Every check and every algorithm: what a bound program hands back (or never had)."""
    metric = _check_metric(metric)
    if method not in METHODS and method not in _PRIVATE_METHODS:
        raise RFGraphError(f"method={method!r} is unknown; choose one of {', '.join(map(repr, METHODS))}")
    if exact not in (None, True, False):
        raise RFGraphError(f"exact={exact!r} must be False (float64), True (Python ints) or None (automatic)")
    if exact and metric != "paths":
        raise RFGraphError("exact=True applies to metric='paths' (edge counts are always exact int64)")
    w = _check_weights(plan, weights)
    if not w.ones:
        if metric != "paths":
            raise RFGraphError(f"weights={weights!r} applies to metric='paths' (edges are counted, not weighed)")
        if method == "general":
            raise RFGraphError(f"method={method!r} counts unweighted paths; use method='auto' with weights=")
        if exact and not w.integer:
            raise RFGraphError(
                f"exact=True keeps integer weights exact; weights={weights!r} has fractional or negative "
                "weights: use exact=False (float64)"
            )
    targets = _parse_targets(plan, target)
    if targets == "all":
        if metric == "paths":
            return _paths_map(plan, None, exact, method, w)
        count = math.prod(plan.output.shape)
        if count > limits.MAX_TARGETS:
            raise RFGraphError(
                f"the sum of {metric} maps over all {count:,} output positions computes one map per position "
                f"(at most {limits.MAX_TARGETS:,}); use metric='paths' (one sweep for all), a smaller input, or "
                "a list of targets"
            )
        targets = [tuple(int(i) for i in idx) for idx in np.ndindex(*plan.output.shape)]
        _check_memory(plan, 16 * plan.tensors[0].size, "the sum of edges maps")
        total = _zeros(plan, np.int64)
        for t in targets:
            total += _one_map(plan, metric, t, exact, method)
        return total
    if isinstance(targets, list):
        _check_memory(plan, 8 * (len(targets) + 1) * plan.tensors[0].size, f"{len(targets)} stacked maps")
        if metric == "paths" and method == "auto" and not exact and len(targets) > 1:
            many = _many_paths(plan, targets, w, exact)
            if many is not None:
                return many
        return _stack([_one_map(plan, metric, t, exact, method, w) for t in targets])
    assert isinstance(targets, tuple)
    return _one_map(plan, metric, targets, exact, method, w)


def contribution_map(
    network: Op,
    input_shape: Any,
    metric: str = "edges",
    target: Any = None,
    *,
    endpoint: str | None = None,
    exact: bool | None = False,
    method: Literal["auto", "separable", "general"] = "auto",
    weights: Any = "ones",
) -> np.ndarray:
    """Exact per-input-pixel contribution to one target neuron (or to many).

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size (1 to 3 axes).
    metric : {"edges", "paths"}
        ``"edges"``: distinct edges on all paths from the pixel to the target
        (the importance measure of the importance-profile article), int64.
        ``"paths"``: number of paths, float64 by default (see ``exact``).
    target : tuple of int, "all", or list of tuples, optional
        Position in the output (or end-point) tensor; default the centre ``n // 2``.
        ``"all"``: the sum of the maps of every output position (for paths one
        sweep seeded with ones; for edges one map per output).  A list of
        targets returns the maps stacked along a new first axis.
    endpoint : str, optional
        Name of the tensor that holds the target instead of the network output.
    exact : bool or None
        Paths only.  ``False`` (default): float64, exact below ``2**53`` and
        **rounded** beyond (like torch autograd); an ``RFGraphError`` instead of
        ``inf``.  ``True``: exact Python ints (object array).  ``None``: float64
        while every count is below ``2**53``, exact Python ints otherwise (never
        rounded; the CLI and the page use it).
    method : {"auto", "separable", "general"}
        Force one of the exact algorithms (for testing); results are equal.
    weights : {"ones", "mean"} or dict of str to float
        Paths only (SPEC section 11): a weighted path sum, the product of edge
        weights along each path summed over paths.  ``"ones"`` (default) counts
        paths.  ``"mean"`` is the input gradient of the one-channel linear network
        whose ops average: convolution taps ``1/prod(kernel_size)``, pools as torch's
        ``avg_pool``, resizes with ``F.interpolate``'s weights, global pools and
        token mixers ``1/(positions mixed)``, index maps and merges 1; taps that read
        the same input add up.  A dict multiplies the edges of the named ops (names
        as in the receptive-field table; a Sequential's name means its last op).
        ``exact=True`` needs non-negative integer gains.

    Returns
    -------
    numpy.ndarray
        Shape ``input_shape`` (``(len(target), *input_shape)`` for a list);
        zero where no path reaches the target.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
    >>> rf.contribution_map(net, (15,), "paths").astype(int).tolist()
    [0, 0, 1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1, 0, 0]
    >>> rf.contribution_map(net, (15,), "paths", target="all").astype(int).tolist()
    [1, 6, 21, 51, 96, 146, 186, 201, 186, 146, 96, 51, 21, 6, 1]
    >>> rf.contribution_map(rf.Sequential(*[rf.Conv(3)] * 60), (121,), "paths", exact=None)[60]
    2665608276005367141972445389
    >>> (rf.contribution_map(net, (15,), "paths", weights="mean") * 3**5).round(6).astype(int).tolist()[2:13]
    [1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]
    >>> rf.contribution_map(rf.Residual(rf.Conv(3, padding=1, name="c")), (5,), "paths", weights={"res1.c": 2}).tolist()
    [0.0, 2.0, 3.0, 2.0, 0.0]
    """
    # The last question asked again with the same objects first, by identity alone, then the
    # recent ones by one tuple and one lookup: a map repeated in a loop beside another library
    # (a benchmark, a training step) takes 10-50 us, and each step before its program runs costs
    # 1-3 us when it comes cold.
    last = _recent.last
    if (
        last[0] is input_shape
        and last[1] is target
        and last[2] is endpoint
        and last[3] is metric
        and last[4] is exact
        and last[5] is method
        and last[6] is weights
        and last[7] == limits.MAX_OPS
        and last[8] == limits.MAX_DEPTH
        and last[9] == limits.MAX_PLAN_ENTRIES
        and last[10]() is network
    ):
        values = last[11]()
        if values is not None:
            return values
    key = (
        id(network),
        id(input_shape),
        id(target),
        endpoint,
        metric,
        exact,
        method,
        weights,
        limits.MAX_OPS,
        limits.MAX_DEPTH,
        limits.MAX_PLAN_ENTRIES,
    )
    try:
        ref, shape, tgt, bound = _recent.RECENT[key]
    except (KeyError, TypeError):  # TypeError: unhashable arguments (a dict of weights)
        pass
    else:
        if ref() is network and shape is input_shape and tgt is target:
            _recent.set_last(key[3:], ref, shape, tgt, bound)
            values = bound()
            if values is not None:
                return values
    plan = build_plan(network, input_shape, endpoint)
    program = _program(plan, metric, target, exact, method, weights)
    if program is not None:
        if type(input_shape) is tuple and all(type(n) is int for n in input_shape):
            _recent.remember(key, network, input_shape, target, program)
        values = program()
        if values is not None:
            return values
        return _full_answer(plan, metric, target, exact, method, weights)  # not the program again
    return plan_contribution_map(plan, metric, target, exact=exact, method=method, weights=weights)


def plan_reach(plan: Plan, target: Any = None) -> np.ndarray:
    """:func:`reach` for an already-built plan."""
    targets = _parse_targets(plan, target)
    if targets == "all":
        raise RFGraphError("reach(target='all') is every pixel some output sees; use rf.coverage(...) > 0")
    if isinstance(targets, list):
        _check_memory(plan, (len(targets) + 1) * plan.tensors[0].size, f"{len(targets)} stacked masks")
        return np.stack([plan_reach(plan, t) for t in targets])
    assert isinstance(targets, tuple)
    _check_memory(plan, 2 * plan.tensors[0].size, "the reach mask")
    cropped = _cropped(plan, targets)
    if cropped is None:
        return np.zeros(plan.input_shape, dtype=bool)
    cp, window = cropped
    cone = _edges.cone_unions(cp, tuple(0 for _ in cp.output.shape))[0]
    mask = np.zeros(cp.input_shape, dtype=bool)
    for term in cone.terms:
        outer = term[0]
        for v in term[1:]:
            outer = np.logical_and.outer(outer, v)
        mask |= outer
    return embed(mask, window, plan.input_shape)


def reach(network: Op, input_shape: Any, target: Any = None, *, endpoint: str | None = None) -> np.ndarray:
    """The true receptive field: boolean mask of input pixels with a path to the target.

    Unlike the size from :func:`rfgraph.receptive_field`, holes (e.g. from
    dilation) and clipping at the image border are exact.  A list of targets
    gives the masks stacked along a new first axis.

    >>> import rfgraph as rf
    >>> rf.reach(rf.Sequential(rf.Conv(3), rf.Conv(3, dilation=4)), (11,)).astype(int).tolist()
    [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    """
    return plan_reach(build_plan(network, input_shape, endpoint), target)


def profile(
    network: Op,
    input_shape: Any,
    metric: str = "edges",
    target: Any = None,
    *,
    axis: int = 0,
    endpoint: str | None = None,
    exact: bool | None = False,
) -> np.ndarray:
    """A 1-D profile of the contribution map (``exact`` as in :func:`contribution_map`).

    For a 1-D network this is the map itself.  For 2-D/3-D networks it is the
    line of the map along ``axis`` through the pixel with the largest value.

    >>> import rfgraph as rf
    >>> rf.profile(rf.Sequential(*[rf.Conv(3)] * 5), (15,))[2:13].tolist()
    [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
    """
    values = contribution_map(network, input_shape, metric, target, endpoint=endpoint, exact=exact)
    if isinstance(target, list) or (isinstance(target, np.ndarray) and target.ndim == 2):
        raise RFGraphError("profile takes one target (or 'all'); call it once per target")
    if values.ndim == 1:
        return values
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool) or not -values.ndim <= axis < values.ndim:
        raise RFGraphError(f"axis={axis!r} is out of range for a {values.ndim}-D map; use an int 0..{values.ndim - 1}")
    peak = list(np.unravel_index(int(np.argmax(values)), values.shape))
    peak[axis] = slice(None)  # type: ignore[call-overload]
    return values[tuple(peak)]
