"""Static shapes and constants of an ONNX graph, for the importer (a mixin of it).

ONNX shape inference runs once over the whole graph with the input size fixed.  Unoptimised
exports compute reshape targets, ``chunk`` bounds and class-token expansions with shape
arithmetic (``Shape``, ``Gather``, ``Mod``, ``Where``, ...) that ONNX's data propagation does
not always follow; the importer folds that arithmetic itself (``Shape`` of a tensor whose
shape is known becomes a constant) and, node by node, infers the shapes ONNX missed from
the shapes and constants known so far, so that every later node has its shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._onnx_fold import FOLD_SIZE, fold_values

__all__: list[str] = []


def _known(shape: tuple[int, ...] | None) -> bool:
    return shape is not None and all(shape)


class _OnnxShapes:
    """Needs ``onnx``, ``model``, ``graph``, ``input``, ``shape``, ``channels``, ``consts``,
    ``numpy_helper`` and ``const``/``_attrs`` of the importer."""

    onnx: Any
    model: Any
    graph: Any
    input: Any
    shape: tuple[int, ...]
    channels: int | None
    consts: dict[str, Any]
    numpy_helper: Any
    inferred: dict[str, tuple[int, ...]]
    types: dict[str, int]

    def const(self, name: str) -> Any:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def _attrs(self, node: Any) -> dict[str, Any]:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def _guess_channels(self) -> int | None:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def _infer(self) -> dict[str, tuple[int, ...]]:
        """Static shapes from ONNX shape inference with the input fixed (best effort)."""
        onnx = self.onnx
        model = onnx.ModelProto()
        model.CopyFrom(self.model) if not self.model.graph.initializer else self._light_copy(model)
        graph_input = next(i for i in model.graph.input if i.name == self.input.name)
        dims = graph_input.type.tensor_type.shape.dim
        wanted = [1, self.channels or self._guess_channels(), *self.shape]
        if len(dims) == len(wanted):
            for d, v in zip(dims, wanted, strict=True):
                if v:
                    d.Clear()
                    d.dim_value = v
        self.types = {i.name: i.data_type for i in self.graph.initializer}
        self.types[self.input.name] = graph_input.type.tensor_type.elem_type
        shapes: dict[str, tuple[int, ...]] = {}
        if all(wanted):  # the graph input (a Reshape or Shape may read it directly)
            shapes[self.input.name] = tuple(int(n) for n in wanted if n)
        try:
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception:  # noqa: BLE001 - inference is only a cross-check
            return shapes
        for info in [*model.graph.value_info, *model.graph.output]:
            tensor = info.type.tensor_type
            if tensor.elem_type:
                self.types[info.name] = tensor.elem_type
            if tensor.HasField("shape"):
                shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in tensor.shape.dim)
        return shapes

    def _light_copy(self, model: Any) -> Any:
        """The model without the data of large initializers (weights become typed graph inputs)."""
        onnx = self.onnx
        graph = self.model.graph
        model.CopyFrom(self.model)
        del model.graph.initializer[:]
        names = {i.name for i in model.graph.input}
        for init in graph.initializer:
            if math.prod(init.dims) <= 64:
                model.graph.initializer.append(init)
            elif init.name not in names:
                model.graph.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        return model

    def refine(self, node: Any) -> None:
        """Infer the shapes of ``node``'s outputs that whole-graph inference missed, from the shapes of its
        inputs and the constants folded so far (the data ONNX's propagation could not follow)."""
        if all(_known(self.inferred.get(o)) for o in node.output if o):
            return
        onnx = self.onnx
        types, data = {}, {}
        for name in (i for i in node.input if i):
            value = self.const(name)
            shape = tuple(np.shape(value)) if value is not None else self.inferred.get(name)
            elem = self.types.get(name)
            if value is not None:
                elem = onnx.helper.np_dtype_to_tensor_dtype(np.asarray(value).dtype)
                if np.size(value) <= FOLD_SIZE:
                    data[name] = self.numpy_helper.from_array(np.asarray(value), name)
            if not _known(shape) or not elem:
                return
            types[name] = onnx.helper.make_tensor_type_proto(elem, list(shape or ()))
        try:
            version = next((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), None)
            schema = onnx.defs.get_schema(node.op_type, version or onnx.defs.onnx_opset_version(), node.domain)
            outputs = onnx.shape_inference.infer_node_outputs(
                schema, node, types, data, opset_imports=list(self.model.opset_import)
            )
        except Exception:  # noqa: BLE001 - best effort, as whole-graph inference
            return
        for name, proto in outputs.items():
            tensor = proto.tensor_type
            if tensor.elem_type:
                self.types[name] = tensor.elem_type
            if tensor.HasField("shape"):
                shape = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in tensor.shape.dim)
                if _known(shape) or not _known(self.inferred.get(name)):
                    self.inferred[name] = shape

    def constant(self, node: Any) -> None:
        """Record the value of a ``Constant`` node."""
        attrs = self._attrs(node)
        if "value" in attrs:
            self.consts[node.output[0]] = self.numpy_helper.to_array(attrs["value"])
        for key in ("value_int", "value_ints", "value_float", "value_floats"):
            if key in attrs:
                self.consts[node.output[0]] = np.asarray(attrs[key])

    def fold(self, node: Any) -> bool:
        """Evaluate shape arithmetic on constants (unoptimised exports compute axes and shapes this way)."""
        attrs = self._attrs(node)
        op = node.op_type
        if op in ("Shape", "Size") and node.input:
            return self.fold_shape(node, attrs)
        values = [self.const(i) if i else None for i in node.input]
        if not node.input or any(v is None for v, i in zip(values, node.input, strict=True) if i):
            return False
        if "value" in attrs and op == "ConstantOfShape":
            attrs["value"] = self.numpy_helper.to_array(attrs["value"])
        try:
            out = fold_values(op, values, attrs)
        except (ValueError, IndexError, TypeError):
            return False
        if out is None:
            return False
        self.consts[node.output[0]] = np.asarray(out)
        return True

    def fold_shape(self, node: Any, attrs: dict[str, Any]) -> bool:
        """``Shape``/``Size`` of a tensor whose static shape is known: a constant (exporters compute
        reshape targets and ``chunk`` bounds from it)."""
        name = node.input[0]
        full = self.inferred.get(name)
        if full is None and self.const(name) is not None:
            full = np.shape(self.const(name))
        if full is None or not all(full):
            return False
        if node.op_type == "Size":
            self.consts[node.output[0]] = np.asarray(math.prod(full), dtype=np.int64)
            return True
        start, end = attrs.get("start", 0), attrs.get("end")
        self.consts[node.output[0]] = np.asarray(full[slice(start, end)], dtype=np.int64)
        return True
