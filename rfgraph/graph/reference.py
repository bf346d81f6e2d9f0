"""The oracle: seed 003's algorithm taken literally on the explicit networkx graph.

``algorithm="enumerate"`` (the default): for each input node, enumerate every
path to the target, count them, and take the union of their edges.  Exponential
in general and meant only for small networks.

``algorithm="sets"``: the same numbers from networkx reachability sets
(an edge ``(u, v)`` is on a path from ``x`` iff ``u`` is ``x`` or a descendant of
``x`` and ``v`` is the target or one of its ancestors; path counts by dynamic
programming over a topological order).  Polynomial, still pure networkx: the
baseline of ``bench/``.  The fast engine (:mod:`rfgraph.engine`) is tested
against both.

>>> import rfgraph as rf
>>> net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
>>> contribution_map(net, (15,))[2:13]
[5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from ..engine import _check_metric, check_target
from ..errors import RFGraphError
from ..ops import Op
from ..plan import build_plan
from . import plan_to_networkx

__all__ = ["contribution_map", "paths_and_edges"]


def paths_and_edges(graph: nx.DiGraph, source: Any, target: Any) -> tuple[int, int]:
    """Number of paths ``source -> target`` and of distinct edges on them (exact ints)."""
    if source == target:
        return 1, 0
    edges: set[tuple[Any, Any]] = set()
    count = 0
    for path in nx.all_simple_edge_paths(graph, source, target):
        count += 1
        edges.update(path)
    return count, len(edges)


def _by_sets(graph: nx.DiGraph, target: Any, metric: str, sources: list[Any]) -> list[int]:
    cone = nx.ancestors(graph, target) | {target}
    if metric == "paths":
        count = dict.fromkeys(graph.nodes, 0)
        count[target] = 1
        for node in reversed(list(nx.topological_sort(graph))):
            if node != target:
                count[node] = sum(count[v] for v in graph.successors(node))
        return [count[x] for x in sources]
    out = []
    for x in sources:
        tails = (nx.descendants(graph, x) | {x}) & cone
        out.append(sum(1 for u in tails for v in graph.successors(u) if v in cone))
    return out


def contribution_map(
    network: Op,
    input_shape: Any,
    metric: str = "edges",
    target: Any = None,
    *,
    endpoint: str | None = None,
    algorithm: str = "enumerate",
    max_nodes: int = 200_000,
) -> list[Any]:
    """The contribution map as nested Python lists of exact ints (slow, literal).

    ``algorithm`` is ``"enumerate"`` (every path, seed 003) or ``"sets"``
    (networkx reachability sets); see the module docstring.
    """
    metric = _check_metric(metric)
    if algorithm not in ("enumerate", "sets"):
        raise RFGraphError(f"algorithm={algorithm!r} is unknown; choose 'enumerate' or 'sets'")
    plan = build_plan(network, input_shape, endpoint)
    tgt = (len(plan.tensors) - 1, *check_target(plan, target))
    graph = plan_to_networkx(plan, max_nodes)
    positions = list(np.ndindex(*plan.input_shape))
    result = np.zeros(plan.input_shape, dtype=object)
    if algorithm == "sets":
        for pos, value in zip(positions, _by_sets(graph, tgt, metric, [(0, *p) for p in positions])):
            result[pos] = value
        return result.tolist()  # type: ignore[no-any-return]
    for pos in positions:
        paths, edges = paths_and_edges(graph, (0, *pos), tgt)
        result[pos] = paths if metric == "paths" else edges
    return result.tolist()  # type: ignore[no-any-return]
