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
* tokens and attention (issue 15, through :mod:`rfgraph.importers._tokens` as in
  ``from_torch``): ``Reshape``/``Transpose`` of token tensors, ``MatMul`` of queries and
  transposed keys then of the scores and values (a ``GlobalMix``), a ``Concat`` of constant
  class tokens picked again by ``Gather``/``Slice``;
* pointwise ops (activations, normalisation, dropout, casts, arithmetic with
  constants, channel transposes) make no layer; shape computations (``Shape`` of a tensor
  whose static shape is inferred, and arithmetic on it) are folded into constants.

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

from ..errors import RFGraphError
from ..geometry import limits
from ..ops import Conv, ConvTranspose, Op
from ..plan import normalize_shape
from . import _digits
from ._convert import _Converter, _pick_output
from ._layout import _T, _c, _Flat, _Same, _Scores, _Split
from ._onnx_ops import _IndexMaps
from ._onnx_schema import (
    _AUTO_PADS,
    _MERGES,
    _REDUCE,
    _SHAPE_OPS,
    _first_line,
    _int_list,
    _load,
    _onnx,
    _scopes,
    _text,
)
from ._onnx_schema import (
    POINTWISE_OPS as _ALL_POINTWISE,
)
from ._onnx_shapes import _OnnxShapes
from ._onnx_tokens import _OnnxTokens
from ._tokens import einsum

__all__ = ["from_onnx", "static_input_shape", "POINTWISE_OPS"]

_NORMS = frozenset(["InstanceNormalization", "GroupNormalization", "LayerNormalization", "MeanVarianceNormalization"])
POINTWISE_OPS = _ALL_POINTWISE - _NORMS
"""ONNX ops that act position by position (no layer in the graph); spatial norms are global context."""


class _OnnxImporter(_OnnxShapes, _OnnxTokens, _IndexMaps):
    def __init__(
        self, onnx: Any, model: Any, shape: tuple[int, ...] | None, identity: Iterable[str], norm_stats: str = "global"
    ) -> None:
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
        self.conv = _Converter(None, shape, (), norm_stats)
        self.types: dict[str, int] = {}
        self.inferred = self._infer()
        self.values: dict[str, Any] = {self.input.name: _T(0, len(shape) + 2)}
        self.current: Any = None

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
                self.constant(node)
                continue
            self.refine(node)
            if self.fold(node):
                continue
            result = self.convert(node)
            outs = result if isinstance(result, list) else [result] * len(node.output)
            for name, value in zip(node.output, outs, strict=False):
                if isinstance(value, _Split):  # the sizes of the channel factors, as torch's check does
                    value = _digits.resync(value, self.inferred.get(name))
                self.values[name] = value
                if isinstance(value, _T) and self.inferred.get(name) and not self.conv.is_flattened(value):
                    full = self.inferred[name]
                    want = tuple(full[a] for a in self.conv.dims(value)) if len(full) == value.rank else ()
                    got = self.conv.spatial(value)
                    if want and all(want) and want != got:
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
            if isinstance(first, _T | _Flat | _Split):
                scopes = _scopes(node)
                inputs = [self.values.get(i) for i in node.input]
                if any(isinstance(v, _T | _Flat | _Split) and v.index == first.index for v in inputs):
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
        inputs = [v.value if isinstance(v, _Same) else v for v in inputs]
        tensors = [v for v in inputs if isinstance(v, _T | _Flat | _Scores | _Split)]
        if not tensors or op in _SHAPE_OPS:
            return None
        x = inputs[0]
        attrs = self._attrs(node)
        if op == "Einsum":  # MaxViT's attention: the letters say where the digits go
            equation = attrs.get("equation", b"")
            equation = equation.decode() if isinstance(equation, bytes) else equation
            return einsum(c, equation, inputs, [self.inferred.get(i) for i in node.input], scopes)
        if any(isinstance(v, _Scores) for v in inputs):
            return self.scores(node, inputs, scopes, base, label)
        if op == "MatMul":
            return self.matmul(node, inputs, scopes, base)
        if op == "Concat":
            return self.concat(node, inputs, attrs, scopes, base)
        if any(isinstance(v, _Split) for v in inputs):
            return self.windows(node, inputs, tensors, attrs, scopes, base, label)
        if op in self.identity or op in POINTWISE_OPS:
            return x
        if op in ("Softmax", "LogSoftmax", "Hardmax"):
            if isinstance(x, _T):
                c.check_dim(attrs.get("axis", -1), x, scopes, op)
            return x
        if op in _MERGES:
            return c.merge("add", tensors, scopes, base)
        if op in _NORMS and isinstance(x, _T):
            if op == "LayerNormalization":
                return c.norm(x, range(int(attrs.get("axis", -1)) % x.rank, x.rank), scopes, base)
            if op == "MeanVarianceNormalization":
                return c.norm(x, [int(a) for a in attrs.get("axes", [0, 2, 3])], scopes, base)
            return c.norm(x, None, scopes, base)
        if op == "Gemm":
            return c.linear(x, scopes, base, self.gemm_features(node, attrs))
        if isinstance(x, _Flat):
            if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose"):
                return self.reshape(node, x, attrs, scopes, base, label) if op != "Transpose" else x
            if c.is_global(x):
                return x
            raise RFGraphError(f"{label} is applied to a flattened tensor; not supported")
        if not isinstance(x, _T):
            return None
        if op in ("Conv", "ConvTranspose"):
            return self.conv_op(node, x, attrs, scopes, base, label)
        if op in ("MaxPool", "AveragePool", "LpPool"):
            return self.pool(node, x, attrs, scopes, base, label)
        if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
            return c.reduce(x, list(c.dims(x)), True, scopes, base)
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
            return c.permute(x, attrs.get("perm", list(reversed(range(x.rank)))), scopes, base)
        if op == "Slice":
            return self.slice(node, x, scopes, base, label)
        if op == "Gather":
            return self.gather(node, x, attrs, scopes, label)
        if op == "Expand":
            return c.expand(x, self.inferred.get(node.output[0]), scopes, base)
        if op == "Pad":
            return self.pad(node, x, attrs, scopes, base, label)
        if op in ("DepthToSpace", "SpaceToDepth"):
            blocksize = int(attrs["blocksize"])
            if op == "DepthToSpace" and attrs.get("mode", b"DCR") in (b"DCR", "DCR"):
                pass  # the same spatial index map in both channel orders
            return c.shuffle(x, blocksize, op == "DepthToSpace", scopes, base)
        if op == "Split":
            if attrs.get("axis", 0) % x.rank in c.dims(x) and not c.is_global(x):
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


def from_onnx(
    model: Any,
    input_shape: Any = None,
    *,
    identity: Iterable[str] = (),
    output: Any = None,
    norm_stats: str = "global",
) -> Op:
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
    norm_stats : {"global", "ignore"}
        Instance, group and layer normalisation over spatial axes: statistics read every
        position, so a global pool feeds every position (SPEC section 3), or ``"ignore"``:
        the classic convention, statistics treated as constants (pointwise).

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
        importer = _OnnxImporter(onnx, proto, shape, identity, norm_stats)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as err:
        raise RFGraphError(
            f"the ONNX graph's inputs are malformed ({type(err).__name__}: {_first_line(err)})"
        ) from None
    out = importer.run(output)
    return importer.conv.dag.network(out)
