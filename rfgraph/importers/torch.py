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
from ._convert import (
    _ARITHMETIC,
    _CATS,
    _NON_TENSOR,
    _PERMUTES,
    _REDUCTIONS,
    _RESHAPES,
    _SOFTMAX,
    _T,
    POINTWISE_FUNCTIONS,
    Value,
    _Converter,
    _depends_on_input,
    _first_index,
    _Flat,
    _func_name,
    _pick_output,
    _Same,
    _tensor_values,
    _torch,
)

__all__ = ["from_torch", "POINTWISE_FUNCTIONS"]


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
