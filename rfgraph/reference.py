"""The oracle: seed 003's algorithm taken literally on the explicit networkx graph.

For each input node: enumerate every path to the target, count them, and take
the union of their edges.  Exponential in general and meant only for small
networks; the fast engine (:mod:`rfgraph.engine`) is tested against it.

>>> import rfgraph as rf
>>> net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
>>> contribution_map(net, (15,))[2:13]
[5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from .engine import _check_metric, _check_target
from .graph import plan_to_networkx
from .ops import Op
from .plan import build_plan

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


def contribution_map(network: Op, input_shape: Any, metric: str = "edges", target: Any = None,
                     *, endpoint: str | None = None) -> list[Any]:
    """The contribution map as nested Python lists of exact ints (slow, literal)."""
    metric = _check_metric(metric)
    plan = build_plan(network, input_shape, endpoint)
    tgt = (len(plan.tensors) - 1, *_check_target(plan, target))
    graph = plan_to_networkx(plan)
    result = np.zeros(plan.input_shape, dtype=object)
    for pos in np.ndindex(*plan.input_shape):
        paths, edges = paths_and_edges(graph, (0, *pos), tgt)
        result[pos] = paths if metric == "paths" else edges
    return result.tolist()  # type: ignore[no-any-return]
