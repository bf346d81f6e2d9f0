"""The unrolled plan: a network resolved against an input shape (SPEC section 3).

A :class:`Plan` lists tensors in topological order (``tensors[0]`` is the input,
``tensors[-1]`` the output or the chosen end-point).  Each tensor knows the
:class:`Link`\\ s that feed it; a link's edge set is the product of its per-axis
:class:`~rfgraph.geometry.AxisMap`\\ s.  Plans are immutable and cached, so that
the receptive-field table, the engine and the graph export share one resolution.

>>> import rfgraph as rf
>>> plan = build_plan(rf.Sequential(rf.Conv(3), rf.Pool(2)), (8,))
>>> [(t.name, t.shape) for t in plan.tensors]
[('input', (8,)), ('conv1', (6,)), ('pool1', (3,))]
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import RFGraphError
from .geometry import MAX_AXIS, MAX_NDIM, AxisMap, Geometry, limits, resolve
from .geometry.index import broadcast_axis, offset_axis
from .ops import Identity, Op, Ref, Residual, Sequential, _Merge
from .ops.base import stated_rank

__all__ = ["Link", "Tensor", "Plan", "build_plan", "normalize_shape", "MAX_NDIM", "MAX_AXIS"]


@dataclass(frozen=True, eq=False)
class Link:
    """Edges from tensor ``source`` into the tensor that owns the link."""

    source: int
    maps: tuple[AxisMap, ...]

    @property
    def nnz(self) -> int:
        """Number of edges (product of the per-axis edge counts)."""
        total = 1
        for m in self.maps:
            total *= m.nnz
        return total


@dataclass(frozen=True, eq=False)
class Tensor:
    """One tensor of the unrolled network: a layer of graph nodes."""

    index: int
    name: str
    shape: tuple[int, ...]
    op: Op | None
    links: tuple[Link, ...] = ()
    geometry: Geometry | None = None

    @property
    def size(self) -> int:
        total = 1
        for n in self.shape:
            total *= n
        return total

    @property
    def kind(self) -> str:
        return "input" if self.op is None else type(self.op).__name__


@dataclass(frozen=True, eq=False)
class Plan:
    """A network unrolled against an input shape."""

    network: Op
    input_shape: tuple[int, ...]
    tensors: tuple[Tensor, ...]
    endpoints: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def ndim(self) -> int:
        return len(self.input_shape)

    @property
    def output(self) -> Tensor:
        return self.tensors[-1]

    @property
    def consumers(self) -> tuple[tuple[tuple[int, Link], ...], ...]:
        """For each tensor, the ``(destination, link)`` pairs that read it."""
        return _consumers(self)

    def tensor(self, name: str) -> Tensor:
        """The tensor called ``name`` (an op name or a container alias)."""
        try:
            return self.tensors[self.endpoints[name]]
        except KeyError:
            raise RFGraphError(_unknown_endpoint(name, self.endpoints)) from None

    @property
    def num_nodes(self) -> int:
        return sum(t.size for t in self.tensors)

    @property
    def num_edges(self) -> int:
        return sum(link.nnz for t in self.tensors for link in t.links)


@lru_cache(maxsize=64)
def _consumers(plan: Plan) -> tuple[tuple[tuple[int, Link], ...], ...]:
    out: list[list[tuple[int, Link]]] = [[] for _ in plan.tensors]
    for t in plan.tensors:
        for link in t.links:
            out[link.source].append((t.index, link))
    return tuple(tuple(c) for c in out)


def _unknown_endpoint(name: str, endpoints: Any) -> str:
    names = list(endpoints)
    shown = ", ".join(names[:25]) + (", ..." if len(names) > 25 else "")
    return f"end-point {name!r} is not a tensor of this network; choose one of: {shown}"


def normalize_shape(input_shape: Any) -> tuple[int, ...]:
    """Check an input shape: 1 to 3 positive ints (an int means one axis).

    Every NumPy integer form is accepted (scalars, 0-d and 1-D arrays); floats,
    booleans and strings are refused.

    >>> normalize_shape(np.array([15, 16]))
    (15, 16)
    """
    hint = (
        f"must hold 1 to {MAX_NDIM} positive ints (spatial sizes only, one per axis, no batch or channel), "
        "e.g. (224, 224)"
    )
    if not isinstance(input_shape, list | tuple | numbers.Integral | np.ndarray | str | bytes):
        try:
            input_shape = tuple(input_shape)
        except TypeError:
            raise RFGraphError(
                f"input_shape={input_shape!r} must be a tuple of spatial sizes, e.g. (224, 224)"
            ) from None
    try:
        shape = limits.as_position(input_shape, "input_shape")
    except RFGraphError as err:
        raise RFGraphError(f"{err}; input_shape {hint}") from None
    if not 1 <= len(shape) <= MAX_NDIM or any(n < 1 for n in shape):
        raise RFGraphError(f"input_shape={input_shape!r} {hint}")
    if any(n > MAX_AXIS for n in shape):
        raise RFGraphError(
            f"input_shape={input_shape!r}: rfgraph handles at most {MAX_AXIS:,} positions per axis; use a smaller input"
        )
    return shape


class _Builder:
    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self.tensors: list[Tensor] = []
        self.endpoints: dict[str, int] = {}
        self.explicit: set[str] = set()
        self.entries = 0

    def charge(self, entries: int, where: str) -> None:
        """Count index pairs held by the plan's maps; refuse past :data:`rfgraph.geometry.limits.MAX_PLAN_ENTRIES`."""
        self.entries += entries
        if self.entries > limits.MAX_PLAN_ENTRIES:
            raise RFGraphError(
                f"{where}: the unrolled network needs more than {limits.MAX_PLAN_ENTRIES:,} index pairs in its "
                "per-axis maps (about 8 bytes each, several copies while building); use a smaller input or "
                "fewer layers (or raise rfgraph.geometry.limits.MAX_PLAN_ENTRIES)"
            )

    def add_tensor(
        self,
        name: str,
        shape: tuple[int, ...],
        op: Op | None,
        links: tuple[Link, ...],
        geometry: Geometry | None = None,
    ) -> int:
        index = len(self.tensors)
        self.tensors.append(Tensor(index, name, shape, op, links, geometry))
        self.alias(name, index, op)
        return index

    def alias(self, name: str, index: int, op: Op | None) -> None:
        explicit = op is not None and op.name is not None
        if name in self.endpoints and self.endpoints[name] != index:
            if explicit and name in self.explicit:
                raise RFGraphError(f"two different ops are named {name!r}; give every named op a unique name")
            if "." in name and (explicit or name in self.explicit):
                # A dotted name such as 'b.conv1' reads as "conv1 inside b": never let it silently
                # shadow (or be shadowed by) the scoped name of another tensor.
                raise RFGraphError(
                    f"the name {name!r} is used by two different tensors: an op named {name!r} and "
                    f"{name.rsplit('.', 1)[1]!r} inside {name.rsplit('.', 1)[0]!r}; rename one of them"
                )
            if not explicit:
                return
        self.endpoints[name] = index
        if explicit:
            self.explicit.add(name)

    def apply(self, op: Op, src: int, prefix: str, counters: dict[str, int]) -> int:
        if isinstance(op, Identity):
            if op.name is not None:
                self.alias(_join(prefix, op.name), src, op)
            return src
        if isinstance(op, Ref):
            index = self.lookup(op, prefix)
            if op.name is not None:
                self.alias(_join(prefix, op.name), index, op)
            return index
        local = op.name
        if local is None:
            counters[op.kind] = counters.get(op.kind, 0) + 1
            local = f"{op.kind}{counters[op.kind]}"
        full = _join(prefix, local)
        where = f"{type(op).__name__} {full!r} (op {len(self.tensors)} of the network)"
        if isinstance(op, Sequential):
            # An unnamed Sequential is transparent: its ops share the enclosing scope.
            inner_prefix, inner_counters = (full, {}) if op.name is not None else (prefix, counters)
            out = src
            for child in op.ops:
                out = self.apply(child, out, inner_prefix, inner_counters)
            if op.name is not None:
                self.alias(full, out, op)
            return out
        if isinstance(op, _Merge | Residual):
            return self.merge(op, src, full, where)
        # Exact integer checks before resolve allocates arrays proportional to kernel and input.
        limits.check_op_params(op, where)
        estimate = limits.check_pairs(op, self.tensors[src].shape, where)
        self.charge(estimate, where)
        geometry = resolve(op, self.tensors[src].shape, where)
        # Ops the estimate does not know (index ops, resize, ...) are charged what they hold.
        self.charge(max(sum(m.nnz for m in geometry.maps) - estimate, 0), where)
        return self.add_tensor(full, geometry.out_shape, op, (Link(src, geometry.maps),), geometry)

    def lookup(self, op: Ref, prefix: str) -> int:
        """Resolve ``op.target`` from the innermost scope of ``prefix`` outwards."""
        parts = prefix.split(".") if prefix else []
        for k in range(len(parts), -1, -1):
            candidate = _join(".".join(parts[:k]), op.target)
            if candidate in self.endpoints:
                return self.endpoints[candidate]
        names = list(self.endpoints)
        shown = ", ".join(names[-25:])
        raise RFGraphError(
            f"Ref {op.target!r} ({('inside ' + repr(prefix)) if prefix else 'at the top level'}, op {len(self.tensors)} of the network) names no "
            f"tensor built before it; choose an earlier tensor, e.g. one of: {shown}"
        )

    def merge(self, op: Op, src: int, full: str, where: str) -> int:
        branches: Sequence[Op] = op.branches  # type: ignore[attr-defined]
        counters: dict[str, int] = {}
        outs = [self.apply(b, src, full, counters) for b in branches]
        shapes = [self.tensors[o].shape for o in outs]
        axis = getattr(op, "axis", None)
        if axis is not None:
            return self.spatial_concat(op, outs, shapes, axis, full, where)
        if len(set(outs)) < len(outs):
            raise RFGraphError(
                f"{where}: two branches return the same tensor (two Identity branches, or two Refs to one "
                "tensor); keep one of them, since there is at most one edge between two nodes"
            )
        shape = _broadcast_shape(shapes, where)
        self.charge(len(outs) * sum(shape), where)
        links = tuple(
            Link(o, tuple(AxisMap.identity(n) if m == n else broadcast_axis(n) for m, n in zip(s, shape)))
            for o, s in zip(outs, shapes)
        )
        return self.add_tensor(full, shape, op, links)

    def spatial_concat(
        self, op: Op, outs: list[int], shapes: list[tuple[int, ...]], axis: int, full: str, where: str
    ) -> int:
        ndim = self.ndim
        if not -ndim <= axis < ndim:
            raise RFGraphError(
                f"{where}: axis={axis} is not a spatial axis of a {ndim}-axis input; use 0 .. {ndim - 1} "
                "(spatial axes only; axis=None concatenates channels)"
            )
        axis %= ndim
        others = {s[:axis] + s[axis + 1 :] for s in shapes}
        if len(others) > 1:
            listed = "; ".join(f"branch {i}: {s}" for i, s in enumerate(shapes))
            raise RFGraphError(
                f"{where}: concatenating along axis {axis} needs equal sizes on the other axes, got {listed}; "
                "adjust strides or padding so that the branches agree"
            )
        total = sum(s[axis] for s in shapes)
        if total > MAX_AXIS:
            raise RFGraphError(f"{where}: the concatenation has {total:,} positions on axis {axis}, above {MAX_AXIS:,}")
        shape = shapes[0][:axis] + (total,) + shapes[0][axis + 1 :]
        self.charge(len(outs) * sum(shape), where)
        # Each branch fills its own block; a tensor used twice gets one link whose map covers both blocks.
        pairs: dict[int, list[AxisMap]] = {}
        offset = 0
        for o, s in zip(outs, shapes):
            pairs.setdefault(o, []).append(offset_axis(s[axis], total, offset))
            offset += s[axis]
        links = []
        for o, blocks in pairs.items():
            along = blocks[0] if len(blocks) == 1 else AxisMap.union(blocks)
            maps = tuple(along if a == axis else AxisMap.identity(n) for a, n in enumerate(shape))
            links.append(Link(o, maps))
        return self.add_tensor(full, shape, op, tuple(links))


