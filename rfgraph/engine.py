"""Exact contribution maps (SPEC section 4): the fast engine.

For a target node ``t`` and every input pixel ``x``:

* ``paths(x)``: number of directed paths ``x -> t``.  One backward sweep from the
  target; each link is applied axis by axis (:func:`rfgraph._kernels._pull_axis`).
* ``edges(x)``: number of distinct edges on those paths.  An edge ``(u, v)`` is on
  such a path iff ``x`` reaches ``u`` and ``v`` reaches ``t``, so
  ``edges(x) = sum_u [x reaches u] * outdeg_cone(u)``.

Every link's edge set is a product over axes, so "which inputs reach ``u``" and
"which nodes reach ``t``" are unions of products of per-axis sets.  The engine
keeps them in that form (:class:`_Union`), removes terms that other terms
contain and merges terms that differ on one axis only; for a chain, ResNets,
VGG, Inception and U-Nets each union collapses to one product, and every axis
separates: ``edges(x, y) = sum_l e_l(x) * e_l(y)``.  Unions that do not collapse
(e.g. parallel dilated branches) are handled exactly by inclusion-exclusion.
When that would need too many terms, the node-level kernels of
:mod:`rfgraph._kernels` (bitsets over a DAG) take over; both paths are checked
against each other and against :mod:`rfgraph.reference` in the tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._kernels import _compose_rows, _fan_out, _general_cone, _general_edges, _general_paths, _pull_axis
from .errors import RFGraphError
from .geometry import AxisMap
from .ops import Op
from .plan import Plan, build_plan

__all__ = ["contribution_map", "profile", "reach", "plan_contribution_map", "METRICS", "METHODS"]

METRICS = ("edges", "paths")
METHODS = ("auto", "separable", "general")
INT64_MAX = np.iinfo(np.int64).max
# Inclusion-exclusion terms the separable algebra may use before the general kernels take over.
MAX_SEPARABLE_TERMS = 4096
# Python-int work (element additions) that exact=True may do before refusing.
MAX_EXACT_WORK = 20_000_000

Term = tuple[np.ndarray, ...]


# --------------------------------------------------------------------------- validation


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise RFGraphError(f"metric={metric!r} is unknown; choose one of {', '.join(map(repr, METRICS))}")
    return str(metric)


def _check_target(plan: Plan, target: Any) -> tuple[int, ...]:
    shape = plan.output.shape
    if target is None:
        return tuple(n // 2 for n in shape)
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        target = (int(target),)
    if isinstance(target, str) or not isinstance(target, Sequence | np.ndarray):
        raise RFGraphError(f"target={target!r} must be a tuple of {len(shape)} integer indices into {shape}")
    if not all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in target):
        raise RFGraphError(
            f"target={target!r} must hold integer indices into {shape}, e.g. {tuple(n // 2 for n in shape)}"
        )
    t = tuple(int(i) for i in target)
    if len(t) != len(shape) or any(not 0 <= i < n for i, n in zip(t, shape)):
        raise RFGraphError(
            f"target={target!r} is outside the output of {plan.output.name!r}, whose shape is {shape}; "
            f"use indices 0 <= i < n on each axis, e.g. the centre {tuple(n // 2 for n in shape)}"
        )
    return t


def _available_memory() -> int:
    try:
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


# --------------------------------------------------------------------------- unions of products


class _Union:
    """A set of nodes (or of (input, node) pairs) as a union of per-axis products.

    Each term is a tuple of boolean arrays, one per axis; the set is the union
    over terms of the product of the per-axis sets.
    """

    def __init__(self, terms: list[Term]) -> None:
        self.terms = _simplify(terms)

    def __len__(self) -> int:
        return len(self.terms)


def _contains(a: Term, b: Term) -> bool:
    return all(not np.any(y & ~x) for x, y in zip(a, b))


def _simplify(terms: list[Term]) -> list[Term]:
    terms = [t for t in terms if all(x.any() for x in t)]
    changed = True
    while changed and len(terms) > 1:
        changed = False
        out: list[Term] = []
        for t in terms:
            if any(_contains(s, t) for s in out):
                changed = changed or bool(out)
                continue
            merged = False
            for i, s in enumerate(out):
                differ = [a for a in range(len(t)) if not np.array_equal(s[a], t[a])]
                if len(differ) <= 1:
                    if differ:
                        a = differ[0]
                        out[i] = s[:a] + (s[a] | t[a],) + s[a + 1 :]
                    merged = changed = True
                    break
            if not merged:
                out = [s for s in out if not _contains(t, s)] + [t]
        terms = out
    return terms


class _TooManyTerms(Exception):
    pass


def _inclusion_exclusion(terms: list[Term], budget: list[int]) -> list[tuple[int, Term]]:
    """Signed intersections whose signed indicator sum is the union's indicator."""
    out: list[tuple[int, Term]] = []

    def grow(start: int, current: Term | None, sign: int) -> None:
        for j in range(start, len(terms)):
            inter = terms[j] if current is None else tuple(a & b for a, b in zip(current, terms[j]))
            if not all(x.any() for x in inter):
                continue
            out.append((sign, inter))
            budget[0] -= 1
            if budget[0] < 0:
                raise _TooManyTerms
            grow(j + 1, inter, -sign)

    grow(0, None, 1)
    return out


