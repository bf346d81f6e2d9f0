"""The unrolled graph as an explicit :class:`networkx.DiGraph`, for teaching and testing.

Nodes are ``(layer_index, *position)``; node attributes ``layer`` (the tensor
index), ``op`` (the tensor's name) and ``kind`` (the op type).  Edges follow SPEC
section 3.  The fast engine never builds this graph.

>>> import rfgraph as rf
>>> g = rf.to_networkx(rf.Sequential(rf.Conv(3), rf.Conv(3)), (5,))
>>> g.number_of_nodes(), g.number_of_edges()
(9, 12)
>>> sorted(g.predecessors((2, 0)))
[(1, 0), (1, 1), (1, 2)]
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx

from ..errors import RFGraphError
from ..ops import Op
from ..plan import Plan, build_plan

__all__ = ["to_networkx", "plan_to_networkx", "MAX_GRAPH_NODES"]

MAX_GRAPH_NODES = 200_000
"""networkx needs roughly 1 KiB per node and edge; larger graphs are refused."""


def plan_to_networkx(plan: Plan, max_nodes: int = MAX_GRAPH_NODES) -> nx.DiGraph:
    """:func:`to_networkx` for an already-built plan."""
    if plan.num_nodes > max_nodes or plan.num_edges > 8 * max_nodes:
        raise RFGraphError(
            f"the unrolled graph has {plan.num_nodes:,} nodes and {plan.num_edges:,} edges, above the "
            f"limit of {max_nodes:,} nodes for networkx; use a smaller input_shape, pass max_nodes=..., "
            "or use rf.contribution_map, which never builds the graph"
        )
    graph = nx.DiGraph()
    for t in plan.tensors:
        for pos in itertools.product(*(range(n) for n in t.shape)):
            graph.add_node((t.index, *pos), layer=t.index, op=t.name, kind=t.kind)
        for link in t.links:
            per_axis = [[(o, int(i)) for o in range(m.n_out) for i in m.inputs_of(o)] for m in link.maps]
            for combo in itertools.product(*per_axis):
                dst = tuple(o for o, _ in combo)
                src = tuple(i for _, i in combo)
                graph.add_edge((link.source, *src), (t.index, *dst))
    return graph


def to_networkx(
    network: Op, input_shape: Any, *, endpoint: str | None = None, max_nodes: int = MAX_GRAPH_NODES
) -> nx.DiGraph:
    """The explicit unrolled graph of ``network`` for ``input_shape``.

    Parameters
    ----------
    network : Op
    input_shape : tuple of int
    endpoint : str, optional
        Stop at this named tensor.
    max_nodes : int
        Refuse (with :class:`~rfgraph.RFGraphError`) above this many nodes.
    """
    return plan_to_networkx(build_plan(network, input_shape, endpoint), max_nodes)
