"""The shared translation layer of the importers: tensors, merges and leaf ops.

Both :mod:`rfgraph.importers.torch` and :mod:`rfgraph.importers.onnx` walk a computation
graph in topological order; this module turns what they read (a convolution, a pool,
a resize, a crop, a reshape, a reduction, a merge) into rfgraph ops on a
:class:`~rfgraph.importers._dag.Dag`, so that both importers translate the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import RFGraphError
from ..ops import Conv, ConvTranspose, Crop, GlobalPool, Op, Pool, Upsample
from ._dag import Dag

__all__ = ["POINTWISE_FUNCTIONS"]


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
    """Turns a stream of operations into a :class:`~rfgraph.importers._dag.Dag` (shared with the ONNX importer,
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
            from ..geometry import resolve

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