def _cone_unions(plan: Plan, target: tuple[int, ...]) -> list[_Union]:
    """Per tensor, the nodes that reach the target, as unions of products."""
    cones: list[list[Term]] = [[] for _ in plan.tensors]
    last = plan.output
    cones[-1] = [tuple(np.arange(n) == i for n, i in zip(last.shape, target))]
    unions: list[_Union | None] = [None] * len(plan.tensors)
    for t in reversed(plan.tensors):
        union = _Union(cones[t.index])
        unions[t.index] = union
        for link in t.links:
            for term in union.terms:
                pre = tuple(_fan_out(c, m.indptr, m.indices, m.n_in) > 0 for m, c in zip(link.maps, term))
                cones[link.source].append(pre)
    return [u if u is not None else _Union([]) for u in unions]


def _reach_unions(plan: Plan, cones: list[_Union]) -> list[_Union]:
    """Per tensor, the pairs (node, input pixel) joined by a path, as unions of products.

    Each per-axis array has shape ``(n_tensor_axis, n_input_axis)``: row ``u``
    marks the input positions that reach position ``u`` along that axis.
    """
    unions: list[_Union] = []
    for t in plan.tensors:
        if t.op is None:
            unions.append(_Union([tuple(np.eye(n, dtype=bool) for n in t.shape)]))
            continue
        terms: list[Term] = []
        if len(cones[t.index]):
            for link in t.links:
                for term in unions[link.source].terms:
                    terms.append(tuple(_compose_rows(r, m.indptr, m.indices) for r, m in zip(term, link.maps)))
        unions.append(_Union(terms))
    return unions


