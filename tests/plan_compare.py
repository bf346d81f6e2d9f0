"""Structural comparison of unrolled plans (the graph, not the op trees that made it).

Two networks are graph-identical for an input shape when their plans hold the same
tensors (spatial shapes) and the same links (source tensor and per-axis CSR edge
lists ``AxisMap.indptr``/``indices``) after topological renumbering.

:func:`canonical_form` renumbers a plan canonically: tensors are sorted by their
depth (longest path from the input) and by a hash of everything upstream and
downstream of them, so two isomorphic plans give equal lists whatever order their
op trees built the tensors in.  (Tensors with equal depth and equal up/downstream
hashes are interchangeable in every graph we compare; a false "different" would need
an automorphism that swaps such tensors asymmetrically.)

:func:`named_form` keys tensors by name instead, for networks meant to agree
name by name (the zoo and ``from_torch``).
"""

from __future__ import annotations

from typing import Any

from rfgraph.plan import Link, Plan


def _maps_key(link: Link) -> tuple[Any, ...]:
    return tuple((m.n_in, m.n_out, m.indptr.tobytes(), m.indices.tobytes()) for m in link.maps)


def _hashes(plan: Plan) -> list[tuple[int, int]]:
    n = len(plan.tensors)
    up: list[int] = [0] * n
    for t in plan.tensors:
        up[t.index] = hash((t.shape, tuple(sorted((up[link.source], _maps_key(link)) for link in t.links))))
    down: list[int] = [0] * n
    consumers = plan.consumers
    for t in reversed(plan.tensors):
        down[t.index] = hash((t.shape, tuple(sorted((down[d], _maps_key(link)) for d, link in consumers[t.index]))))
    return list(zip(up, down, strict=True))


def canonical_form(plan: Plan) -> list[tuple[Any, ...]]:
    """``[(shape, ((source, maps), ...)), ...]`` in a canonical topological order."""
    depth = [0] * len(plan.tensors)
    for t in plan.tensors:
        depth[t.index] = max((depth[link.source] + 1 for link in t.links), default=0)
    keys = _hashes(plan)
    order = sorted(range(len(plan.tensors)), key=lambda i: (depth[i], keys[i]))
    renumber = {old: new for new, old in enumerate(order)}
    out = []
    for old in order:
        t = plan.tensors[old]
        links = tuple(sorted((renumber[link.source], _maps_key(link)) for link in t.links))
        out.append((t.shape, links))
    return out


def plans_equivalent(a: Plan, b: Plan) -> bool:
    """True when the two plans are the same graph up to renumbering."""
    return len(a.tensors) == len(b.tensors) and canonical_form(a) == canonical_form(b)


def named_form(plan: Plan) -> dict[str, tuple[Any, ...]]:
    """``{name: (shape, sorted((source name, maps)))}``."""
    names = [t.name for t in plan.tensors]
    return {
        t.name: (t.shape, tuple(sorted((names[link.source], _maps_key(link)) for link in t.links)))
        for t in plan.tensors
    }


def assert_same_graph(a: Plan, b: Plan, by_name: bool = False) -> None:
    """Assert graph identity; with ``by_name`` the tensor names must agree too (clear diff on failure)."""
    if by_name:
        fa, fb = named_form(a), named_form(b)
        only_a, only_b = sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))
        assert not only_a and not only_b, (
            f"tensor names differ: only in first {only_a[:10]}, only in second {only_b[:10]}"
        )
        bad = [n for n in fa if fa[n] != fb[n]]
        assert not bad, f"tensors differ in shape or links: {bad[:10]}"
    assert plans_equivalent(a, b), "plans are not the same graph"


def without_nested_concats(plan: Plan) -> Plan:
    """The plan with every Concat that only feeds other Concats dissolved into them.

    ONNX exporters flatten ``cat([a, cat([b, c])])`` into one ``Concat(a, b, c)``; this
    brings a torch plan to the same form so that the two can be compared.
    """
    from rfgraph.ops import Concat
    from rfgraph.plan import Tensor

    consumers = plan.consumers
    dissolve = {
        t.index
        for t in plan.tensors
        if isinstance(t.op, Concat)
        and consumers[t.index]
        and all(isinstance(plan.tensors[d].op, Concat) for d, _ in consumers[t.index])
    }

    def sources(link: Link) -> list[Link]:
        if link.source in dissolve:
            return [s for inner in plan.tensors[link.source].links for s in sources(inner)]
        return [link]

    keep = [t for t in plan.tensors if t.index not in dissolve]
    renumber = {t.index: i for i, t in enumerate(keep)}
    tensors = tuple(
        Tensor(
            renumber[t.index],
            t.name,
            t.shape,
            t.op,
            tuple(Link(renumber[s.source], s.maps) for link in t.links for s in sources(link)),
            t.geometry,
        )
        for t in keep
    )
    return Plan(plan.network, plan.input_shape, tensors)
