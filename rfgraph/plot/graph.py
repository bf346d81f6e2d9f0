"""The unrolled graph of a small 1-D network, drawn layer by layer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arithmetic import plan_receptive_field
from ..engine import check_target, plan_contribution_map
from ..errors import RFGraphError
from ..ops import Op
from ..plan import build_plan
from ._common import _bare_figure, _check_suffix, _cmap, _fmt_value, _mpl, _new_axes, _save

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["GRAPH_MAX_NODES", "path_edges", "plot_graph", "save_graph_figure"]

GRAPH_MAX_NODES = 600


# --------------------------------------------------------------------------- unrolled graph


def path_edges(
    network: Op,
    input_shape: Any,
    source: Any,
    target: Any = None,
    *,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
) -> list[tuple[Any, Any]]:
    """The distinct edges on all paths from input ``source`` to the target (networkx nodes).

    ``len(path_edges(...))`` equals ``rf.contribution_map(..., metric="edges")[source]``.

    >>> import rfgraph as rf
    >>> len(path_edges(rf.Sequential(*[rf.Conv(3)] * 5), (15,), 7))
    37
    """
    import networkx as nx

    from ..engine.graph import plan_to_networkx

    plan = build_plan(network, input_shape, endpoint)
    graph = plan_to_networkx(plan, max_nodes)
    src = (0, *_check_source(plan.input_shape, source))
    tgt = (len(plan.tensors) - 1, *check_target(plan, target))
    down = nx.descendants(graph, src) | {src}
    cone = nx.ancestors(graph, tgt) | {tgt}
    return [(u, v) for u, v in graph.edges if u in down and v in cone]


def _check_source(shape: tuple[int, ...], source: Any) -> tuple[int, ...]:
    try:
        s = tuple(int(i) for i in np.atleast_1d(source))
    except (TypeError, ValueError):
        raise RFGraphError(f"source={source!r} must be an input position, e.g. 7") from None
    if len(s) != len(shape) or any(not 0 <= i < n for i, n in zip(s, shape, strict=True)):
        raise RFGraphError(f"source={source!r} is outside the input of shape {shape}")
    return s


def plot_graph(
    network: Op,
    input_shape: Any,
    source: int | None = None,
    *,
    target: Any = None,
    ax: Axes | None = None,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
    cmap: str = "YlOrRd",
    values: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw the unrolled graph of a small 1-D network layer by layer (seed 003's figure).

    Layer 0 (the input) is at the bottom, the target layer on top.  Each node sits
    at the centre of its receptive field, so a layer lines up with the pixels it
    sees.  Input pixels are coloured by their ``edges`` contribution (the number
    under each node); nodes that do not reach the target are pale, edges that lie
    on some path to the target are dark.  With ``source``, the edges on the paths
    from that input to the target are drawn in red and counted in the title (the
    count equals ``contribution_map(..., metric="edges")[source]``).  Edges that
    skip layers (identity shortcuts) are drawn as arcs.

    Parameters
    ----------
    network : Op
        A network with one spatial axis.
    input_shape : int or tuple of int
        E.g. ``(15,)``.
    source : int, optional
        The input position whose paths are highlighted.
    target : int or tuple, optional
        Target position in the last layer; default the centre.
    ax : matplotlib Axes, optional
    endpoint : str, optional
        Stop at this named tensor.
    max_nodes : int
        Refuse graphs with more nodes (they are unreadable anyway).
    cmap : str
        Colour map of the input contributions.
    values : bool
        Write the contribution under each input node.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import rfgraph as rf
    >>> ax = plot_graph(rf.Sequential(*[rf.Conv(3)] * 5), (15,), source=4)
    >>> ax.get_title()
    'input 4 → conv5[2]: 15 paths, 24 distinct edges'
    """
    import networkx as nx

    from ..engine.graph import plan_to_networkx

    plan = build_plan(network, input_shape, endpoint)
    if plan.ndim != 1:
        raise RFGraphError(f"plot_graph draws 1-D networks; the input shape {plan.input_shape} has {plan.ndim} axes")
    if plan.num_nodes > max_nodes:
        raise RFGraphError(
            f"the unrolled graph has {plan.num_nodes} nodes, more than max_nodes={max_nodes} can show "
            "legibly; use a smaller input (e.g. --input 15) or pass max_nodes"
        )
    _mpl()
    from matplotlib.colors import Normalize

    tgt = check_target(plan, target)
    graph = plan_to_networkx(plan, max_nodes)
    tnode = (len(plan.tensors) - 1, *tgt)
    edges_map = plan_contribution_map(plan, "edges", tgt)
    paths_map = plan_contribution_map(plan, "paths", tgt)
    records = plan_receptive_field(plan)

    pos: dict[Any, tuple[float, float]] = {}
    n0 = plan.input_shape[0]
    for t, rec in zip(plan.tensors, records, strict=True):
        c, s = rec.center[0], rec.stride[0]
        for o in range(t.shape[0]):
            x = (c + o * float(s)) if c is not None else (o + (n0 - t.shape[0]) / 2)
            pos[(t.index, o)] = (x, float(t.index))

    cone = nx.ancestors(graph, tnode) | {tnode}
    highlight: set[tuple[Any, Any]] = set()
    down: set[Any] = set()
    if source is not None:
        (s0,) = _check_source(plan.input_shape, source)
        src = (0, s0)
        down = nx.descendants(graph, src) | {src}
        highlight = {(u, v) for u, v in graph.edges if u in down and v in cone}

    ax = _new_axes(ax, figsize=(max(6.0, 0.55 * n0), 0.9 * len(plan.tensors) + 1.5))
    groups: dict[str, list[tuple[Any, Any]]] = {"out": [], "cone": [], "path": []}
    for u, v in graph.edges:
        key = "path" if (u, v) in highlight else "cone" if v in cone and u in cone else "out"
        groups[key].append((u, v))
    styles = {"out": ("#d0d0d0", 0.6), "cone": ("#6b6b6b", 1.0), "path": ("#d62728", 2.4)}
    for key in ("out", "cone", "path"):
        straight = [e for e in groups[key] if e[1][0] - e[0][0] == 1]
        skip = [e for e in groups[key] if e not in straight]
        color, width = styles[key]
        if straight:
            nx.draw_networkx_edges(graph, pos, edgelist=straight, ax=ax, edge_color=color, width=width, arrows=False)
        if skip:
            nx.draw_networkx_edges(
                graph,
                pos,
                edgelist=skip,
                ax=ax,
                edge_color=color,
                width=width,
                arrows=True,
                arrowstyle="-",
                connectionstyle="arc3,rad=0.25",
                node_size=0,
            )
    inputs = [(0, i) for i in range(n0)]
    vmax = float(edges_map.max()) if edges_map.max() > 0 else 1.0
    colours = _cmap(cmap)(Normalize(0, vmax)(edges_map))
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=inputs,
        node_color=colours,
        ax=ax,
        node_size=260,
        edgecolors=["#d62728" if n in down else "black" for n in inputs],
        linewidths=1.0,
    )
    others = [n for n in graph.nodes if n[0] > 0 and n != tnode]
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=others,
        ax=ax,
        node_size=120,
        node_color=["white" if n in cone else "#eeeeee" for n in others],
        edgecolors=["#d62728" if n in down and n in cone else "black" if n in cone else "#bbbbbb" for n in others],
        linewidths=1.0,
    )
    nx.draw_networkx_nodes(
        graph, pos, nodelist=[tnode], ax=ax, node_size=300, node_color="#d62728", node_shape="*", edgecolors="black"
    )
    if values:
        for i in range(n0):
            v = edges_map[i]
            ax.text(
                pos[(0, i)][0],
                -0.42,
                _fmt_value(float(v)),
                ha="center",
                va="top",
                fontsize=8,
                color="black" if v else "#999999",
            )
    ax.set_yticks(range(len(plan.tensors)))
    ax.set_yticklabels([t.name for t in plan.tensors])
    ax.tick_params(axis="y", left=False, labelleft=True)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    xs = [p[0] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(-0.9, len(plan.tensors) - 0.5)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        where = f"{plan.output.name}[{', '.join(map(str, tgt))}]"
        if source is not None:
            s0 = int(np.atleast_1d(source)[0])
            title = f"input {s0} → {where}: {_fmt_value(float(paths_map[s0]))} paths, {len(highlight)} distinct edges"
        else:
            n_cone = len(groups["cone"]) + len(groups["path"])
            title = f"{n_cone} edges lie on paths to {where}"
    ax.set_title(title)
    return ax


def save_graph_figure(
    network: Op,
    input_shape: Any,
    path: str | Path,
    *,
    source: int | None = None,
    target: Any = None,
    endpoint: str | None = None,
    max_nodes: int = GRAPH_MAX_NODES,
    dpi: float = 150,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write :func:`plot_graph`'s drawing to ``path``; returns a summary (for ``--json``).

    The summary holds the file, node and edge counts, and with ``source`` the
    number of paths and of distinct edges from it to the target.
    """
    path = Path(path)
    _check_suffix(path, overwrite)
    plan = build_plan(network, input_shape, endpoint)
    if plan.ndim != 1:
        raise RFGraphError(
            f"rfgraph graph draws 1-D networks; give a 1-D input such as --input 15, not {plan.input_shape}"
        )
    n0 = plan.input_shape[0]
    fig = _bare_figure((max(6.0, min(0.55 * n0, 24.0)), 0.9 * len(plan.tensors) + 1.6))
    ax = plot_graph(
        network, input_shape, source, target=target, ax=fig.add_subplot(), endpoint=endpoint, max_nodes=max_nodes
    )
    _save(fig, path, dpi, overwrite)
    tgt = check_target(plan, target)
    summary: dict[str, Any] = {
        "out": str(path),
        "nodes": plan.num_nodes,
        "edges": plan.num_edges,
        "target": list(tgt),
        "title": ax.get_title(),
    }
    if source is not None:
        summary["source"] = int(np.atleast_1d(source)[0])
        summary["paths_from_source"] = int(plan_contribution_map(plan, "paths", tgt)[source])
        summary["edges_from_source"] = int(plan_contribution_map(plan, "edges", tgt)[source])
    return summary