def _separable_edges(plan: Plan, target: tuple[int, ...]) -> np.ndarray:
    cones = _cone_unions(plan, target)
    reaches = _reach_unions(plan, cones)
    budget = [MAX_SEPARABLE_TERMS]
    signed: dict[int, list[tuple[int, Term]]] = {}
    # Rank-one terms sign * outer(vec_0, vec_1, ...), vec_a indexed by input axis a.
    signs: list[int] = []
    factors: list[list[np.ndarray]] = [[] for _ in range(plan.ndim)]
    for dst in plan.tensors:
        if not len(cones[dst.index]):
            continue
        cone_terms = _inclusion_exclusion(cones[dst.index].terms, budget)
        for link in dst.links:
            if link.source not in signed:
                signed[link.source] = _inclusion_exclusion(reaches[link.source].terms, budget)
            for s1, cone in cone_terms:
                # outdeg into this cone term, per axis: deg[u] = #{v in cone : u -> v}
                degs = [_fan_out(c, m.indptr, m.indices, m.n_in).astype(np.float64) for m, c in zip(link.maps, cone)]
                for s2, reach in signed[link.source]:
                    vecs = [deg @ r for deg, r in zip(degs, reach)]
                    if all(v.any() for v in vecs):
                        signs.append(s1 * s2)
                        for axis, v in enumerate(vecs):
                            factors[axis].append(v)
                        budget[0] -= 1
                        if budget[0] < 0:
                            raise _TooManyTerms
    if not signs:
        return np.zeros(plan.input_shape, dtype=np.int64)
    stacked = [np.stack(f) for f in factors]  # each (terms, n_axis), exact small integers
    bound = sum(int(np.prod([int(m) for m in col], dtype=object)) for col in zip(*(s.max(axis=1) for s in stacked)))
    if bound > INT64_MAX:
        raise RFGraphError(
            f"edge counts of {plan.output.name!r} could exceed int64 (bound {bound}); "
            "use metric='paths' or a smaller input"
        )
    # Every partial sum is at most `bound`; below 2**53 float64 arithmetic is exact.
    dtype = np.float64 if bound < 2**53 else np.int64
    weighted = [np.asarray(signs, dtype=dtype)[:, None] * stacked[0].astype(dtype)]
    weighted += [s.astype(dtype) for s in stacked[1:]]
    letters = "abc"[: plan.ndim]
    result = np.einsum(",".join(f"t{c}" for c in letters) + "->" + letters, *weighted, optimize=True)
    return np.rint(result).astype(np.int64) if dtype is np.float64 else result


def _separable_cost(plan: Plan) -> int:
    """Bytes of the per-axis reach matrices (bool, one term per tensor) plus one float64 copy."""
    sizes = [n_in * n for t in plan.tensors for n_in, n in zip(plan.input_shape, t.shape)]
    return sum(sizes) + 8 * max(sizes)


def _general_cost(plan: Plan) -> int:
    """Bytes of the node-level engine: in-edge CSR plus one bitset over the input pixels per node."""
    words = (plan.tensors[0].size + 63) // 64
    return plan.num_edges * 16 + plan.num_nodes * (16 + 8 * words)


# --------------------------------------------------------------------------- paths


def _paths_sweep(plan: Plan, target: tuple[int, ...], exact: bool) -> np.ndarray:
    dtype: Any = object if exact else np.float64
    grads: list[np.ndarray | None] = [None] * len(plan.tensors)
    seed = np.zeros(plan.output.shape, dtype=dtype)
    seed[target] = 1
    grads[-1] = seed
    for t in reversed(plan.tensors):
        g = grads[t.index]
        if g is None or t.op is None:
            continue
        for link in t.links:
            pulled = g
            for axis, m in enumerate(link.maps):
                pulled = _pull_exact(pulled, axis, m) if exact else _pull(pulled, axis, m)
            src = grads[link.source]
            grads[link.source] = pulled if src is None else src + pulled
    out = grads[0]
    if out is None:  # the target does not depend on the input at all
        return np.zeros(plan.input_shape, dtype=dtype)
    return out


def _pull(g: np.ndarray, axis: int, m: AxisMap) -> np.ndarray:
    shape = g.shape
    pre = int(np.prod(shape[:axis], dtype=np.int64))
    post = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    out = _pull_axis(
        np.ascontiguousarray(g, dtype=np.float64).reshape(pre, shape[axis], post), m.indptr, m.indices, m.n_in
    )
    return out.reshape(shape[:axis] + (m.n_in,) + shape[axis + 1 :])


def _pull_exact(g: np.ndarray, axis: int, m: AxisMap) -> np.ndarray:
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((m.n_in,) + moved.shape[1:], dtype=object)
    out[...] = 0
    for v in range(m.n_out):
        for u in m.inputs_of(v):
            out[u] = out[u] + moved[v]
    return np.moveaxis(out, 0, axis)


