"""Import a ``torch.nn.Module`` as an rfgraph network (needs the ``torch`` extra).

The module is traced with ``torch.fx`` (symbolic tracing, in eval mode, restored
afterwards) and its tensor shapes are propagated on fake tensors, so nothing is
computed and no weights are touched.  Every fx node then becomes

* a leaf op: ``Conv1d/2d/3d`` (any groups), ``ConvTranspose``, ``Max/Avg/LPPool``,
  ``AdaptiveAvg/MaxPool`` (output 1 on every axis = :class:`~rfgraph.ops.GlobalPool`;
  other sizes are resolved for the given input: equal regular windows = a
  :class:`~rfgraph.ops.Pool`, integer enlargement = nearest
  :class:`~rfgraph.ops.Upsample`, same size = pointwise), ``Upsample`` and
  ``F.interpolate`` (integer factors, nearest or linear with ``align_corners=False``),
  spatial slicing and negative ``F.pad`` (a :class:`~rfgraph.ops.Crop`), reductions
  over all spatial axes (``x.mean((2, 3))``: a global pool);
* a merge: ``+``/``torch.add``/``*``/... of two tensors (:class:`~rfgraph.ops.Add`),
  ``torch.cat`` along channels (:class:`~rfgraph.ops.Concat`);
* a head: ``flatten`` then ``Linear`` is a global pool, a ``Linear`` on a 1x1
  (already pooled) tensor a 1x1 convolution;
* nothing at all: every pointwise module or function (activations, normalisation,
  dropout, arithmetic with constants, channel reshapes and slices).

The merges of a general DAG (DenseNet reads every earlier layer of a block) are
expressed exactly with :class:`~rfgraph.ops.Ref`; see :mod:`rfgraph._dag` for the
naming: tensors follow the torch module paths (``layer4.2.conv3``; a module's
output, e.g. the residual sum, takes the module's name ``layer4.2``; other
function results ``Mixed_5b.avg_pool2d``) and every module path is an end-point.

Modules that fx cannot trace fall back to forward hooks on the leaf modules,
which is exact for sequential models (each leaf reads the previous one's output).

>>> import torch.nn as nn
>>> import rfgraph as rf
>>> m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16, 10))
>>> rf.from_torch(m, (8, 8))
Sequential(Conv(3, padding=1, name='0'), Pool(2, name='2'), GlobalPool(name='4'))
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._dag import Dag
from .errors import RFGraphError
from .ops import Conv, ConvTranspose, Crop, GlobalPool, Op, Pool, Upsample
from .plan import normalize_shape

__all__ = ["from_torch", "POINTWISE_FUNCTIONS"]


@dataclass(frozen=True)
class _T:
    """A tensor whose trailing axes are the spatial axes of DAG tensor ``index``."""

    index: int
    rank: int


@dataclass(frozen=True)
class _Flat:
    """DAG tensor ``index`` flattened into a vector (``x.flatten(1)``); a Linear on it mixes every position."""

    index: int


Value = Any  # _T | _Flat | None | list/tuple of values

POINTWISE_FUNCTIONS = frozenset(
    [
        "relu",
        "relu_",
        "relu6",
        "leaky_relu",
        "leaky_relu_",
        "elu",
        "elu_",
        "selu",
        "selu_",
        "celu",
        "celu_",
        "gelu",
        "silu",
        "silu_",
        "mish",
        "sigmoid",
        "sigmoid_",
        "tanh",
        "tanh_",
        "hardtanh",
        "hardtanh_",
        "hardswish",
        "hardsigmoid",
        "softplus",
        "softsign",
        "logsigmoid",
        "prelu",
        "rrelu",
        "threshold",
        "threshold_",
        "tanhshrink",
        "softshrink",
        "hardshrink",
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "alpha_dropout",
        "feature_alpha_dropout",
        "batch_norm",
        "instance_norm",
        "layer_norm",
        "group_norm",
        "local_response_norm",
        "normalize",
        "clamp",
        "clamp_",
        "clip",
        "clip_",
        "abs",
        "abs_",
        "neg",
        "exp",
        "log",
        "sqrt",
        "rsqrt",
        "square",
        "sin",
        "cos",
        "sign",
        "floor",
        "ceil",
        "round",
        "reciprocal",
        "erf",
        "contiguous",
        "clone",
        "detach",
        "to",
        "float",
        "half",
        "double",
        "bfloat16",
        "type",
        "type_as",
        "requires_grad_",
        "nan_to_num",
        "logit",
    ]
)
"""Functions and methods that act position by position (no layer in the graph)."""

_ARITHMETIC = frozenset(
    [
        "add",
        "add_",
        "iadd",
        "sub",
        "sub_",
        "isub",
        "rsub",
        "mul",
        "mul_",
        "imul",
        "truediv",
        "div",
        "div_",
        "itruediv",
        "floordiv",
        "maximum",
        "minimum",
        "pow",
        "where",
        "lerp",
        "addcmul",
        "addcdiv",
    ]
)
_NON_TENSOR = frozenset(["size", "dim", "numel", "shape", "dtype", "device", "getattr", "ndimension", "is_contiguous"])
_SOFTMAX = frozenset(["softmax", "log_softmax", "softmin"])
_REDUCTIONS = frozenset(
    ["mean", "sum", "amax", "amin", "max", "min", "nanmean", "logsumexp", "std", "var", "prod", "norm"]
)
_RESHAPES = frozenset(["flatten", "view", "reshape", "squeeze", "unsqueeze", "view_as", "reshape_as", "unflatten"])
_PERMUTES = frozenset(["permute", "transpose", "movedim", "swapaxes", "swapdims"])
_CATS = frozenset(["cat", "concat", "concatenate"])


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError("rf.from_torch needs PyTorch: pip install 'rfgraph[torch]'") from None
    return torch


def _tuple(value: Any, ndim: int) -> tuple[Any, ...]:
    if isinstance(value, int) or value is None:
        return (value,) * ndim
    out = tuple(value)
    return (out[0],) * ndim if len(out) == 1 else out


def _c(value: Any) -> Any:
    """Per-axis values that agree become one int (nicer reprs; the same graph)."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value) and isinstance(value[0], int):
        return value[0]
    return value