def _broadcast_shape(shapes: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    """NumPy broadcasting of equal-length shapes: per axis, sizes must agree or be 1."""
    shape = []
    for axis in range(len(shapes[0])):
        sizes = {s[axis] for s in shapes}
        big = sizes - {1}
        if len(big) > 1:
            listed = "; ".join(f"branch {i}: {s}" for i, s in enumerate(shapes))
            raise RFGraphError(
                f"{where}: branch outputs must have equal spatial shapes (or size 1 on an axis, which "
                f"broadcasts), got {listed}; adjust strides or padding so that the branches agree"
            )
        shape.append(big.pop() if big else 1)
    return tuple(shape)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _ancestors(tensors: Sequence[Tensor], target: int) -> list[int]:
    keep = {target}
    for t in reversed(tensors[: target + 1]):
        if t.index in keep:
            keep.update(link.source for link in t.links)
    return sorted(keep)


@lru_cache(maxsize=64)
def _build(network: Op, input_shape: tuple[int, ...], endpoint: str | None) -> Plan:
    if not isinstance(network, Op):
        raise RFGraphError(f"network must be an rfgraph op such as rf.Sequential(...), got {type(network).__name__}")
    builder = _Builder(len(input_shape))
    builder.add_tensor("input", input_shape, None, ())
    out = builder.apply(network, 0, "", {})
    endpoints = builder.endpoints
    target = out if endpoint is None else None
    if endpoint is not None:
        if endpoint not in endpoints:
            raise RFGraphError(_unknown_endpoint(endpoint, endpoints))
        target = endpoints[endpoint]
    assert target is not None
    keep = _ancestors(builder.tensors, target)
    renumber = {old: new for new, old in enumerate(keep)}
    tensors = []
    for old in keep:
        t = builder.tensors[old]
        links = tuple(Link(renumber[link.source], link.maps) for link in t.links)
        tensors.append(Tensor(renumber[old], t.name, t.shape, t.op, links, t.geometry))
    kept = {name: renumber[i] for name, i in endpoints.items() if i in renumber}
    if endpoint is not None:
        kept[endpoint] = len(tensors) - 1
    return Plan(network, input_shape, tuple(tensors), MappingProxyType(kept))


def build_plan(network: Op, input_shape: Any, endpoint: str | None = None) -> Plan:
    """Unroll ``network`` against ``input_shape``; stop at ``endpoint`` if given.

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial sizes of the input (1 to 3 axes).
    endpoint : str, optional
        Name of the tensor to treat as the output (an op name or a named container).

    Returns
    -------
    Plan
        Tensors in topological order, restricted to the end-point's ancestors.
    """
    if not isinstance(network, Op):
        raise RFGraphError(
            f"network must be an rfgraph op such as rf.Sequential(...), got {type(network).__name__}; "
            "a list of ops goes inside rf.Sequential(...)"
        )
    if endpoint is not None and not isinstance(endpoint, str):
        raise RFGraphError(f"endpoint={endpoint!r} must be a tensor name (a str) or None")
    # The same network object again (a loop of maps, the page): no walk, no hash of the tree.
    raw = input_shape if type(input_shape) is tuple and all(type(n) is int for n in input_shape) else None
    if raw is not None:
        hit = _BY_ID.get((id(network), raw, endpoint, limits.MAX_OPS, limits.MAX_DEPTH, limits.MAX_PLAN_ENTRIES))
        if hit is not None and hit[0]() is network:
            return hit[1]
    shape = normalize_shape(input_shape)
    key = (id(network), shape, endpoint, limits.MAX_OPS, limits.MAX_DEPTH, limits.MAX_PLAN_ENTRIES)
    hit = _BY_ID.get(key)
    if hit is not None and hit[0]() is network:
        return hit[1]
    # Bounded walk before _build hashes the network (hashing a deep or alias-shared tree recurses).
    limits.check_network(network)
    rank = stated_rank(network)
    if rank is not None and rank[0] != len(shape):
        ndim, why = rank
        example = "(" + ", ".join([str(shape[0])] * ndim) + ("," if ndim == 1 else "") + ")"
        raise RFGraphError(
            f"input_shape {shape} has {len(shape)} size{'s' if len(shape) > 1 else ''}, but {why}: "
            f"give one spatial size per axis, e.g. {example}"
        )
    plan = _build(network, shape, endpoint)
    try:
        ref = weakref.ref(network)
    except TypeError:  # pragma: no cover - every Op supports weak references
        return plan
    if len(_BY_ID) >= 64:
        _BY_ID.pop(next(iter(_BY_ID)))
    _BY_ID[key] = (ref, plan)
    return plan


# Plans by network identity (checked through a weak reference): the front of the plan cache.
_BY_ID: dict[tuple[Any, ...], tuple[weakref.ref[Op], Plan]] = {}