def _exact_work(plan: Plan) -> int:
    work = 0
    for t in plan.tensors:
        for link in t.links:
            size = t.size
            for m in link.maps:
                size = size // max(m.n_out, 1) * max(m.nnz, 1)
                work += size
    return work


# --------------------------------------------------------------------------- general kernels


@dataclass(frozen=True, eq=False)
class _NodeGraph:
    """The whole unrolled graph as CSR of in-edges over global node ids."""

    offsets: np.ndarray  # first node id of each tensor
    in_ptr: np.ndarray
    in_src: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.offsets[-1])


def _node_graph(plan: Plan) -> _NodeGraph:
    sizes = [t.size for t in plan.tensors]
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    dst_all, src_all = [], []
    for t in plan.tensors:
        for link in t.links:
            src_shape = plan.tensors[link.source].shape
            dst_idx: np.ndarray = np.zeros(1, dtype=np.int64)
            src_idx: np.ndarray = np.zeros(1, dtype=np.int64)
            for axis, m in enumerate(link.maps):
                rows = np.repeat(np.arange(m.n_out, dtype=np.int64), np.diff(m.indptr))
                dst_idx = (dst_idx[:, None] * t.shape[axis] + rows[None, :]).ravel()
                src_idx = (src_idx[:, None] * src_shape[axis] + m.indices[None, :]).ravel()
            dst_all.append(dst_idx + offsets[t.index])
            src_all.append(src_idx + offsets[link.source])
    dst = np.concatenate(dst_all) if dst_all else np.zeros(0, dtype=np.int64)
    src = np.concatenate(src_all) if src_all else np.zeros(0, dtype=np.int64)
    order = np.argsort(dst, kind="stable")
    in_ptr = np.zeros(offsets[-1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=int(offsets[-1])), out=in_ptr[1:])
    return _NodeGraph(offsets, in_ptr, src[order])


def _general(plan: Plan, target: tuple[int, ...], metric: str) -> np.ndarray:
    n_inputs = plan.tensors[0].size
    words = (n_inputs + 63) // 64
    if metric == "paths":
        _check_memory(plan, plan.num_edges * 16 + plan.num_nodes * 16, "the node-level path count")
    else:
        _check_memory(plan, _general_cost(plan), "this edges map (node-level engine)", power=2)
    graph = _node_graph(plan)
    target_id = int(graph.offsets[-2] + np.ravel_multi_index(target, plan.output.shape))
    if metric == "paths":
        flat = _general_paths(graph.in_ptr, graph.in_src, target_id, graph.n_nodes, n_inputs)
        return flat.reshape(plan.input_shape)
    cone = _general_cone(graph.in_ptr, graph.in_src, target_id, graph.n_nodes)
    flat = _general_edges(graph.in_ptr, graph.in_src, cone, n_inputs, words)
    return flat.reshape(plan.input_shape)


# --------------------------------------------------------------------------- public API