@dataclass(frozen=True)
class _Same:
    """The parts of ``chunk``/``split`` along channels: every part is the same spatial tensor."""

    value: Any


def _func_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None) or type(target).__name__
    return name.lstrip("_")


class _Converter:
    """Turns a stream of operations into a :class:`~rfgraph._dag.Dag` (shared with the ONNX importer,
    which passes ``torch=None`` and never calls :meth:`module`)."""

    def __init__(self, torch: Any, shape: tuple[int, ...], identity: Iterable[Any]) -> None:
        self.torch = torch
        self.nn: Any = None if torch is None else torch.nn
        self.ndim = len(shape)
        self.dag = Dag(shape)
        self.identity_types = tuple(t for t in identity if isinstance(t, type))
        self.identity_names = frozenset(t for t in identity if isinstance(t, str))

    # -- helpers --------------------------------------------------------------------------
    def spatial(self, v: _T | _Flat) -> tuple[int, ...]:
        return self.dag.shape(v.index)

    def leaf(self, op: Op, x: _T, scopes: list[str], base: str, rank: int | None = None) -> _T:
        return _T(self.dag.leaf(op, x.index, scopes, base), x.rank if rank is None else rank)

    def spatial_dims(self, rank: int) -> range:
        return range(rank - self.ndim, rank)

    def where(self, scopes: list[str], what: str) -> str:
        return f"{what} at {scopes[-1]!r}" if scopes else f"{what} in the top-level forward"

    # -- heads ------------------------------------------------------------------------------
    def linear(self, x: Value, scopes: list[str], base: str) -> _Flat:
        if isinstance(x, _Flat):
            if math.prod(self.spatial(x)) == 1:
                return _Flat(self.dag.leaf(Conv(1), x.index, scopes, base))
            return _Flat(self.dag.leaf(GlobalPool(), x.index, scopes, base))
        raise RFGraphError(
            f"{self.where(scopes, 'Linear')}: applied to a tensor that still has spatial axes, so it mixes the "
            "last spatial axis; flatten first (x.flatten(1)) or pass its type in identity=(...) to ignore it"
        )

    # -- windows ----------------------------------------------------------------------------
    def pool(
        self,
        x: _T,
        kernel: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        ceil_mode: bool,
        scopes: list[str],
        base: str,
    ) -> _T:
        nd = self.ndim
        k = _tuple(kernel, nd)
        s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, nd)
        p = _tuple(padding, nd)
        d = _tuple(dilation, nd)
        if all(v == 1 for v in k + s) and not any(p):
            return x  # a one-pixel window is pointwise
        op = Pool(_c(k), stride=None if s == k else _c(s), padding=_c(p), dilation=_c(d), ceil_mode=bool(ceil_mode))
        return self.leaf(op, x, scopes, base)

    def adaptive(self, x: _T, output_size: Any, scopes: list[str], base: str) -> _T:
        shape = self.spatial(x)
        sizes = _tuple(output_size, self.ndim) if output_size is not None else shape
        sizes = tuple(n if m is None else m for n, m in zip(shape, sizes, strict=True))
        if all(m == 1 for m in sizes):
            return self.leaf(GlobalPool(), x, scopes, base)
        kernels, strides, factors = [], [], []
        for axis, (n, m) in enumerate(zip(shape, sizes, strict=True)):
            starts = [i * n // m for i in range(m)]
            ends = [-(-(i + 1) * n // m) for i in range(m)]
            lengths = {e - b for b, e in zip(starts, ends, strict=True)}
            if m % n == 0 and lengths == {1}:
                kernels.append(1)
                strides.append(1)
                factors.append(m // n)
                continue
            step = starts[1] - starts[0] if m > 1 else n
            if len(lengths) == 1 and all(b == i * step for i, b in enumerate(starts)):
                kernels.append(lengths.pop())
                strides.append(step)
                factors.append(1)
                continue
            raise RFGraphError(
                f"{self.where(scopes, 'adaptive pooling')}: output size {m} from input size {n} on axis {axis} "
                f"uses windows of different sizes or uneven steps ({list(zip(starts, ends, strict=True))[:4]} ...), "
                "which no Pool describes; use an input size for which the windows are regular "
                f"(a multiple of {m}, e.g. {m * max(1, round(n / m))})"
            )
        if all(f == 1 for f in factors):
            return self.pool(x, _c(tuple(kernels)), _c(tuple(strides)), 0, 1, False, scopes, base)
        if all(k == 1 and s == 1 for k, s in zip(kernels, strides, strict=True)):
            return self.leaf(Upsample(_c(tuple(factors))), x, scopes, base)
        raise RFGraphError(
            f"{self.where(scopes, 'adaptive pooling')}: enlarges some axes and shrinks others "
            f"({shape} -> {sizes}); not supported"
        )

    def resize(
        self, x: _T, out_shape: tuple[int, ...] | None, mode: str, align_corners: Any, scopes: list[str], base: str
    ) -> _T:
        if out_shape is None:
            raise RFGraphError(f"{self.where(scopes, 'resize')}: the output size is unknown")
        shape = self.spatial(x)
        out = tuple(out_shape[-self.ndim :])
        if any(o % n for n, o in zip(shape, out, strict=True)):
            raise RFGraphError(
                f"{self.where(scopes, 'resize')} from {shape} to {out}: only integer enlargement factors are "
                "supported; choose an input size for which the output is a multiple of the input"
            )
        factors = tuple(o // n for n, o in zip(shape, out, strict=True))
        if mode in ("nearest", "nearest-exact"):
            rf_mode = "nearest"
        elif mode in ("linear", "bilinear", "trilinear"):
            if align_corners:
                raise RFGraphError(
                    f"{self.where(scopes, 'resize')}: align_corners=True is not supported; "
                    "rfgraph's linear upsampling follows align_corners=False"
                )
            rf_mode = "linear"
        else:
            raise RFGraphError(
                f"{self.where(scopes, 'resize')}: mode {mode!r} is not supported; "
                "use 'nearest', 'linear', 'bilinear' or 'trilinear'"
            )
        if all(f == 1 for f in factors):
            return x
        return self.leaf(Upsample(_c(factors), mode=rf_mode), x, scopes, base)

    def crop(self, x: _T, pairs: list[tuple[int, int]], scopes: list[str], base: str) -> _T:
        if not any(left or right for left, right in pairs):
            return x
        return self.leaf(Crop(tuple(pairs)), x, scopes, base)

    # -- modules ----------------------------------------------------------------------------
    def module(
        self,
        mod: Any,
        path: str,
        x: Value,
        in_shape: Any,
        out_shape: Any,
        scopes: list[str],
        args: tuple[Any, ...] = (),
    ) -> Value:
        nn = self.nn
        kind = type(mod).__name__
        label = f"module {path!r} ({kind})"
        if isinstance(mod, self.identity_types) or kind in self.identity_names:
            return x
        if isinstance(mod, nn.Linear | nn.LazyLinear):
            return self.linear(x, scopes, kind.lower())
        if isinstance(mod, nn.Flatten):
            return self.reshape(x, in_shape, out_shape, scopes, "flatten")
        if x is None or isinstance(x, _Flat):
            if isinstance(x, _Flat) and not _is_pointwise_module(nn, mod):
                raise RFGraphError(
                    f"{label} is applied to a flattened tensor; only Linear and pointwise modules may follow flatten"
                )
            return x
        if not isinstance(x, _T):
            raise RFGraphError(f"{label}: unexpected input {x!r}")
        if _is_pointwise_module(nn, mod):
            if isinstance(mod, nn.Softmax | nn.LogSoftmax | nn.Softmin) and mod.dim is not None:
                self.check_dim(mod.dim, x.rank, scopes, kind)
            return x
        conv = nn.modules.conv
        if isinstance(mod, conv._ConvTransposeNd):
            return self.conv_transpose(mod, x, out_shape, scopes, label)
        if isinstance(mod, conv._ConvNd):
            if mod.padding_mode != "zeros":
                raise RFGraphError(
                    f"{label}: padding_mode={mod.padding_mode!r} reads real pixels in the padding; "
                    "only 'zeros' is supported"
                )
            padding = mod.padding if isinstance(mod.padding, str) else tuple(mod.padding)
            op = Conv(
                _c(tuple(mod.kernel_size)),
                stride=_c(tuple(mod.stride)),
                padding=_c(padding),
                dilation=_c(tuple(mod.dilation)),
            )
            return self.leaf(op, x, scopes, kind.lower())
        pooling = nn.modules.pooling
        if isinstance(mod, pooling._MaxPoolNd):
            return self.pool(x, mod.kernel_size, mod.stride, mod.padding, mod.dilation, mod.ceil_mode, scopes, "pool")
        if isinstance(mod, pooling._AvgPoolNd):
            return self.pool(x, mod.kernel_size, mod.stride, mod.padding, 1, mod.ceil_mode, scopes, "pool")
        if isinstance(mod, pooling._LPPoolNd):
            return self.pool(x, mod.kernel_size, mod.stride, 0, 1, mod.ceil_mode, scopes, "pool")
        if isinstance(mod, pooling._AdaptiveAvgPoolNd | pooling._AdaptiveMaxPoolNd):
            return self.adaptive(x, mod.output_size, scopes, "pool")
        if isinstance(mod, nn.UpsamplingBilinear2d):
            return self.resize(x, out_shape, "bilinear", True, scopes, "upsample")
        if isinstance(mod, nn.Upsample):
            return self.resize(x, out_shape, mod.mode, mod.align_corners, scopes, "upsample")
        raise RFGraphError(
            f"{label} is not supported: rfgraph knows convolutions, pooling, upsampling, Linear heads and "
            f"pointwise modules; pass identity=({kind!r},) to treat it as a no-op, or leaf_modules=... to keep "
            "a custom module opaque"
        )

    def conv_transpose(self, mod: Any, x: _T, out_shape: Any, scopes: list[str], label: str) -> _T:
        if mod.padding_mode != "zeros":
            raise RFGraphError(f"{label}: padding_mode={mod.padding_mode!r} is not supported")
        extra = tuple(mod.output_padding)
        op = ConvTranspose(
            _c(tuple(mod.kernel_size)),
            stride=_c(tuple(mod.stride)),
            padding=_c(tuple(mod.padding)),
            dilation=_c(tuple(mod.dilation)),
            output_padding=_c(extra),
        )
        if out_shape is not None:  # forward(x, output_size=...) chooses output_padding
            from .geometry import resolve

            got = resolve(op, self.spatial(x), label).out_shape
            want = tuple(out_shape[-self.ndim :])
            if got != want:
                extra = _tuple(extra, self.ndim)
                extra = tuple(e + w - g for e, w, g in zip(extra, want, got, strict=True))
                op = ConvTranspose(
                    op.kernel_size, stride=op.stride, padding=op.padding, dilation=op.dilation, output_padding=_c(extra)
                )
        return self.leaf(op, x, scopes, type(mod).__name__.lower())

    # -- shapes -----------------------------------------------------------------------------
    def check_dim(self, dim: Any, rank: int, scopes: list[str], what: str) -> None:
        dims = dim if isinstance(dim, list | tuple) else (dim,)
        for d in dims:
            if isinstance(d, int) and d % rank in self.spatial_dims(rank):
                raise RFGraphError(
                    f"{self.where(scopes, what)} works along spatial axis {d}, which couples "
                    "positions in a way rfgraph cannot describe"
                )

    def reshape(self, x: Value, in_shape: Any, out_shape: Any, scopes: list[str], what: str) -> Value:
        if not isinstance(x, _T):
            return x
        if out_shape is None or in_shape is None:
            raise RFGraphError(f"{self.where(scopes, what)}: shapes are unknown")
        nd = self.ndim
        spatial = self.spatial(x)
        out, inp = tuple(out_shape), tuple(in_shape)
        if len(out) > nd and out[-nd:] == spatial and math.prod(out[:-nd]) == math.prod(inp[:-nd]):
            return _T(x.index, len(out))  # regroups batch/channel axes only
        if len(out) == 2 and out[0] == inp[0]:
            return _Flat(x.index)
        raise RFGraphError(
            f"{self.where(scopes, what)} reshapes {inp} to {out}, mixing the spatial axes "
            f"{spatial}; only flattening to (batch, features) or channel reshapes are supported"
        )

    def getitem(self, x: Value, index: Any, scopes: list[str]) -> Value:
        if isinstance(x, _Same):
            return x.value
        if isinstance(x, list | tuple):
            return x[index] if isinstance(index, int | slice) else None
        if not isinstance(x, _T):
            return x
        items = index if isinstance(index, tuple) else (index,)
        if any(i is None for i in items):
            raise RFGraphError(f"{self.where(scopes, 'indexing')}: None (new axes) in an index is not supported")
        if Ellipsis in items:
            k = items.index(Ellipsis)
            fill = x.rank - (len(items) - 1)
            items = items[:k] + (slice(None),) * fill + items[k + 1 :]
        items = items + (slice(None),) * (x.rank - len(items))
        pairs, dropped = [], 0
        for axis, item in enumerate(items):
            if axis < x.rank - self.ndim:
                dropped += isinstance(item, int)
                if not isinstance(item, int | slice):
                    raise RFGraphError(f"{self.where(scopes, 'indexing')}: tensor indices are not supported")
                continue
            n = self.spatial(x)[axis - (x.rank - self.ndim)]
            if not isinstance(item, slice) or item.step not in (None, 1):
                raise RFGraphError(
                    f"{self.where(scopes, 'indexing')} picks positions on spatial axis {axis} "
                    f"({item!r}); only contiguous slices (a crop) are supported"
                )
            start, stop, _ = item.indices(n)
            pairs.append((start, n - max(stop, start)))
        return _T(self.crop(x, pairs, scopes, "getitem").index, x.rank - dropped)

    def reduce(self, x: _T, dims: Any, keepdim: bool, scopes: list[str], base: str) -> Value:
        if dims is None:
            dims = tuple(range(x.rank))
        dims = {d % x.rank for d in (dims if isinstance(dims, list | tuple) else (dims,))}
        spatial = set(self.spatial_dims(x.rank))
        if not dims & spatial:
            return _T(x.index, x.rank if keepdim else x.rank - len(dims))
        if spatial <= dims:
            out = self.dag.leaf(GlobalPool(), x.index, scopes, base)
            return _T(out, x.rank) if keepdim else _Flat(out)
        raise RFGraphError(
            f"{self.where(scopes, base)} reduces some spatial axes ({sorted(dims)}) but not all; not supported"
        )


def _is_pointwise_module(nn: Any, mod: Any) -> bool:
    pointwise = (
        nn.Identity,
        nn.modules.dropout._DropoutNd,
        nn.modules.batchnorm._NormBase,
        nn.GroupNorm,
        nn.LayerNorm,
        nn.LocalResponseNorm,
        nn.CrossMapLRN2d,
        nn.Softmax2d,
        nn.ChannelShuffle,
    )
    if isinstance(mod, pointwise):
        return True
    return type(mod).__module__ == "torch.nn.modules.activation" and not isinstance(mod, nn.MultiheadAttention)


# ---------------------------------------------------------------------------------------------
# fx tracing


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any], names: str, defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for name, value in zip(names.split(), args, strict=False):
        out[name] = value
    out.update(kwargs)
    return out


_POOL_ARGS = "input kernel_size stride padding dilation ceil_mode return_indices"
_AVG_ARGS = "input kernel_size stride padding ceil_mode count_include_pad divisor_override"


class _FxImporter:
    def __init__(self, conv: _Converter, gm: Any, output: Any) -> None:
        self.c = conv
        self.gm = gm
        self.output = output
        self.env: dict[Any, Value] = {}

    def value(self, arg: Any) -> Value:
        torch_fx = self.c.torch.fx
        if isinstance(arg, torch_fx.Node):
            return self.env.get(arg)
        if isinstance(arg, list | tuple):
            return type(arg)(self.value(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self.value(v) for k, v in arg.items()}
        return None

    def constant(self, arg: Any) -> Any:
        """A Python constant argument (fx nodes that are not tensors are evaluated as None)."""
        if isinstance(arg, self.c.torch.fx.Node):
            return None
        return arg

    @staticmethod
    def shape(node: Any) -> tuple[int, ...] | None:
        meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
        shape = getattr(meta, "shape", None)
        return tuple(shape) if shape is not None else None

    @staticmethod
    def scopes(node: Any) -> list[str]:
        stack = node.meta.get("nn_module_stack") or {}
        return [k for k in stack if isinstance(k, str)]

    def run(self) -> int:
        placeholders = 0
        result: Value = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                placeholders += 1
                self.env[node] = _T(0, self.c.ndim + 2) if placeholders == 1 else None
            elif node.op == "get_attr":
                self.env[node] = None
            elif node.op == "output":
                result = self.value(node.args[0])
            else:
                value = self.convert(node)
                self.env[node] = value
                self.check(node, value)
                index = _first_index(value)
                if index is not None:
                    scopes = self.scopes(node)
                    if node.op == "call_module" and index == _first_index(self.value(node.args[0])):
                        scopes = scopes[:-1]  # a pointwise leaf module is no end-point of its own
                    self.c.dag.note(scopes, index)
        return _pick_output(result, self.output)

    def check(self, node: Any, value: Value) -> None:
        shape = self.shape(node)
        if isinstance(value, _T) and shape is not None and len(shape) >= self.c.ndim:
            got = self.c.spatial(value)
            if tuple(shape[-self.c.ndim :]) != got:  # pragma: no cover - an importer bug, not user input
                raise RFGraphError(
                    f"importing {node.format_node()}: rfgraph computes spatial shape {got} but torch gives "
                    f"{tuple(shape)}; a module treated as a no-op (identity=...) changes the spatial size here, "
                    "so it cannot be ignored"
                )

    def convert(self, node: Any) -> Value:
        c = self.c
        scopes = self.scopes(node)
        args = [self.value(a) for a in node.args]
        x = args[0] if args else None
        in_node = node.args[0] if node.args else None
        in_shape = self.shape(in_node) if in_node is not None and hasattr(in_node, "meta") else None
        out_shape = self.shape(node)
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            if not _depends_on_input(args) and not _depends_on_input(list(node.kwargs.values())):
                return None
            return c.module(mod, node.target, x, in_shape, out_shape, scopes)
        name = _func_name(node.target)
        tensors = _tensor_values(args) + _tensor_values(list(self.value(dict(node.kwargs)).values()))
        if not tensors:
            return None
        if node.target is operator.getitem:
            return c.getitem(x, node.args[1], scopes)
        if name in _NON_TENSOR:
            return None
        kw = node.kwargs
        if name in _CATS:
            parts = args[0] if isinstance(args[0], list | tuple) else [args[0]]
            dim = self.constant(node.args[1]) if len(node.args) > 1 else kw.get("dim", kw.get("axis", 0))
            spatial = [p for p in parts if isinstance(p, _T | _Flat)]
            if len(spatial) != len(parts):
                raise RFGraphError(f"{c.where(scopes, name)}: concatenates tensors that do not depend on the input")
            maps = [p for p in spatial if isinstance(p, _T)]
            if len(maps) == len(spatial):
                rank = maps[0].rank
                if dim % rank in c.spatial_dims(rank):
                    raise RFGraphError(
                        f"{c.where(scopes, name)} concatenates along spatial axis {dim}; "
                        "only channel concatenation is supported"
                    )
                return _T(c.dag.merge("concat", [p.index for p in spatial], scopes, "cat"), rank)
            if all(isinstance(p, _Flat) and math.prod(c.spatial(p)) == 1 for p in spatial):
                return _Flat(c.dag.merge("concat", [p.index for p in spatial], scopes, "cat"))
            raise RFGraphError(f"{c.where(scopes, name)} concatenates flattened feature maps; not supported")
        if name in _ARITHMETIC or node.target in (operator.add, operator.mul, operator.sub, operator.truediv):
            distinct = list(dict.fromkeys(tensors))
            if len(distinct) == 1:
                return distinct[0]
            if all(isinstance(t, _T) for t in distinct):
                ranks = {t.rank for t in distinct}
                base = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "truediv"}.get(name, name.rstrip("_"))
                return _T(c.dag.merge("add", [t.index for t in distinct], scopes, base), max(ranks))
            if all(isinstance(t, _Flat) for t in distinct):
                return _Flat(c.dag.merge("add", [t.index for t in distinct], scopes, name))
            raise RFGraphError(f"{c.where(scopes, name)} combines a flattened tensor with a feature map")
        if name in POINTWISE_FUNCTIONS:
            return x
        if name in _SOFTMAX:
            dim = node.args[1] if len(node.args) > 1 else kw.get("dim")
            if isinstance(x, _T) and dim is not None:
                c.check_dim(dim, x.rank, scopes, name)
            return x
        if name in ("linear",):
            return c.linear(x, scopes, "linear")
        if name in _RESHAPES:
            return c.reshape(x, in_shape, out_shape, scopes, name)
        if name in _PERMUTES:
            return self.permute(node, x, name, scopes)
        if name in ("chunk", "split", "unbind", "tensor_split"):
            dim = node.args[2] if len(node.args) > 2 else kw.get("dim", 0)
            if isinstance(x, _T) and dim % x.rank in c.spatial_dims(x.rank):
                raise RFGraphError(f"{c.where(scopes, name)} splits a spatial axis; not supported")
            return _Same(x)
        if not isinstance(x, _T):
            if isinstance(x, _Flat):
                return x
            raise RFGraphError(f"{c.where(scopes, name)}: unsupported use of {name!r}")
        return self.spatial_function(node, name, x, kw, out_shape, scopes)

    def permute(self, node: Any, x: Value, name: str, scopes: list[str]) -> Value:
        if not isinstance(x, _T):
            return x
        c = self.c
        spatial = set(c.spatial_dims(x.rank))
        if name == "permute":
            dims = node.args[1:] if len(node.args) > 2 else node.args[1] if len(node.args) > 1 else node.kwargs["dims"]
            moved = {i for i, d in enumerate(dims) if d % x.rank != i}
        else:
            a = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim0", node.kwargs.get("source"))
            b = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim1", node.kwargs.get("destination"))
            moved = {a % x.rank, b % x.rank} if a % x.rank != b % x.rank else set()
        if moved & spatial:
            raise RFGraphError(
                f"{c.where(scopes, name)} moves spatial axes (channels-last layouts are not "
                "supported); keep the spatial axes last"
            )
        return x

    def spatial_function(
        self, node: Any, name: str, x: _T, kw: dict[str, Any], out_shape: Any, scopes: list[str]
    ) -> Value:
        c = self.c
        args = tuple(node.args)
        if name.startswith("max_pool") or name.startswith("avg_pool") or name.startswith("lp_pool"):
            if name.startswith("lp_pool"):
                a = _bind(
                    args, kw, "input norm_type kernel_size stride ceil_mode", {"stride": None, "ceil_mode": False}
                )
                a.update(padding=0, dilation=1)
            elif name.startswith("max_pool"):
                a = _bind(
                    args,
                    kw,
                    _POOL_ARGS,
                    {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
                )
            else:
                a = _bind(args, kw, _AVG_ARGS, {"stride": None, "padding": 0, "ceil_mode": False})
                a["dilation"] = 1
            out = c.pool(x, a["kernel_size"], a["stride"], a["padding"], a["dilation"], a["ceil_mode"], scopes, name)
            return (out, out) if a.get("return_indices") else out
        if name.startswith("adaptive_"):
            a = _bind(args, kw, "input output_size return_indices", {"return_indices": False})
            out = c.adaptive(x, a["output_size"], scopes, name)
            return (out, out) if a.get("return_indices") else out
        if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
            a = _bind(
                args, kw, "input size scale_factor mode align_corners", {"mode": "nearest", "align_corners": None}
            )
            mode = {"upsample_bilinear": "bilinear", "upsample_nearest": "nearest"}.get(name, a["mode"])
            corners = True if name == "upsample_bilinear" else a["align_corners"]
            return c.resize(x, out_shape, mode, corners, scopes, name)
        if name == "pad":
            a = _bind(args, kw, "input pad mode value", {"mode": "constant"})
            pad = list(a["pad"])
            pairs = [(0, 0)] * c.ndim
            for k in range(0, len(pad), 2):
                axis = x.rank - 1 - k // 2
                if axis not in c.spatial_dims(x.rank):
                    raise RFGraphError(f"{c.where(scopes, 'pad')} pads a non-spatial axis; not supported")
                left, right = pad[k], pad[k + 1]
                if left > 0 or right > 0:
                    raise RFGraphError(
                        f"{c.where(scopes, 'pad')} adds positions (pad={pad}); only cropping "
                        "(negative padding) is supported -- put the padding in the next convolution"
                    )
                pairs[axis - (x.rank - c.ndim)] = (-left, -right)
            return c.crop(x, pairs, scopes, "pad")
        if name.startswith("conv_transpose") or name.startswith("conv"):
            raise RFGraphError(
                f"{c.where(scopes, name)}: functional convolutions are not supported; use nn.Conv modules"
            )
        if name in _REDUCTIONS:
            dims = args[1] if len(args) > 1 else kw.get("dim", kw.get("axis"))
            keep = args[2] if len(args) > 2 else kw.get("keepdim", False)
            if name in ("max", "min") and isinstance(dims, int):
                out = c.reduce(x, dims, bool(keep), scopes, name)
                return (out, out)
            return c.reduce(x, dims, bool(keep), scopes, name)
        raise RFGraphError(
            f"{c.where(scopes, f'function {name!r}')} is not supported; if it acts position by position, "
            f"pass identity=({name!r},) to treat it as a no-op"
        )


def _depends_on_input(values: Any) -> bool:
    return bool(_tensor_values(values))


def _tensor_values(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, _T | _Flat):
            out.append(v)
        elif isinstance(v, _Same):
            out.append(v.value)
        elif isinstance(v, list | tuple):
            out.extend(_tensor_values(v))
        elif isinstance(v, dict):
            out.extend(_tensor_values(list(v.values())))
    return out


def _first_index(value: Value) -> int | None:
    if isinstance(value, _T | _Flat):
        return value.index
    return None


def _pick_output(result: Value, output: Any) -> int:
    chosen = result
    if isinstance(result, dict):
        key = output if output is not None else ("out" if "out" in result else next(iter(result), None))
        if key not in result:
            raise RFGraphError(f"output={output!r} is not a key of the model's output; choose one of {list(result)}")
        chosen = result[key]
    elif isinstance(result, list | tuple):
        index = 0 if output is None else output
        if not isinstance(index, int) or not -len(result) <= index < len(result):
            raise RFGraphError(f"output={output!r}: the model returns {len(result)} values; give an index")
        chosen = result[index]
    if not isinstance(chosen, _T | _Flat):
        raise RFGraphError(
            "the model's output does not depend on its input (or is not a tensor); choose another with output=..."
        )
    return chosen.index


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _example(torch: Any, module: Any, shape: tuple[int, ...], channels: int) -> tuple[Any, Any]:
    """(fake mode or None, input tensor) matching the module's device and dtype."""
    params = list(module.parameters()) + list(module.buffers())
    dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
    size = (1, channels, *shape)
    if any(p.device.type == "meta" for p in params):
        return None, torch.empty(size, dtype=dtype, device="meta")
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    device = params[0].device if params else "cpu"
    return mode, mode.from_tensor(torch.empty(size, dtype=dtype, device=device))


def _in_channels(torch: Any, module: Any) -> int:
    for m in module.modules():
        channels = getattr(m, "in_channels", None)
        if isinstance(channels, int) and channels > 0:
            return channels
        if isinstance(m, torch.nn.Linear):
            break
    return 3


def _trace(torch: Any, module: Any, leaf_modules: tuple[type, ...]) -> Any:
    fx = torch.fx

    class Tracer(fx.Tracer):  # type: ignore[name-defined,misc]
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return isinstance(m, leaf_modules) or super().is_leaf_module(m, qualname)

    tracer = Tracer()
    graph = tracer.trace(module)
    return fx.GraphModule(tracer.root, graph)


def _from_fx(
    torch: Any, module: Any, gm: Any, conv: _Converter, shape: tuple[int, ...], channels: int, output: Any
) -> int:
    from torch.fx.passes.shape_prop import ShapeProp

    mode, x = _example(torch, module, shape, channels)
    try:
        # ShapeProp prints a traceback of its own before re-raising: keep stderr clean.
        with contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm, fake_mode=mode).propagate(x) if mode is not None else ShapeProp(gm).propagate(x)
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        cause = err.__cause__ or err
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise RFGraphError(
            f"running the traced model on a {tuple(x.shape)} input failed: {reason}; check input_shape and in_channels"
        ) from None
    return _FxImporter(conv, gm, output).run()


def _from_hooks(torch: Any, module: Any, conv: _Converter, shape: tuple[int, ...], channels: int) -> int:
    calls: list[tuple[str, Any, Any, Any]] = []
    handles = []
    for path, m in module.named_modules():
        if not any(True for _ in m.children()):
            path = path or type(m).__name__.lower()  # a lone leaf module is its own network

            def hook(mod: Any, inputs: Any, out: Any, path: str = path) -> None:
                first = inputs[0] if inputs else None
                calls.append(
                    (
                        path,
                        mod,
                        tuple(getattr(first, "shape", ())) or None,
                        tuple(out.shape) if hasattr(out, "shape") else None,
                    )
                )

            handles.append(m.register_forward_hook(hook))
    mode, x = _example(torch, module, shape, channels)
    try:
        try:
            with mode if mode is not None else contextlib.nullcontext():
                module(x)
        except Exception:  # noqa: BLE001 - e.g. data-dependent control flow needs real values
            if mode is None:
                raise
            calls.clear()
            with torch.no_grad():
                module(torch.zeros(tuple(x.shape), dtype=x.dtype, device=x.device))
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        raise RFGraphError(f"running the model on a {tuple(x.shape)} input failed: {err}") from None
    finally:
        for h in handles:
            h.remove()
    value: Value = _T(0, conv.ndim + 2)
    for path, mod, in_shape, out_shape in calls:
        scopes = [".".join(path.split(".")[: k + 1]) for k in range(path.count(".") + 1)]
        if isinstance(value, _T) and in_shape is not None and len(in_shape) == 2 and math.prod(conv.spatial(value)) > 1:
            value = _Flat(value.index)  # flattened in forward() between two modules
        if (
            isinstance(value, _T)
            and in_shape is not None
            and len(in_shape) >= conv.ndim + 1
            and tuple(in_shape[-conv.ndim :]) != conv.spatial(value)
        ):
            raise RFGraphError(
                f"module {path!r} ({type(mod).__name__}) reads a {in_shape} tensor, not the previous module's "
                f"output (spatial {conv.spatial(value)}): the model is not sequential, and fx could not trace it; "
                "make it traceable (torch.fx) or describe it with rfgraph ops"
            )
        before = _first_index(value)
        value = conv.module(mod, path, value, in_shape, out_shape, scopes)
        index = _first_index(value)
        if index is not None:
            conv.dag.note(scopes[:-1] if index == before else scopes, index)
    return _pick_output(value, None)


def from_torch(
    module: Any,
    input_shape: Any,
    *,
    identity: Iterable[type | str] = (),
    method: str = "auto",
    in_channels: int | None = None,
    leaf_modules: Iterable[type] = (),
    output: Any = None,
) -> Op:
    """Import a ``torch.nn.Module`` for a given spatial input shape.

    Parameters
    ----------
    module : torch.nn.Module
        The model (any device, including ``meta``; weights are never read).
    input_shape : tuple of int
        Spatial input size (1 to 3 axes), e.g. ``(224, 224)``.
    identity : iterable of type or str, optional
        Module types (or class names, or function names) to treat as pointwise no-ops.
    method : {"auto", "fx", "hooks"}
        ``"fx"`` traces with ``torch.fx``; ``"hooks"`` records leaf modules in call order
        (sequential models only); ``"auto"`` tries fx and falls back to hooks.
    in_channels : int, optional
        Channels of the example input; by default those of the first convolution.
    leaf_modules : iterable of type, optional
        Custom module types fx should not trace into (they must then be in ``identity``).
    output : int or str, optional
        Which output to follow when the model returns a tuple or dict (default: the
        first, or ``"out"``).

    Returns
    -------
    Op
        A flat :class:`~rfgraph.ops.Sequential`; tensor names follow module paths.

    Raises
    ------
    RFGraphError
        For an unsupported module or function (named with its module path and type).

    Examples
    --------
    >>> import torch.nn as nn
    >>> import rfgraph as rf
    >>> net = from_torch(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.AvgPool2d(2)), (10, 10))
    >>> [r.size for r in rf.receptive_field(net, (10, 10))]
    [(1, 1), (3, 3), (4, 4)]
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise RFGraphError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if method not in ("auto", "fx", "hooks"):
        raise RFGraphError(f"method={method!r} is unknown; use 'auto', 'fx' or 'hooks'")
    shape = normalize_shape(input_shape)
    channels = _in_channels(torch, module) if in_channels is None else in_channels
    identity = tuple(identity)
    leaf = tuple(leaf_modules)
    with _eval_mode(module):
        gm = None
        # A torch.nn built-in without children is one leaf; anything else (a user's module whose
        # forward calls torch functions) is traced.
        builtin_leaf = not any(True for _ in module.children()) and type(module).__module__.startswith("torch.nn")
        if method in ("auto", "fx") and not builtin_leaf:
            try:
                gm = _trace(torch, module, leaf)
            except Exception as err:  # noqa: BLE001 - fx raises many kinds of errors on untraceable code
                if method == "fx":
                    raise RFGraphError(
                        f"torch.fx cannot trace {type(module).__name__}: {err}; "
                        "try method='hooks' for a sequential model"
                    ) from None
        conv = _Converter(torch, shape, identity)
        if gm is not None:
            return conv.dag.network(_from_fx(torch, module, gm, conv, shape, channels, output))
        out = _from_hooks(torch, module, conv, shape, channels)
        return conv.dag.network(out)
