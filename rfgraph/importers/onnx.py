"""Import an ONNX model as an rfgraph network (needs the ``onnx`` extra).

Nodes are read in their (topological) order and mapped like :mod:`rfgraph.importers.torch`:

* ``Conv``, ``ConvTranspose``, ``MaxPool``, ``AveragePool``, ``LpPool`` (explicit
  ``pads`` or ``auto_pad``: ``SAME_UPPER`` is TensorFlow's "same", ``SAME_LOWER``
  puts the extra pixel first, ``VALID``), ``GlobalAveragePool``/``GlobalMaxPool``
  and reductions over every spatial axis (a global pool), ``Resize``/``Upsample``
  by integer factors (nearest, or linear with half-pixel coordinates), ``Slice``
  and negative ``Pad`` (a crop);
* merges: ``Add``, ``Sum``, ``Mul``, ``Sub``, ``Div``, ``Max``, ``Min``, ``Mean`` of two
  input-dependent tensors, ``Concat`` along channels;
* heads: ``Flatten``/``Reshape`` to ``(batch, features)`` then ``Gemm``/``MatMul``
  (a global pool; on a 1x1 tensor a 1x1 convolution);
* pointwise ops (activations, normalisation, dropout, casts, arithmetic with
  constants, channel transposes) make no layer; shape computations are ignored.

Tensor names come from the exporter's module scopes when it records them
(``torch.onnx.export`` names nodes ``/layer1/layer1.0/conv1/Conv`` or stores
``pkg.torch.onnx.name_scopes``), so they read like :func:`rfgraph.from_torch`'s.

>>> import onnx
>>> from onnx import helper, TensorProto
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
>>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
>>> nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
...          helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
...          helper.make_node("MaxPool", ["r"], ["y"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2])]
>>> w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
>>> from_onnx(helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w])))
Sequential(Conv(3, padding=1, name='conv1'), Pool(2, name='pool'))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import limits
from ..errors import RFGraphError
from ..ops import Conv, ConvTranspose, Op
from ..plan import normalize_shape
from ._convert import _T, _c, _Converter, _Flat, _pick_output, _Same
from ._onnx_schema import (
    _AUTO_PADS,
    _MERGES,
    _REDUCE,
    _SHAPE_OPS,
    POINTWISE_OPS,
    _first_line,
    _int_list,
    _load,
    _onnx,
    _scopes,
    _text,
)

__all__ = ["from_onnx", "static_input_shape", "POINTWISE_OPS"]


class _OnnxImporter:
    def __init__(self, onnx: Any, model: Any, shape: tuple[int, ...] | None, identity: Iterable[str]) -> None:
        self.onnx = onnx
        self.model = model
        self.graph = model.graph
        self.identity = frozenset(identity)
        from onnx import numpy_helper

        self.numpy_helper = numpy_helper
        self.initializers = {i.name: i for i in self.graph.initializer}  # converted on demand
        self.consts: dict[str, Any] = {}
        inputs = [i for i in self.graph.input if i.name not in self.initializers]
        if not inputs:
            raise RFGraphError("the ONNX graph has no input")
        self.input = inputs[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in self.input.type.tensor_type.shape.dim]
        if shape is None:
            if len(dims) < 3 or any(d is None or d < 1 for d in dims[2:]):
                raise RFGraphError(
                    f"input {self.input.name!r} has dynamic spatial size {dims[2:]}; "
                    "give input_shape, e.g. from_onnx(path, (224, 224))"
                )
            shape = normalize_shape(tuple(dims[2:]))
        if dims and len(dims) != len(shape) + 2:
            raise RFGraphError(
                f"input {self.input.name!r} has rank {len(dims)}, so input_shape needs "
                f"{len(dims) - 2} spatial sizes, got {shape}"
            )
        self.shape = shape
        self.channels = dims[1] if len(dims) > 1 and dims[1] else None
        self.conv = _Converter(None, shape, ())
        self.inferred = self._infer()
        self.values: dict[str, Any] = {self.input.name: _T(0, len(shape) + 2)}
        self.current: Any = None

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
        try:
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception:  # noqa: BLE001 - inference is only a cross-check
            return {}
        out = {}
        for info in [*model.graph.value_info, *model.graph.output]:
            shape = info.type.tensor_type.shape
            if info.type.tensor_type.HasField("shape"):
                out[info.name] = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in shape.dim)
        return out

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

    def _guess_channels(self) -> int | None:
        for node in self.graph.node:
            if (
                node.op_type == "Conv"
                and len(node.input) > 1
                and node.input[0] == self.input.name
                and node.input[1] in self.initializers
            ):
                dims = self.initializers[node.input[1]].dims
                group = self._attrs(node).get("group", 1)
                if len(dims) > 1 and isinstance(group, int) and 0 < dims[1] * group <= 1 << 20:
                    return int(dims[1] * group)
        return None

    def _attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const(self, name: str) -> Any:
        """The value of a constant input (an initializer, a Constant node or a folded expression), else None."""
        if not name:
            return None
        if name not in self.consts and name in self.initializers:
            init = self.initializers[name]
            if math.prod(init.dims) > limits.MAX_OPS * 100:  # constants we read are axes, shapes, scales
                return None
            try:
                self.consts[name] = self.numpy_helper.to_array(init)
            except Exception as err:  # noqa: BLE001 - dims not matching the data, unknown types
                raise RFGraphError(
                    f"ONNX initializer {name!r} (dims {list(init.dims)}) cannot be read: {_first_line(err)}"
                ) from None
        return self.consts.get(name)

    def fold(self, node: Any) -> bool:
        """Evaluate shape arithmetic on constants (unoptimised exports compute axes and shapes this way)."""
        values = [self.const(i) for i in node.input]
        if not node.input or any(v is None for v in values):
            return False
        attrs = self._attrs(node)
        op = node.op_type
        try:
            if op in ("Identity", "Cast", "CastLike"):
                out = values[0]
            elif op == "Reshape":
                target = [int(d) for d in values[1]]
                target = [values[0].shape[i] if d == 0 else d for i, d in enumerate(target)]
                out = values[0].reshape(target)
            elif op == "Concat":
                out = np.concatenate([np.atleast_1d(v) for v in values], axis=attrs.get("axis", 0))
            elif op in ("Unsqueeze", "Squeeze"):
                axes = attrs.get("axes", values[1] if len(values) > 1 else None)
                func = np.expand_dims if op == "Unsqueeze" else np.squeeze
                out = func(values[0], tuple(int(a) for a in axes)) if axes is not None else np.squeeze(values[0])
            elif op == "Gather":
                out = np.take(values[0], values[1], axis=attrs.get("axis", 0))
            else:
                return False
        except (ValueError, IndexError, TypeError):
            return False
        self.consts[node.output[0]] = np.asarray(out)
        return True

    def run(self, output: Any) -> int:
        try:
            return self._run(output)
        except RFGraphError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError, ZeroDivisionError) as err:
            # A malformed model must never surface as a traceback: name the node being read.
            node = self.current
            where = (
                f"ONNX node {node.name or (node.output[0] if node.output else '?')!r} ({node.op_type})"
                if node
                else "the ONNX graph"
            )
            raise RFGraphError(
                f"{where} is malformed and cannot be imported ({type(err).__name__}: {_first_line(err)}); "
                "check the model with onnx.checker.check_model"
            ) from None

    def _run(self, output: Any) -> int:
        for node in self.graph.node:
            self.current = node
            if node.op_type == "Constant":
                attrs = self._attrs(node)
                if "value" in attrs:
                    self.consts[node.output[0]] = self.numpy_helper.to_array(attrs["value"])
                for key in ("value_int", "value_ints", "value_float", "value_floats"):
                    if key in attrs:
                        self.consts[node.output[0]] = np.asarray(attrs[key])
                continue
            if self.fold(node):
                continue
            result = self.convert(node)
            outs = result if isinstance(result, list) else [result] * len(node.output)
            for name, value in zip(node.output, outs, strict=False):
                self.values[name] = value
                if isinstance(value, _T) and self.inferred.get(name):
                    want = self.inferred[name][-len(self.shape) :]
                    got = self.conv.spatial(value)
                    if all(want) and len(self.inferred[name]) == value.rank and want != got:
                        hint = (
                            f"; {node.op_type} is not pointwise, so identity= cannot ignore it"
                            if node.op_type in self.identity
                            else ""
                        )
                        raise RFGraphError(
                            f"ONNX node {node.name or name!r} ({node.op_type}) outputs spatial shape "
                            f"{want}, but rfgraph computes {got}{hint}"
                        )
            first = outs[0] if outs else None
            if isinstance(first, _T | _Flat):
                scopes = _scopes(node)
                inputs = [self.values.get(i) for i in node.input]
                if any(isinstance(v, _T | _Flat) and v.index == first.index for v in inputs):
                    scopes = scopes[:-1]  # a pointwise op is no end-point of its own
                self.conv.dag.note(scopes, first.index)
        self.current = None
        results = [self.values.get(o.name) for o in self.graph.output]
        if isinstance(output, str):
            names = [o.name for o in self.graph.output]
            if output not in names:
                raise RFGraphError(f"output={output!r} is not an output of the graph; choose one of {names}")
            output = names.index(output)
        return _pick_output(results[0] if len(results) == 1 else results, output)

    def convert(self, node: Any) -> Any:
        c = self.conv
        op = node.op_type
        scopes = _scopes(node)
        base = op.lower()
        label = f"ONNX node {node.name or node.output[0]!r} ({op})"
        inputs = [self.values.get(i) if i else None for i in node.input]
        tensors = [v for v in inputs if isinstance(v, _T | _Flat | _Same)]
        tensors = [v.value if isinstance(v, _Same) else v for v in tensors]
        if not tensors or op in _SHAPE_OPS:
            return None
        x = inputs[0].value if isinstance(inputs[0], _Same) else inputs[0]
        attrs = self._attrs(node)
        if op in self.identity or op in POINTWISE_OPS:
            return x
        if op in ("Softmax", "LogSoftmax", "Hardmax"):
            if isinstance(x, _T):
                c.check_dim(attrs.get("axis", -1), x.rank, scopes, op)
            return x
        if op in _MERGES:
            distinct = list(dict.fromkeys(tensors))
            if len(distinct) == 1:
                return distinct[0]
            maps = [t for t in distinct if isinstance(t, _T)]
            flats = [t for t in distinct if isinstance(t, _Flat)]
            if len(maps) == len(distinct):
                return _T(c.dag.merge("add", [t.index for t in maps], scopes, base), max(t.rank for t in maps))
            if len(flats) == len(distinct):
                return _Flat(c.dag.merge("add", [t.index for t in flats], scopes, base))
            raise RFGraphError(f"{label} combines a flattened tensor with a feature map")
        if op == "Concat":
            if len(tensors) != len([i for i in node.input if i]):
                raise RFGraphError(f"{label} concatenates constants with feature maps; not supported")
            maps = [t for t in tensors if isinstance(t, _T)]
            flats = [t for t in tensors if isinstance(t, _Flat) and math.prod(c.spatial(t)) == 1]
            if len(maps) == len(tensors):
                rank = maps[0].rank
                if attrs.get("axis", 0) % rank in c.spatial_dims(rank):
                    raise RFGraphError(f"{label} concatenates along a spatial axis; not supported")
                return _T(c.dag.merge("concat", [t.index for t in maps], scopes, base), rank)
            if len(flats) == len(tensors):
                return _Flat(c.dag.merge("concat", [t.index for t in flats], scopes, base))
            raise RFGraphError(f"{label} concatenates flattened feature maps; not supported")
        if op in ("Gemm", "MatMul"):
            return c.linear(x, scopes, base)
        if isinstance(x, _Flat):
            if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose"):
                return x
            raise RFGraphError(f"{label} is applied to a flattened tensor; not supported")
        if not isinstance(x, _T):
            return None
        if op in ("Conv", "ConvTranspose"):
            return self.conv_op(node, x, attrs, scopes, base, label)
        if op in ("MaxPool", "AveragePool", "LpPool"):
            return self.pool(node, x, attrs, scopes, base, label)
        if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
            return c.reduce(x, list(c.spatial_dims(x.rank)), True, scopes, base)
        if op in _REDUCE:
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1 and node.input[1]:
                axes = self.const(node.input[1])
                if axes is None:
                    raise RFGraphError(f"{label}: the reduced axes are not constant")
                axes = [int(a) for a in axes]
            if axes is None and attrs.get("noop_with_empty_axes", 0):
                return x
            return c.reduce(x, axes, bool(attrs.get("keepdims", 1)), scopes, base)
        if op in ("Resize", "Upsample"):
            return self.resize(node, x, attrs, scopes, base, label)
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            return self.reshape(node, x, attrs, scopes, base, label)
        if op == "Transpose":
            perm = attrs.get("perm", list(reversed(range(x.rank))))
            if any(p != i for i, p in enumerate(perm) if i in c.spatial_dims(x.rank)):
                raise RFGraphError(f"{label} moves spatial axes (channels-last layouts are not supported)")
            return x
        if op == "Slice":
            return self.slice(node, x, scopes, base, label)
        if op == "Pad":
            return self.pad(node, x, attrs, scopes, base, label)
        if op == "Split":
            if attrs.get("axis", 0) % x.rank in c.spatial_dims(x.rank):
                raise RFGraphError(f"{label} splits a spatial axis; not supported")
            return [x] * len(node.output)
        raise RFGraphError(
            f"{label} is not supported; if it acts position by position, pass identity=({op!r},) to treat it as a no-op"
        )

    # -- op details -------------------------------------------------------------------------
    def _padding(
        self,
        attrs: dict[str, Any],
        kernel: tuple[int, ...],
        strides: tuple[int, ...],
        dilations: tuple[int, ...],
        x: _T,
        label: str,
    ) -> Any:
        auto = _text(attrs.get("auto_pad", b"NOTSET"), "auto_pad", _AUTO_PADS, label)
        nd = len(kernel)
        if auto != "NOTSET" and "pads" in attrs:
            raise RFGraphError(f"{label}: both auto_pad={auto} and pads are given; ONNX allows only one")
        if auto == "VALID":
            return 0
        if auto == "SAME_UPPER":
            return "same"
        if auto == "SAME_LOWER":
            pairs = []
            for n, k, s, d in zip(self.conv.spatial(x), kernel, strides, dilations, strict=True):
                total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
                pairs.append((total - total // 2, total // 2))
            return tuple(pairs)
        pads = _int_list(attrs.get("pads", [0] * (2 * nd)), "pads", 2 * nd, 0, label)
        explicit = tuple((pads[i], pads[i + nd]) for i in range(nd))
        return _c(tuple(a for a, _ in explicit)) if all(a == b for a, b in explicit) else explicit

    def _window(
        self, node: Any, attrs: dict[str, Any], label: str
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """kernel_shape, strides and dilations, each exactly one positive int per spatial axis."""
        nd = self.conv.ndim
        kernel = attrs.get("kernel_shape")
        if kernel is None and node.op_type in ("Conv", "ConvTranspose"):
            weight = self.initializers.get(node.input[1]) if len(node.input) > 1 else None
            if weight is None:
                raise RFGraphError(f"{label}: no kernel_shape and no constant weight; export with kernel_shape")
            kernel = list(weight.dims[2:])
        if kernel is None:
            raise RFGraphError(f"{label}: the required attribute kernel_shape is missing")
        kernel = _int_list(kernel, "kernel_shape", nd, 1, label)
        strides = _int_list(attrs.get("strides", [1] * nd), "strides", nd, 1, label)
        dilations = _int_list(attrs.get("dilations", [1] * nd), "dilations", nd, 1, label)
        return kernel, strides, dilations

    def conv_op(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        nd = self.conv.ndim
        kernel, strides, dilations = self._window(node, attrs, label)
        if node.op_type == "Conv":
            padding = self._padding(attrs, kernel, strides, dilations, x, label)
            return self.conv.leaf(
                Conv(_c(kernel), stride=_c(strides), padding=padding, dilation=_c(dilations)), x, scopes, base
            )
        if attrs.get("output_shape") is not None or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise RFGraphError(
                f"{label}: output_shape/auto_pad are not supported for ConvTranspose; "
                "export with explicit pads and output_padding"
            )
        pads = _int_list(attrs.get("pads", [0] * (2 * nd)), "pads", 2 * nd, 0, label)
        pairs = tuple((pads[i], pads[i + nd]) for i in range(nd))
        padding = _c(tuple(a for a, _ in pairs)) if all(a == b for a, b in pairs) else pairs
        extra = _int_list(attrs.get("output_padding", [0] * nd), "output_padding", nd, 0, label)
        op = ConvTranspose(
            _c(kernel), stride=_c(strides), padding=padding, dilation=_c(dilations), output_padding=_c(extra)
        )
        return self.conv.leaf(op, x, scopes, base)

    def pool(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        kernel, strides, dilations = self._window(node, attrs, label)
        ceil_mode = attrs.get("ceil_mode", 0)
        if ceil_mode not in (0, 1) or isinstance(ceil_mode, bool):
            raise RFGraphError(f"{label}: ceil_mode={ceil_mode!r} must be 0 or 1")
        padding = self._padding(attrs, kernel, strides, dilations, x, label)
        if isinstance(padding, str):
            return self.conv.leaf(_same_pool(kernel, strides, dilations, padding), x, scopes, base)
        if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
            from ..ops import Pool

            op = Pool(
                _c(kernel),
                stride=_c(strides),
                padding=padding,
                dilation=_c(dilations),
                ceil_mode=bool(ceil_mode),
            )
            return self.conv.leaf(op, x, scopes, base)
        return self.conv.pool(x, kernel, strides, padding, dilations, bool(ceil_mode), scopes, base)

    def resize(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        mode = _text(attrs.get("mode", b"nearest"), "mode", ("nearest", "linear", "cubic"), label)
        ctm = attrs.get("coordinate_transformation_mode", b"half_pixel")
        ctm = ctm.decode(errors="replace") if isinstance(ctm, bytes) else str(ctm)
        out = self.inferred.get(node.output[0])
        if not out or not all(out[-self.conv.ndim :]):
            out = None
            scales = self.const(node.input[2]) if node.op_type == "Resize" and len(node.input) > 2 else None
            sizes = self.const(node.input[3]) if node.op_type == "Resize" and len(node.input) > 3 else None
            if node.op_type == "Upsample":
                scales = attrs.get("scales") or (self.const(node.input[1]) if len(node.input) > 1 else None)
            if sizes is not None and np.size(sizes):
                sizes = np.asarray(sizes).ravel()
                if sizes.size != x.rank or sizes.dtype.kind not in "iu" or (sizes < 1).any():
                    raise RFGraphError(
                        f"{label}: sizes={sizes.tolist()} must hold {x.rank} positive ints, one per input axis"
                    )
                out = tuple(int(v) for v in sizes)
            elif scales is not None and np.size(scales):
                scales = np.asarray(scales, dtype=float).ravel()
                if scales.size != x.rank or not np.isfinite(scales).all() or (scales <= 0).any():
                    raise RFGraphError(
                        f"{label}: scales={scales.tolist()} must hold {x.rank} positive numbers, one per input axis"
                    )
                spatial = self.conv.spatial(x)
                if any(n * float(f) > limits.MAX_PARAM * 1000 for n, f in zip(spatial, scales[-len(spatial) :])):
                    raise RFGraphError(f"{label}: scales={scales.tolist()} give an output beyond rfgraph's limits")
                out = tuple(int(round(n * float(f))) for n, f in zip(spatial, scales[-len(spatial) :], strict=True))
        if mode == "linear" and ctm not in ("half_pixel", "pytorch_half_pixel"):
            raise RFGraphError(
                f"{label}: linear resize with coordinate_transformation_mode={ctm!r} is not "
                "supported; rfgraph's linear upsampling is half-pixel (align_corners=False)"
            )
        if mode == "nearest" and ctm == "align_corners":
            raise RFGraphError(f"{label}: nearest resize with align_corners is not supported")
        return self.conv.resize(x, out, mode, False, scopes, base)

    def reshape(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> Any:
        op = node.op_type
        c = self.conv
        if op == "Flatten":
            axis = attrs.get("axis", 1) % x.rank
            if axis == 1:
                return _Flat(x.index)
            if axis < x.rank - c.ndim:
                return _T(x.index, axis + 1)
            raise RFGraphError(f"{label} flattens spatial axes into one; not supported")
        out = self.inferred.get(node.output[0])
        if op == "Reshape" and not out:
            target = self.const(node.input[1])
            out = tuple(int(v) for v in target) if target is not None else None
        if op in ("Squeeze", "Unsqueeze"):
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1:
                axes = self.const(node.input[1])
            if axes is not None:
                rank = x.rank + (len(axes) if op == "Unsqueeze" else 0)
                if any(int(a) % rank >= rank - c.ndim for a in axes):
                    if op == "Squeeze" and all(n == 1 for n in c.spatial(x)):
                        return _Flat(x.index)
                    raise RFGraphError(f"{label} changes spatial axes; not supported")
                return _T(x.index, x.rank + (len(axes) if op == "Unsqueeze" else -len(axes)))
        if out is None:
            raise RFGraphError(f"{label}: the target shape is not constant; export with a static input shape")
        if len(out) == 2:
            return _Flat(x.index)
        if len(out) > c.ndim and tuple(out[-c.ndim :]) == c.spatial(x):
            return _T(x.index, len(out))
        raise RFGraphError(
            f"{label} reshapes the spatial axes {c.spatial(x)} to {tuple(out)}; only flattening to "
            "(batch, features) or channel reshapes are supported"
        )

    def slice(self, node: Any, x: _T, scopes: list[str], base: str, label: str) -> _T:
        c = self.conv
        starts, ends = self.const(node.input[1]), self.const(node.input[2])
        axes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        steps = self.const(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if starts is None or ends is None:
            raise RFGraphError(f"{label}: slice bounds are not constant")
        starts, ends = np.atleast_1d(starts).ravel(), np.atleast_1d(ends).ravel()
        for key, value in (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps)):
            if value is None:
                continue
            value = np.atleast_1d(value).ravel()
            if value.dtype.kind not in "iu" or value.size != starts.size:
                raise RFGraphError(
                    f"{label}: {key} must hold {starts.size} ints like starts (got {value.tolist()[:8]})"
                )
        if axes is not None:
            axes = np.atleast_1d(axes).ravel()
            if ((axes < -x.rank) | (axes >= x.rank)).any():
                raise RFGraphError(f"{label}: axes={axes.tolist()} outside the input's {x.rank} axes")
        if steps is not None:
            steps = np.atleast_1d(steps).ravel()
        axes = list(range(len(starts))) if axes is None else [int(a) % x.rank for a in axes]
        pairs = [(0, 0)] * c.ndim
        for i, axis in enumerate(axes):
            if axis not in c.spatial_dims(x.rank):
                continue
            if steps is not None and int(steps[i]) != 1:
                raise RFGraphError(f"{label} takes every {int(steps[i])}th position; only crops are supported")
            n = c.spatial(x)[axis - (x.rank - c.ndim)]
            start, stop, _ = slice(int(starts[i]), int(ends[i])).indices(n)
            pairs[axis - (x.rank - c.ndim)] = (start, n - max(stop, start))
        return c.crop(x, pairs, scopes, base)

    def pad(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        c = self.conv
        pads = attrs.get("pads")
        if pads is None and len(node.input) > 1:
            pads = self.const(node.input[1])
        if pads is None:
            raise RFGraphError(f"{label}: pads are not constant")
        if len(node.input) > 3 and node.input[3]:
            raise RFGraphError(f"{label}: Pad with axes is not supported; export pads for every axis")
        pads = np.atleast_1d(np.asarray(pads)).ravel()
        if pads.dtype.kind not in "iu" or pads.size != 2 * x.rank:
            raise RFGraphError(
                f"{label}: pads must hold {2 * x.rank} ints (begin and end per axis), got {pads.tolist()}"
            )
        pads = [int(p) for p in pads]
        rank = len(pads) // 2
        pairs = []
        for axis in range(rank):
            left, right = pads[axis], pads[axis + rank]
            if axis < rank - c.ndim:
                if left or right:
                    raise RFGraphError(f"{label} pads a non-spatial axis; not supported")
                continue
            if left > 0 or right > 0:
                raise RFGraphError(f"{label} adds positions (pads={pads}); only cropping (negative pads) is supported")
            pairs.append((-left, -right))
        return c.crop(x, pairs, scopes, base)


def _same_pool(kernel: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...], padding: str) -> Op:
    from ..ops import Pool

    return Pool(_c(kernel), stride=_c(strides), padding=padding, dilation=_c(dilations))


def static_input_shape(model: Any) -> tuple[int, ...] | None:
    """The spatial size of the graph input when the file fixes it (the CLI's default ``--input``), else None."""
    proto = _load(_onnx(), model)
    init = {i.name for i in proto.graph.initializer}
    for graph_input in proto.graph.input:
        if graph_input.name in init:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in graph_input.type.tensor_type.shape.dim]
        spatial = tuple(dims[2:])
        return spatial if len(dims) >= 3 and all(n > 0 for n in spatial) else None
    return None


def from_onnx(model: Any, input_shape: Any = None, *, identity: Iterable[str] = (), output: Any = None) -> Op:
    """Import an ONNX model (a path, serialized bytes or an ``onnx.ModelProto``).

    Parameters
    ----------
    model : str, pathlib.Path, bytes or onnx.ModelProto
        The model.
    input_shape : tuple of int, optional
        Spatial input size; by default the graph input's static size.
    identity : iterable of str, optional
        ONNX op types to treat as pointwise no-ops.
    output : int or str, optional
        Which graph output to follow (default: the first).

    Returns
    -------
    Op
        A flat :class:`~rfgraph.ops.Sequential` (shared tensors are reached with
        :class:`~rfgraph.ops.Ref`).
    """
    onnx = _onnx()
    proto = _load(onnx, model)
    shape = None if input_shape is None else normalize_shape(input_shape)
    try:
        importer = _OnnxImporter(onnx, proto, shape, identity)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as err:
        raise RFGraphError(
            f"the ONNX graph's inputs are malformed ({type(err).__name__}: {_first_line(err)})"
        ) from None
    out = importer.run(output)
    return importer.conv.dag.network(out)