def plan_contribution_map(
    plan: Plan,
    metric: str = "edges",
    target: Any = None,
    *,
    exact: bool = False,
    method: Literal["auto", "separable", "general"] = "auto",
) -> np.ndarray:
    """:func:`contribution_map` for an already-built :class:`~rfgraph.plan.Plan`."""
    metric = _check_metric(metric)
    if method not in METHODS:
        raise RFGraphError(f"method={method!r} is unknown; choose one of {', '.join(map(repr, METHODS))}")
    tgt = _check_target(plan, target)
    if metric == "paths":
        if exact:
            work = _exact_work(plan)
            if work > MAX_EXACT_WORK:
                raise RFGraphError(
                    f"exact path counts for this network need about {work:,} Python-int additions "
                    f"(limit {MAX_EXACT_WORK:,}); use exact=False for float64 counts or a smaller input"
                )
            return _paths_sweep(plan, tgt, exact=True)
        if method == "general":
            return _general(plan, tgt, "paths")
        _check_memory(plan, 2 * 8 * max(t.size for t in plan.tensors) * 3, "the path-count sweep")
        return _paths_sweep(plan, tgt, exact=False)
    if method == "separable" or (method == "auto" and _separable_cost(plan) <= _available_memory() // 2):
        _check_memory(plan, _separable_cost(plan), "this edges map (separable algebra)", power=1)
        try:
            return _separable_edges(plan, tgt)
        except _TooManyTerms:
            if method == "separable":
                raise RFGraphError(
                    f"the separable algebra needs more than {MAX_SEPARABLE_TERMS} terms for this network; "
                    "use method='general' or 'auto'"
                ) from None
    return _general(plan, tgt, "edges")


def contribution_map(
    network: Op,
    input_shape: Any,
    metric: str = "edges",
    target: Any = None,
    *,
    endpoint: str | None = None,
    exact: bool = False,
    method: Literal["auto", "separable", "general"] = "auto",
) -> np.ndarray:
    """Exact per-input-pixel contribution to one target neuron.

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size (1 to 3 axes).
    metric : {"edges", "paths"}
        ``"edges"``: distinct edges on all paths from the pixel to the target
        (seed 003's importance), int64.  ``"paths"``: number of paths, float64
        (exact below 2**53), or Python ints with ``exact=True``.
    target : tuple of int, optional
        Position in the output (or end-point) tensor; default the centre ``n // 2``.
    endpoint : str, optional
        Name of the tensor that holds the target instead of the network output.
    exact : bool
        With ``metric="paths"``, return exact Python ints (object array).
    method : {"auto", "separable", "general"}
        Force one of the two exact algorithms (for testing); results are equal.

    Returns
    -------
    numpy.ndarray
        Shape ``input_shape``; zero where no path reaches the target.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
    >>> rf.contribution_map(net, (15,), "paths").astype(int).tolist()
    [0, 0, 1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1, 0, 0]
    """
    return plan_contribution_map(build_plan(network, input_shape, endpoint), metric, target, exact=exact, method=method)


def reach(network: Op, input_shape: Any, target: Any = None, *, endpoint: str | None = None) -> np.ndarray:
    """The true receptive field: boolean mask of input pixels with a path to the target.

    Unlike the size from :func:`rfgraph.receptive_field`, holes (e.g. from
    dilation) and clipping at the image border are exact.

    >>> import rfgraph as rf
    >>> rf.reach(rf.Sequential(rf.Conv(3), rf.Conv(3, dilation=4)), (11,)).astype(int).tolist()
    [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    """
    plan = build_plan(network, input_shape, endpoint)
    tgt = _check_target(plan, target)
    cone = _cone_unions(plan, tgt)[0]
    mask = np.zeros(plan.input_shape, dtype=bool)
    for term in cone.terms:
        outer = term[0]
        for v in term[1:]:
            outer = np.logical_and.outer(outer, v)
        mask |= outer
    return mask


def profile(
    network: Op,
    input_shape: Any,
    metric: str = "edges",
    target: Any = None,
    *,
    axis: int = 0,
    endpoint: str | None = None,
) -> np.ndarray:
    """A 1-D profile of the contribution map.

    For a 1-D network this is the map itself.  For 2-D/3-D networks it is the
    line of the map along ``axis`` through the pixel with the largest value.

    >>> import rfgraph as rf
    >>> rf.profile(rf.Sequential(*[rf.Conv(3)] * 5), (15,))[2:13].tolist()
    [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
    """
    values = contribution_map(network, input_shape, metric, target, endpoint=endpoint)
    if values.ndim == 1:
        return values
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool) or not -values.ndim <= axis < values.ndim:
        raise RFGraphError(f"axis={axis!r} is out of range for a {values.ndim}-D map; use an int 0..{values.ndim - 1}")
    peak = list(np.unravel_index(int(np.argmax(values)), values.shape))
    peak[axis] = slice(None)  # type: ignore[call-overload]
    return values[tuple(peak)]
