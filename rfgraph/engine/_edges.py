"""Edges maps: the separable algebra of unions of products, and the node-level engine.

Every link's edge set is a product over axes, so "which inputs reach ``u``" and
"which nodes reach ``t``" are unions of products of per-axis sets.  The algebra
keeps them in that form (:class:`_Union`), removes terms that other terms
contain and merges terms that differ on one axis only; for a chain, ResNets,
VGG, Inception and U-Nets each union collapses to one product, and every axis
separates: ``edges(x, y) = sum_l e_l(x) * e_l(y)``.  Unions that do not collapse
(e.g. parallel dilated branches) are handled exactly by inclusion-exclusion.
When that would need too many terms, the node-level kernels of
:mod:`rfgraph.engine._kernels` (bitsets over a DAG) take over; both are checked
against each other and against :mod:`rfgraph.graph.reference` in the tests.

The engine (:mod:`rfgraph.engine`) crops the plan to the target's field first,
so the per-axis matrices here are sized by the field, not by the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RFGraphError
from ..plan import Plan

__all__ = ["separable_edges", "general_map", "general_cost", "separable_cost", "cone_unions", "TooManyTerms"]

INT64_MAX = np.iinfo(np.int64).max
# Inclusion-exclusion terms the separable algebra may use before the general kernels take over.
MAX_SEPARABLE_TERMS = 4096

Term = tuple[np.ndarray, ...]

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


class TooManyTerms(Exception):
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
                raise TooManyTerms
            grow(j + 1, inter, -sign)

    grow(0, None, 1)
    return out


def cone_unions(plan: Plan, target: tuple[int, ...]) -> list[_Union]:
    """Per tensor, the nodes that reach the target, as unions of products."""
    from ._kernels import _fan_out

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
    from ._kernels import _compose_rows

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


def separable_edges(plan: Plan, target: tuple[int, ...], int64_max: int = INT64_MAX) -> np.ndarray:
    """Edges map by the separable algebra; raises :class:`TooManyTerms` when it would need too many terms."""
    from ._kernels import _fan_out

    cones = cone_unions(plan, target)
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
                            raise TooManyTerms
    if not signs:
        return np.zeros(plan.input_shape, dtype=np.int64)
    stacked = [np.stack(f) for f in factors]  # each (terms, n_axis), exact small integers
    bound = sum(int(np.prod([int(m) for m in col], dtype=object)) for col in zip(*(s.max(axis=1) for s in stacked)))
    if bound > int64_max:
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


def separable_cost(plan: Plan) -> int:
    """Bytes of the separable algebra: per-axis reach matrices (bool, one term per tensor), one
    float64 matrix product, and the result three times (float64 sum, rounded copy, int64)."""
    sizes = [n_in * n for t in plan.tensors for n_in, n in zip(plan.input_shape, t.shape)]
    return sum(sizes) + 8 * max(sizes) + 24 * plan.tensors[0].size


def general_cost(plan: Plan) -> int:
    """Bytes of the node-level engine: edge lists, their sort and CSR (about 56 bytes per edge),
    per-node arrays and one bitset over the input pixels per node."""
    words = (plan.tensors[0].size + 63) // 64
    return plan.num_edges * 56 + plan.num_nodes * (40 + 8 * words)


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


def general_paths_cost(plan: Plan) -> int:
    """Bytes of the node-level path count: in-edge CSR, sort buffers and one float64 per node."""
    return plan.num_edges * 40 + plan.num_nodes * 24


def general_map(plan: Plan, target: tuple[int, ...], metric: str) -> np.ndarray:
    """The node-level engine on the whole unrolled graph (memory checked by the caller)."""
    from ._kernels import _general_cone, _general_edges, _general_paths

    n_inputs = plan.tensors[0].size
    words = (n_inputs + 63) // 64
    graph = _node_graph(plan)
    target_id = int(graph.offsets[-2] + np.ravel_multi_index(target, plan.output.shape))
    if metric == "paths":
        flat = _general_paths(graph.in_ptr, graph.in_src, target_id, graph.n_nodes, n_inputs)
        return flat.reshape(plan.input_shape)
    cone = _general_cone(graph.in_ptr, graph.in_src, target_id, graph.n_nodes)
    flat = _general_edges(graph.in_ptr, graph.in_src, cone, n_inputs, words)
    return flat.reshape(plan.input_shape)


# --------------------------------------------------------------------------- public API


# --------------------------------------------------------------------------- coverage


def coverage_cost(plan: Plan) -> int:
    """Bytes of the per-axis reach relations of every tensor (one term each) and the result."""
    sizes = [n_in * n for t in plan.tensors for n_in, n in zip(plan.input_shape, t.shape)]
    return 2 * sum(sizes) + 24 * plan.tensors[0].size


def separable_coverage(plan: Plan) -> np.ndarray:
    """How many output positions each input pixel reaches, from the per-axis reach relations.

    The relation (output, input) is a union of products; the outputs one input
    reaches are then a union of products of per-axis sets, counted exactly by
    inclusion-exclusion.  Raises :class:`TooManyTerms` when that needs too many terms.
    """
    everything = [_Union([tuple(np.ones(n, dtype=bool) for n in t.shape)]) for t in plan.tensors]
    relation = _reach_unions(plan, everything)[-1]
    terms = _inclusion_exclusion(relation.terms, [MAX_SEPARABLE_TERMS])
    total = np.zeros(plan.input_shape, dtype=np.int64)
    for sign, term in terms:
        outer = np.ones((), dtype=np.int64)
        for rel in term:  # rel: (n_out_axis, n_in_axis); column sums count the outputs per input
            outer = np.multiply.outer(outer, rel.sum(axis=0, dtype=np.int64))
        total += sign * outer
    return total


def general_coverage_cost(plan: Plan) -> int:
    """Bytes of the node-level coverage: edge lists and one bitset over the output nodes per node."""
    words = (plan.output.size + 63) // 64
    return plan.num_edges * 56 + plan.num_nodes * (24 + 8 * words)


def general_coverage(plan: Plan) -> np.ndarray:
    """Node-level coverage: bitsets of the output nodes each node reaches (any DAG)."""
    from ._kernels import _general_coverage

    graph = _node_graph(plan)
    first = int(graph.offsets[-2])
    flat = _general_coverage(graph.in_ptr, graph.in_src, first, graph.n_nodes, plan.tensors[0].size)
    return flat.reshape(plan.input_shape)
