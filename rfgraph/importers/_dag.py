"""A tensor DAG gathered by an importer, turned into an rfgraph network.

The torch and ONNX importers walk a computation graph in topological order and
record, for every tensor that rfgraph keeps (see SPEC section 3), the leaf op
that makes it or the merge that joins several earlier tensors.  Pointwise
operations make no tensor: the importer maps their output onto their input.

:meth:`Dag.network` names the tensors and emits one flat :class:`~rfgraph.ops.Sequential`.
A chain stays a chain; any other input is reached with :class:`~rfgraph.ops.Ref`,
so every DAG is expressed exactly, shared tensors included (DenseNet), with no
op duplicated.  Names follow module paths:

* a tensor that is the output of module ``P`` (the last tensor made inside
  ``P``'s forward) is called ``P`` -- a ``Conv2d`` at ``layer1.0.conv1``, the
  residual ``add`` of ``layer1.0``, the ``cat`` of ``Mixed_5b``;
* any other tensor made inside ``P`` is called ``P.<function>`` (``Mixed_5b.avg_pool2d``,
  then ``..._1``, ``..._2`` for repeats);
* every module whose output is a kept tensor of another name gets an alias
  (``layer4`` for ``layer4.2``), so end-points can be asked for by module path.

>>> from rfgraph.ops import Conv
>>> dag = Dag((8,))
>>> a = dag.leaf(Conv(3, padding=1), 0, ["block", "block.conv"], "conv")
>>> b = dag.merge("add", [0, a], ["block"], "add")
>>> dag.network(b)
Sequential(Conv(3, padding=1, name='block.conv'), Add(Ref('input'), Ref('block.conv'), name='block'))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import RFGraphError
from ..geometry import limits, resolve
from ..ops import Add, Concat, Identity, Op, Ref, Sequential, Upsample

__all__ = ["Dag", "DagNode"]


@dataclass
class DagNode:
    """One kept tensor: the input (``op`` None, no sources), a leaf op, or a merge."""

    index: int
    op: Op | None
    merge: str | None
    sources: tuple[int, ...]
    shape: tuple[int, ...]
    scope: str = ""
    base: str = ""
    axis: int | None = None
    name: str = field(default="")

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class Dag:
    """Collects kept tensors in topological order (index 0 is the input)."""

    def __init__(self, input_shape: Sequence[int]) -> None:
        self.nodes: list[DagNode] = [DagNode(0, None, None, (), tuple(input_shape), name="input")]
        self.module_output: dict[str, int] = {}

    @property
    def ndim(self) -> int:
        return len(self.nodes[0].shape)

    def shape(self, index: int) -> tuple[int, ...]:
        return self.nodes[index].shape

    def leaf(self, op: Op, source: int, scopes: Sequence[str], base: str) -> int:
        """Apply leaf ``op`` to tensor ``source``; ``scopes`` lists the enclosing modules, outermost first."""
        scope = scopes[-1] if scopes else ""
        where = f"{type(op).__name__} made by {base!r} in {scope or 'the top-level module'!r}"
        # The caps of rfgraph.geometry.limits, before resolve allocates arrays proportional to kernel and input.
        limits.check_op_params(op, where)
        limits.check_pairs(op, self.nodes[source].shape, where)
        geometry = resolve(op, self.nodes[source].shape, where)
        index = len(self.nodes)
        self.nodes.append(DagNode(index, op, None, (source,), geometry.out_shape, scope, base))
        self.note(scopes, index)
        return index

    def merge(
        self, kind: str, sources: Sequence[int], scopes: Sequence[str], base: str, axis: int | None = None
    ) -> int:
        """Join ``sources`` (``kind`` is ``"add"`` or ``"concat"``, along spatial ``axis`` if given);
        one distinct source is no merge."""
        if axis is not None:
            return self._spatial_concat(sources, scopes, base, axis)
        distinct = list(dict.fromkeys(sources))
        scope = scopes[-1] if scopes else ""
        if len(distinct) == 1:
            self.note(scopes, distinct[0])
            return distinct[0]
        shapes = [self.nodes[s].shape for s in distinct]
        if len(set(shapes)) > 1:
            full = tuple(max(sizes) for sizes in zip(*shapes, strict=True))
            if any(n not in (1, m) for sh in shapes for n, m in zip(sh, full, strict=True)):
                listed = "; ".join(f"{self.describe(s)}: {sh}" for s, sh in zip(distinct, shapes, strict=True))
                raise RFGraphError(
                    f"{base!r} in {scope or 'the top-level module'!r} joins tensors of different spatial shapes "
                    f"({listed}) that do not broadcast (a branch may have size 1 on an axis, as in "
                    "squeeze-and-excitation, or the size of the others)"
                )
            if kind == "concat":
                distinct = [self.broadcast(s, full, scopes, base) for s in distinct]
            shapes = [full] * len(distinct)  # an Add broadcasts natively (SPEC section 3)
        index = len(self.nodes)
        self.nodes.append(DagNode(index, None, kind, tuple(distinct), shapes[0], scope, base))
        self.note(scopes, index)
        return index

    def _spatial_concat(self, sources: Sequence[int], scopes: Sequence[str], base: str, axis: int) -> int:
        shapes = [self.nodes[s].shape for s in sources]
        shape = list(shapes[0])
        shape[axis] = sum(sh[axis] for sh in shapes)
        scope = scopes[-1] if scopes else ""
        index = len(self.nodes)
        self.nodes.append(DagNode(index, None, "concat", tuple(sources), tuple(shape), scope, base, axis=axis))
        self.note(scopes, index)
        return index

    def broadcast(self, source: int, full: tuple[int, ...], scopes: Sequence[str], base: str) -> int:
        """``source`` with its size-1 axes repeated to ``full`` (nearest upsampling: one edge from its
        one node to every position), for a channel concatenation of a pooled branch (torch expands it)."""
        shape = self.nodes[source].shape
        if shape == full:
            return source
        factors = tuple(m if n == 1 else 1 for n, m in zip(shape, full, strict=True))
        scale = factors[0] if len(set(factors)) == 1 else factors
        return self.leaf(Upsample(scale), source, scopes, f"{base}.broadcast")

    def describe(self, index: int) -> str:
        """A tensor as the user knows it before names are final: the input, or what made it where."""
        node = self.nodes[index]
        if index == 0:
            return "the input"
        return f"{node.base} in {node.scope!r}" if node.scope else f"{node.base} (top level)"

    def note(self, scopes: Sequence[str], index: int) -> None:
        """Record that the latest tensor made inside each of ``scopes`` is ``index``."""
        for s in scopes:
            if s:
                self.module_output[s] = index

    def forget(self, scopes: Sequence[str]) -> None:
        """The latest tensor made inside ``scopes`` is not in grid order (window-partitioned): until a
        later one is, those modules have no end-point."""
        for s in scopes:
            self.module_output.pop(s, None)

    def _ancestors(self, output: int) -> list[int]:
        keep = {output}
        for node in reversed(self.nodes[: output + 1]):
            if node.index in keep:
                keep.update(node.sources)
        return sorted(keep)

    def _assign_names(self, keep: list[int]) -> None:
        used = {"input"}
        for i in keep[1:]:
            node = self.nodes[i]
            scope = node.scope
            if scope and self.module_output.get(scope) == i and scope not in used:
                name = scope
            else:
                stem = f"{scope}.{node.base}" if scope else node.base
                name, k = stem, 1
                while name in used:
                    name, k = f"{stem}_{k}", k + 1
            used.add(name)
            node.name = name

    def network(self, output: int) -> Sequential:
        """One flat Sequential computing tensor ``output`` (see the module docstring)."""
        keep = self._ancestors(output)
        self._assign_names(keep)
        names = {self.nodes[i].name for i in keep}
        kept = set(keep)
        aliases: dict[int, list[str]] = {}
        for module, index in self.module_output.items():
            if index in kept and module not in names:
                aliases.setdefault(index, []).append(module)
        ops: list[Op] = [Identity(name=a) for a in aliases.get(0, [])]
        cursor = 0
        for i in keep[1:]:
            node = self.nodes[i]
            if node.merge is not None:
                refs = [Ref(self.nodes[s].name) for s in node.sources]
                if node.merge == "add":
                    ops.append(Add(*refs, name=node.name))
                else:
                    ops.append(Concat(*refs, axis=node.axis, name=node.name))
            else:
                assert node.op is not None
                (source,) = node.sources
                if source != cursor:
                    ops.append(Ref(self.nodes[source].name))
                ops.append(dataclasses.replace(node.op, name=node.name))
            cursor = i
            ops.extend(Identity(name=a) for a in aliases.get(i, []))
        if cursor != output:
            ops.append(Ref(self.nodes[output].name))
        return Sequential(*ops)
