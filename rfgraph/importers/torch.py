"""Import a ``torch.nn.Module`` as an rfgraph network (needs the ``torch`` extra).

The module is traced with ``torch.fx`` (symbolic tracing, in eval mode, restored
afterwards) and its tensor shapes are propagated once on meta tensors
(:mod:`rfgraph.importers._shapes`: no copy of the module, pointwise ops not run; sizes that
forward computes are read as this input gives them), so nothing is computed and no weights are
touched.  ``torch.export`` is used only when fx cannot trace the module.  Translations are
cached within the process by module structure and input shape.  Every fx node then becomes

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
expressed exactly with :class:`~rfgraph.ops.Ref`; see :mod:`rfgraph.importers._dag` for the
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
from typing import Any

from ..errors import RFGraphError
from ..ops import Op
from ..plan import normalize_shape
from . import _digits, _fx_masks
from ._cache import CACHE, CACHE_SIZE, cache_key, clear_cache
from ._convert import (
    _Converter,
    _depends_on_input,
    _first_index,
    _func_name,
    _pick_output,
    _tensor_values,
    _torch,
)
from ._fx_errors import _channels_hint, _first_conv_channels, _in_channels, _plain_reason
from ._fx_functions import _bind, _Functions, reduction_args
from ._hooks import eval_mode, example, from_hooks
from ._layout import _T, Value, _Flat, _Same, _Scores, _Split
from ._modules import convert_module, is_same_padding_module
from ._names import (
    _ARITHMETIC,
    _CATS,
    _NON_TENSOR,
    _NORMS,
    _PERMUTES,
    _REDUCTIONS,
    _RESHAPES,
    _SOFTMAX,
    POINTWISE_FUNCTIONS,
)
from ._shapes import MetaFailed, Traced, fake_shapes, propagate
from ._tokens import (
    attend_query,
    class_token_concat,
    einsum,
    index_tokens,
    matmul,
    patch_merging,
    window_attention,
)

__all__ = ["from_torch", "clear_cache", "POINTWISE_FUNCTIONS"]


def _nodes(torch: Any, value: Any) -> Iterator[Any]:
    if isinstance(value, torch.fx.Node):
        yield value
    elif isinstance(value, slice):
        for part in (value.start, value.stop, value.step):
            yield from _nodes(torch, part)
    elif isinstance(value, list | tuple):
        for part in value:
            yield from _nodes(torch, part)


def _has_node(torch: Any, value: Any) -> bool:
    return next(_nodes(torch, value), None) is not None


class _ShapeDependent(RFGraphError):
    """fx left a size computed in forward symbolic (torch.export specialises it for the input)."""


class _FxImporter(_Functions):
    def __init__(
        self, conv: _Converter, gm: Any, output: Any, input_name: str | None = None, specialise: bool = False
    ) -> None:
        self.c = conv
        self.specialise = specialise  # read sizes fx keeps symbolic as the meta run computed them
        self.gm = gm
        self.output = output
        self.input_name = input_name  # torch.export lists parameters as placeholders before the input
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

    def static(self, value: Any, scopes: list[str], what: str) -> int:
        """An int argument; one that forward computed from tensor sizes is only known to torch.export."""
        if isinstance(value, self.c.torch.fx.Node):
            known = value.meta.get("rf_value") if self.specialise else None  # the meta run's value
            if isinstance(known, int) and not isinstance(known, bool):
                return known
            raise _ShapeDependent(
                f"{self.c.where(scopes, what)} is computed in forward from tensor sizes, which torch.fx keeps "
                f"symbolic; {_OPTIONS}"
            )
        return int(value)

    def concrete(self, index: Any, scopes: list[str]) -> Any:
        """An index with every size computed in forward replaced by its int (or the fx error)."""
        if isinstance(index, self.c.torch.fx.Node):
            return self.static(index, scopes, "an index")
        if isinstance(index, slice):
            return slice(*(self.concrete(p, scopes) for p in (index.start, index.stop, index.step)))
        if isinstance(index, list | tuple):
            return type(index)(self.concrete(p, scopes) for p in index)
        return index

    @staticmethod
    def shape(node: Any) -> tuple[int, ...] | None:
        meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
        if meta is None and hasattr(node, "meta"):
            meta = node.meta.get("val")  # torch.export records fake tensors
        shape = getattr(meta, "shape", None)
        try:
            return tuple(int(n) for n in shape) if shape is not None else None
        except TypeError:  # symbolic sizes
            return None

    @staticmethod
    def scopes(node: Any) -> list[str]:
        stack = node.meta.get("nn_module_stack") or {}
        # fx: {path: type}; torch.export: {key: (path, type)}
        paths = [v[0] if isinstance(v, tuple) else k for k, v in stack.items()]
        return [p for p in paths if isinstance(p, str) and p]

    def run(self) -> int:
        placeholders = 0
        result: Value = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                placeholders += 1
                first = node.name == self.input_name if self.input_name else placeholders == 1
                self.env[node] = _T(0, self.c.ndim + 2) if first else None
            elif node.op == "get_attr":
                self.env[node] = None
            elif node.op == "output":
                result = self.value(node.args[0])
            else:
                value = self.check(node, self.convert(node))
                self.env[node] = value
                index = _first_index(value)
                if isinstance(value, _Split):  # end-points are tensors in grid order: not this one
                    self.c.dag.forget(self.scopes(node))
                elif index is not None:
                    scopes = self.scopes(node)
                    if node.op == "call_module" and index == _first_index(self.value(node.args[0])):
                        scopes = scopes[:-1]  # a pointwise leaf module is no end-point of its own
                    self.c.dag.note(scopes, index)
        return _pick_output(result, self.output)

    def check(self, node: Any, value: Value) -> Value:
        shape = self.shape(node)
        if isinstance(value, _Split):
            return _digits.resync(value, shape)
        if isinstance(value, _T) and shape is not None and len(shape) == value.rank and not value.hidden:
            got = self.c.spatial(value)
            if self.c.is_flattened(value):
                bad = (shape[self.c.dims(value)[0]] - value.extra) % math.prod(got) != 0
            else:
                bad = tuple(shape[a] for a in self.c.dims(value)) != got
            if bad:
                raise RFGraphError(
                    f"importing {node.format_node()}: rfgraph computes spatial shape {got} but torch gives "
                    f"{tuple(shape)}; a module treated as a no-op (identity=...) changes the spatial size here, "
                    "so it cannot be ignored"
                )
        return value

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
            if isinstance(mod, c.nn.MultiheadAttention) and not isinstance(mod, c.identity_types):
                qkv = [v for v in args[:3] + [self.value(node.kwargs.get(k)) for k in ("query", "key", "value")]]
                first = next((v for v in qkv if isinstance(v, _T)), None)
                tokens = 0 if first is None or first.rank < 3 else (1 if mod.batch_first else 0)
                query = args[0] if args else self.value(node.kwargs.get("query"))
                rest = [v for v in qkv[1:] if v is not None]
                ok = _fx_masks.mha_allowed(self, node, scopes)
                return (attend_query(c, query, rest, scopes, "attention", token_axis=tokens, allowed=ok), None)
            return convert_module(c, mod, node.target, x, in_shape, out_shape, scopes)
        name = _func_name(node.target)
        tensors = _tensor_values(args) + _tensor_values(list(self.value(dict(node.kwargs)).values()))
        if not tensors:
            return None
        if node.target is operator.getitem and isinstance(x, _Split):
            return _digits.getitem(c, x, node.args[1], scopes)
        if node.target is operator.getitem:
            index = node.args[1]
            if isinstance(x, _T) and _has_node(self.c.torch, index):
                index = self.concrete(index, scopes)
            if isinstance(x, _T) and c.is_flattened(x) and (x.extra or index != slice(None)):
                return self.tokens(x, index, scopes)
            return c.getitem(x, index, scopes)
        if name == "shifted_window_attention":  # torchvision's Swin (fx-wrapped)
            a = _bind(
                tuple(node.args),
                node.kwargs,
                "input qkv_weight proj_weight relative_position_bias window_size num_heads shift_size",
                {},
            )
            return window_attention(c, x, a["window_size"], a["shift_size"], scopes, "attention")
        if name == "patch_merging_pad":
            return patch_merging(c, x, scopes, "merge")
        if name in ("scaled_dot_product_attention",):
            return _fx_masks.sdpa(self, node, args, scopes)
        if isinstance(x, _Scores) and name in ("masked_fill", "masked_fill_"):
            return _fx_masks.scores_masked(self, node, name, x, scopes)
        if name in ("matmul", "bmm"):
            return matmul(c, args[0], args[1] if len(args) > 1 else None, out_shape, scopes, name)
        if node.target is getattr and isinstance(x, tuple) and node.args[1] in ("values", "indices"):
            return x[0] if node.args[1] == "values" else x[-1]  # torch.return_types (sort, cummax, max(dim))
        if name in _NON_TENSOR:
            return None
        if name == "select" and isinstance(x, _T | _Split):  # ATen select(x, dim, index): x[..., index]
            dim, at = int(node.args[1]) % x.rank, self.static(node.args[2], scopes, "an index")
            index = (slice(None),) * dim + (at,)
            if isinstance(x, _Split):
                return _digits.getitem(c, x, index, scopes)
            if c.is_flattened(x) and (x.extra or dim in c.dims(x)):
                return self.tokens(x, index, scopes)
            return c.getitem(x, index, scopes)
        if name == "slice" and isinstance(x, _T):  # ATen slice(x, dim, start, end, step) (torch.export)
            a = _bind(
                tuple(node.args),
                node.kwargs,
                "input dim start end step",
                {"dim": 0, "start": None, "end": None, "step": 1},
            )
            index = (slice(None),) * (a["dim"] % x.rank) + (slice(a["start"], a["end"], a["step"]),)
            if c.is_flattened(x) and a["dim"] % x.rank in c.dims(x):
                end = a["end"] if a["end"] is None or a["end"] < 2**62 else None  # ATen's "to the end"
                index = (slice(None),) * (a["dim"] % x.rank) + (slice(a["start"] or None, end, a["step"]),)
                return self.tokens(x, index, scopes)
            return c.getitem(x, index, scopes)
        kw = node.kwargs
        if name in c.identity_names:
            return x
        if name in _CATS:
            parts = args[0] if isinstance(args[0], list | tuple) else [args[0]]
            dim = self.constant(node.args[1]) if len(node.args) > 1 else kw.get("dim", kw.get("axis", 0))
            maps = [p for p in parts if isinstance(p, _T)]
            if len(maps) == 1 and c.is_flattened(maps[0]) and dim % maps[0].rank == c.dims(maps[0])[0]:
                # constant tokens (a class token) before the grid
                sizes = [(self.shape(n) or (0,) * maps[0].rank)[dim] for n in node.args[0]]
                at = next(i for i, p in enumerate(parts) if p is maps[0])
                seen = any(isinstance(p, _Flat) and c.is_global(p) for p in parts[:at])
                return class_token_concat(c, maps[0], sum(sizes[:at]), sum(sizes[at + 1 :]), scopes, "cat", seen)
            return c.concat(list(parts), dim, scopes, "cat")
        if name == "stack":
            parts = args[0] if isinstance(args[0], list | tuple) else [args[0]]
            dim = self.constant(node.args[1]) if len(node.args) > 1 else kw.get("dim", 0)
            return c.stack(list(parts), dim, scopes, "stack")
        if name in ("expand", "expand_as", "broadcast_to"):
            if isinstance(x, _Split):
                return _Split(x.index, x.atoms)  # a reduced group broadcast back over its positions
            return c.expand(x, out_shape, scopes, name)
        if name == "einsum":
            nodes = node.args[1:] if len(node.args) > 2 or not isinstance(node.args[1], list | tuple) else node.args[1]
            operands = [self.value(n) for n in nodes]
            shapes = [self.shape(n) if hasattr(n, "meta") else None for n in nodes]
            return einsum(c, node.args[0], operands, shapes, scopes)
        if name in _ARITHMETIC or node.target in (operator.add, operator.mul, operator.sub, operator.truediv):
            base = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "truediv"}.get(name, name.rstrip("_"))
            masked = _fx_masks.arithmetic(self, node, name, out_shape, scopes)
            return masked if masked is not None else c.merge("add", tensors, scopes, base)
        if name == "normalize" and isinstance(x, _T | _Split):  # F.normalize(x, p, dim=1): a norm along dim
            dim = node.args[2] if len(node.args) > 2 else kw.get("dim", 1)
            if isinstance(x, _Split):
                return _digits.softmax(c, x, dim, scopes, name)
            if dim % x.rank in c.dims(x) and not c.is_global(x):
                return c.mix_axis(x, dim, scopes, name)  # over positions (XCiT's q and k): they are coupled
            return x
        if name in POINTWISE_FUNCTIONS or (name.endswith("_") and name[:-1] in POINTWISE_FUNCTIONS):
            return x  # also the in-place variants (hardswish_)
        if name in _SOFTMAX:
            dim = node.args[1] if len(node.args) > 1 else kw.get("dim")
            if isinstance(x, _Split):
                return _digits.softmax(c, x, dim, scopes, name)
            if isinstance(x, _T) and dim is not None and dim % x.rank in c.dims(x) and not c.is_global(x):
                return c.mix_axis(x, dim, scopes, name)  # normalised over positions: they are coupled
            return x
        if name in _NORMS:
            if name == "layer_norm":
                shape = node.args[1] if len(node.args) > 1 else kw["normalized_shape"]
                k = 1 if isinstance(shape, int) else len(shape)
                return c.norm(x, range(x.rank - k, x.rank), scopes, name) if isinstance(x, _T | _Split) else x
            return c.norm(x, None, scopes, name)
        if name in ("linear",):
            weight = self.shape(node.args[1]) if len(node.args) > 1 and hasattr(node.args[1], "meta") else None
            return c.linear(
                x, scopes, "linear", (weight[1], weight[0]) if weight is not None and len(weight) == 2 else None
            )
        if name in _RESHAPES:
            return c.reshape(x, in_shape, out_shape, scopes, name)
        if name in _PERMUTES:
            return self.permute(node, x, name, scopes)
        if name in ("chunk", "split", "unbind", "tensor_split", "split_with_sizes"):
            at = 1 if name == "unbind" else 2
            dim = node.args[at] if len(node.args) > at else kw.get("dim", 0)
            if isinstance(x, _Split):
                return _Same(_digits.chunk(c, x, dim, name == "unbind", scopes, name))
            if isinstance(x, _T) and dim % x.rank in c.dims(x) and not c.is_global(x):
                raise RFGraphError(f"{c.where(scopes, name)} splits a spatial axis; not supported")
            if name == "unbind" and isinstance(x, _T):  # one axis fewer
                d = dim % x.rank
                axes = tuple(a - (a > d) for a in c.dims(x))
                x = _T(
                    x.index,
                    x.rank - 1,
                    None if axes == tuple(range(x.rank - 1 - c.ndim, x.rank - 1)) else axes,
                    None,
                    x.extra,
                    x.mixed,
                )
            return _Same(x)
        if not isinstance(x, _T):
            if isinstance(x, _Flat):
                return x
            if isinstance(x, _Scores) and name in _REDUCTIONS:
                return x  # a normaliser of the scores (ConViT): still a function of queries and keys
            if isinstance(x, _Split) and name in ("conv1d", "conv2d", "conv3d"):
                a = _bind(tuple(node.args), kw, "input weight bias stride padding dilation groups", {"stride": 1})
                weight = self.shape(a["weight"]) if hasattr(a["weight"], "meta") else None
                kernel = weight[2:] if weight is not None else (0,)
                return c.conv(x, kernel, a["stride"], a.get("padding", 0), 1, scopes, name)
            if isinstance(x, _Split) and name in _REDUCTIONS:
                axes, keep = reduction_args(name, tuple(node.args), kw)
                return c.reduce(x, axes, keep, scopes, name)
            if isinstance(x, _Split):
                raise RFGraphError(
                    f"{c.where(scopes, name)}: {name!r} on a window-partitioned tensor (spatial axes split into "
                    "windows) is not supported"
                )
            raise RFGraphError(f"{c.where(scopes, name)}: unsupported use of {name!r}")
        return self.spatial_function(node, name, x, kw, out_shape, scopes)

    def tokens(self, x: _T, index: Any, scopes: list[str]) -> Value:
        """Index a tensor whose spatial axes are one flattened token axis."""
        return index_tokens(self.c, x, index, scopes)

    def permute(self, node: Any, x: Value, name: str, scopes: list[str]) -> Value:
        if not isinstance(x, _T | _Split):
            return x
        c = self.c
        if name == "permute":
            dims = node.args[1:] if len(node.args) > 2 else node.args[1] if len(node.args) > 1 else node.kwargs["dims"]
            return c.permute(x, dims, scopes, name)
        a = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim0", node.kwargs.get("source"))
        b = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim1", node.kwargs.get("destination"))
        if name == "movedim":
            order = [d for d in range(x.rank) if d != a % x.rank]
            order.insert(b % x.rank, a % x.rank)
            return c.permute(x, order, scopes, name)
        return c.swap(x, a, b, scopes, name)


def _trace(torch: Any, module: Any, leaf_modules: tuple[type, ...]) -> Any:
    fx = torch.fx

    class Tracer(fx.Tracer):  # type: ignore[name-defined,misc]
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if isinstance(m, leaf_modules) or is_same_padding_module(torch.nn, m):
                return True
            return super().is_leaf_module(m, qualname)

    tracer = Tracer()
    graph = tracer.trace(module)
    return Traced(tracer.root, graph)


def _from_fx(
    torch: Any,
    module: Any,
    gm: Any,
    conv: _Converter,
    shape: tuple[int, ...],
    channels: int,
    output: Any,
    guessed: bool = False,
    specialise: bool = True,
) -> int:
    mode, x = example(torch, module, shape, channels)
    try:
        # Shapes on meta tensors: no deep copy of the module into fake tensors, no dispatcher per op.
        try:
            propagate(torch, gm, x)
        except MetaFailed:
            fake_shapes(torch, gm.graph_module(torch), mode, x)
    except RFGraphError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        cause = err.__cause__ or err
        raise RFGraphError(
            f"running the traced model on a {tuple(x.shape)} input failed: {_first_line(cause)}"
            + ("" if _plain_reason(str(cause)) != str(cause) else "; " + _channels_hint(channels, guessed))
        ) from None
    return _FxImporter(conv, gm, output, specialise=specialise).run()


_OPTIONS = (
    "make forward traceable (no if/for on tensor values), keep the offending submodule opaque with "
    "leaf_modules=(...) plus identity=(...), or pass method='hooks' if the model is purely sequential "
    "(each leaf module reads the previous one's output; merges in forward are then lost)"
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return _plain_reason(text.splitlines()[0] if text else type(err).__name__)


def _from_export(
    torch: Any, module: Any, conv: _Converter, shape: tuple[int, ...], channels: int, output: Any, fx_error: str
) -> int:
    """Import through ``torch.export`` (the model's own graph for this input), when fx cannot trace it."""
    mode, fake = example(torch, module, shape, channels)
    x = torch.zeros(tuple(fake.shape), dtype=fake.dtype, device=fake.device)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            program = torch.export.export(module, (x,), strict=False)
    except Exception as err:  # noqa: BLE001 - export raises many kinds of errors
        raise RFGraphError(
            f"torch.fx cannot trace {type(module).__name__} ({fx_error}), and torch.export with a "
            f"{tuple(x.shape)} input failed too ({_first_line(err)}); {_OPTIONS}"
        ) from None
    user_inputs = list(program.graph_signature.user_inputs)
    importer = _FxImporter(conv, program.graph_module, output, input_name=user_inputs[0] if user_inputs else None)
    try:
        return importer.run()
    except RFGraphError as err:  # the reason is fx's; torch.export's graph was only the fall-back
        raise RFGraphError(
            f"{fx_error.rstrip('; ')} -- so rfgraph read torch.export's graph instead, which it cannot import "
            f"either: {err}"
        ) from None


def from_torch(
    module: Any,
    input_shape: Any,
    *,
    identity: Iterable[type | str] = (),
    method: str = "auto",
    in_channels: int | None = None,
    leaf_modules: Iterable[type] = (),
    output: Any = None,
    norm_stats: str = "global",
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
        ``"fx"`` traces with ``torch.fx``; ``"auto"`` tries fx and, when fx cannot trace the
        model (control flow on shapes), ``torch.export`` with the example input, whose graph is
        the module's own; if both fail it raises, naming the fx error.  ``"hooks"`` records
        leaf modules in call order: exact for sequential models only (a merge written in
        ``forward`` is invisible to hooks), so it is used only when asked for.
    in_channels : int, optional
        Channels of the example input; by default those of the first convolution.
    leaf_modules : iterable of type, optional
        Custom module types fx should not trace into (they must then be in ``identity``).
    output : int or str, optional
        Which output to follow when the model returns a tuple or dict (default: the
        first, or ``"out"``).
    norm_stats : {"global", "ignore"}
        Instance, group and layer normalisation over spatial axes: by default their
        statistics read every position (a global pool feeding every position, SPEC
        section 3); ``"ignore"`` treats the statistics as constants (pointwise).

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
    key = cache_key(torch, module, (shape, identity, method, channels, leaf, output, norm_stats))
    if key is not None and key in CACHE:
        CACHE.move_to_end(key)
        return CACHE[key]
    guessed = in_channels is None and _first_conv_channels(torch, module) is None
    net = _import(torch, module, shape, identity, method, channels, leaf, output, norm_stats, guessed)
    if key is not None:
        CACHE[key] = net
        while len(CACHE) > CACHE_SIZE:
            CACHE.popitem(last=False)
    return net


def _import(
    torch: Any,
    module: Any,
    shape: tuple[int, ...],
    identity: tuple[Any, ...],
    method: str,
    channels: int,
    leaf: tuple[type, ...],
    output: Any,
    norm_stats: str,
    guessed: bool = False,
) -> Op:
    with eval_mode(module):
        gm = None
        # A torch.nn built-in without children is one leaf; anything else (a user's module whose
        # forward calls torch functions) is traced.
        builtin_leaf = not any(True for _ in module.children()) and type(module).__module__.startswith("torch.nn")
        conv = _Converter(torch, shape, identity, norm_stats)
        if method in ("auto", "fx") and not builtin_leaf:
            try:
                gm = _trace(torch, module, leaf)
            except Exception as err:  # noqa: BLE001 - fx raises many kinds of errors on untraceable code
                reason = _first_line(err)
                if method == "fx":
                    raise RFGraphError(f"torch.fx cannot trace {type(module).__name__}: {reason}; {_OPTIONS}") from None
                # Never a silent fall-back to hooks (they miss merges written in forward): only torch.export,
                # which records the module's own tensor graph for this input.
                return conv.dag.network(_from_export(torch, module, conv, shape, channels, output, reason))
            try:
                # Sizes computed in forward are read as this input gives them (what torch.export would
                # specialise them to) with method="auto"; method="fx" keeps fx's symbolic sizes.
                return conv.dag.network(
                    _from_fx(torch, module, gm, conv, shape, channels, output, guessed, specialise=method == "auto")
                )
            except _ShapeDependent as err:
                if method == "fx":
                    raise RFGraphError(str(err)) from None
                conv = _Converter(torch, shape, identity, norm_stats)  # start again from torch.export's graph
                return conv.dag.network(_from_export(torch, module, conv, shape, channels, output, str(err)))
        out = from_hooks(torch, module, conv, shape, channels)
        return conv.dag.network(out)
