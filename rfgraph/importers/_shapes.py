"""Shapes of a traced module's values on meta tensors, cheaply (issue 28).

``torch.fx``'s ``ShapeProp`` with a fake mode first deep-copies the whole module into fake
tensors and then runs every op through the fake-tensor dispatcher; without a fake mode it needs
the weights on the device of the input.  The importer needs neither values nor weights, only
shapes, so :func:`propagate` walks the graph once on ``meta`` tensors:

* an op that keeps the shape of its input (activations, normalisation, dropout: everything the
  importer treats as pointwise) returns its input, without running;
* elementwise arithmetic returns an empty meta tensor of the broadcast shape;
* every other module runs on meta tensors with meta copies of its own parameters and buffers
  (``torch.func.functional_call``); functions and methods run on meta tensors;
* Python values computed from sizes (``x.shape[2] // 7``) are recorded too
  (``node.meta["rf_value"]``), so the importer can read an int that fx keeps symbolic as what
  ``torch.export`` would specialise it to for this input.

Any failure (data-dependent code that needs real values) raises :class:`MetaFailed`; the caller
then falls back to ``ShapeProp`` on fake tensors.
"""

from __future__ import annotations

import contextlib
import io
import operator
from typing import Any

from ._modules import is_pointwise_module
from ._names import _ARITHMETIC, POINTWISE_FUNCTIONS

__all__ = ["propagate", "MetaFailed", "Traced", "fake_shapes"]

# Shape-preserving functions and methods whose dtype or shape never changes (run nothing for them).
_SAME_SHAPE = POINTWISE_FUNCTIONS - {"to", "type", "type_as", "float", "half", "double", "bfloat16", "channel_shuffle"}
_BINARY = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.iadd,
    operator.isub,
    operator.imul,
    operator.itruediv,
}


class MetaFailed(Exception):
    """Meta tensors do not serve for this module (it needs real values)."""


def _name(target: Any) -> str:
    name = target if isinstance(target, str) else getattr(target, "__name__", "")
    return str(name).lstrip("_")


def _meta(torch: Any, t: Any) -> Any:
    if t.device.type == "meta":
        return t
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def _same_shape_module(nn: Any, mod: Any) -> bool:
    return is_pointwise_module(nn, mod) or isinstance(mod, nn.LayerNorm | nn.GroupNorm)


def propagate(torch: Any, gm: Any, example: Any) -> None:
    """Set ``node.meta["val"]`` (a meta tensor) or ``node.meta["rf_value"]`` for every node of ``gm``.

    ``example`` is the input (any device; only its shape and dtype are used).
    """
    fx = torch.fx
    env: dict[Any, Any] = {}
    first = True
    metas: dict[int, Any] = {}

    def meta_of(t: Any) -> Any:
        key = id(t)
        if key not in metas:
            metas[key] = (_meta(torch, t), t)  # keep t alive so its id stays unique
        return metas[key][0]

    def load(a: Any) -> Any:
        return fx.node.map_arg(a, lambda n: env[n])

    try:
        with torch.no_grad():
            for node in gm.graph.nodes:
                if node.op == "placeholder":
                    value = _meta(torch, example) if first else None
                    first = False
                elif node.op == "get_attr":
                    obj = gm
                    for part in str(node.target).split("."):
                        obj = getattr(obj, part)
                    value = meta_of(obj) if isinstance(obj, torch.Tensor) else obj
                elif node.op == "output":
                    continue
                else:
                    args, kwargs = load(node.args), load(node.kwargs)
                    value = _run(torch, gm, node, args, kwargs, meta_of)
                env[node] = value
                if isinstance(value, torch.Tensor):
                    node.meta["val"] = value
                else:
                    node.meta["rf_value"] = value
    except MetaFailed:
        raise
    except Exception as err:  # noqa: BLE001 - anything that needs real values
        raise MetaFailed(str(err)) from None


def _empty(torch: Any, shape: Any, like: Any) -> Any:
    return torch.empty(tuple(shape), dtype=like.dtype, device="meta")


def _conv_shape(mod: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of a (not transposed) convolution module, or None when it is unusual."""
    k = len(mod.kernel_size)
    if len(shape) not in (k + 1, k + 2) or getattr(mod, "transposed", False):
        return None
    spatial = shape[-k:]
    if mod.padding == "same":
        out = spatial
    else:
        pad = (0,) * k if mod.padding == "valid" else tuple(mod.padding)
        if len(pad) != k:
            return None
        out = tuple(
            (n + 2 * p - d * (kk - 1) - 1) // s + 1
            for n, p, d, kk, s in zip(spatial, pad, mod.dilation, mod.kernel_size, mod.stride)
        )
    if any(n < 1 for n in out) or shape[-k - 1] != mod.in_channels:
        return None  # let torch raise its own error
    return shape[: -k - 1] + (mod.out_channels,) + out


def _run(torch: Any, gm: Any, node: Any, args: Any, kwargs: Any, meta_of: Any) -> Any:
    nn = torch.nn
    first: Any = args[0] if args else None
    tensor: Any = torch.Tensor
    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        plain = isinstance(first, tensor) and len(args) == 1 and not kwargs
        if plain and _same_shape_module(nn, mod):
            return first
        if plain and type(mod) in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
            out = _conv_shape(mod, tuple(first.shape))
            if out is not None:
                return _empty(torch, out, first)
        adaptive = {nn.AdaptiveAvgPool1d: 1, nn.AdaptiveAvgPool2d: 2, nn.AdaptiveAvgPool3d: 3}
        adaptive.update({nn.AdaptiveMaxPool1d: 1, nn.AdaptiveMaxPool2d: 2, nn.AdaptiveMaxPool3d: 3})
        if plain and type(mod) in adaptive and not getattr(mod, "return_indices", False):
            out = _adaptive_shape(mod.output_size, adaptive[type(mod)], tuple(first.shape))
            if out is not None:
                return _empty(torch, out, first)
        if plain and type(mod) is nn.Linear and first.shape and first.shape[-1] == mod.in_features:
            return _empty(torch, tuple(first.shape[:-1]) + (mod.out_features,), first)
        state = {k: meta_of(v) for k, v in mod.state_dict(keep_vars=True).items()}
        with torch.device("meta"):
            if not state:
                return mod(*args, **kwargs)
            return torch.func.functional_call(mod, state, tuple(args), kwargs, strict=False)
    name = _name(node.target)
    if name in _SAME_SHAPE and isinstance(first, tensor):
        return first
    binary = node.target in _BINARY or (name in _ARITHMETIC and name not in ("where", "lerp", "addcmul", "addcdiv"))
    if binary and len(args) == 2 and not kwargs:
        tensors = [a for a in args if isinstance(a, tensor)]
        if tensors and all(isinstance(a, tensor | int | float | bool) for a in args):
            shape = _broadcast(*(tuple(t.shape) for t in tensors))
            dtype = torch.result_type(args[0], args[1])
            return torch.empty(shape, dtype=dtype, device="meta")
    if name in ("cat", "concat", "concatenate") and not kwargs.keys() - {"dim", "axis"}:
        cat = _cat_shape(first, kwargs.get("dim", kwargs.get("axis", args[1] if len(args) > 1 else 0)), tensor)
        if cat is not None:
            return _empty(torch, cat, first[0])
    with torch.device("meta"):  # factory functions in forward (torch.arange, zeros) make meta tensors
        if node.op == "call_method":
            return getattr(first, node.target)(*args[1:], **kwargs)
        return node.target(*args, **kwargs)


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of shapes (ValueError when they do not broadcast), without torch's refs."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _adaptive_shape(size: Any, k: int, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of a ``k``-axis adaptive pool to ``size`` (None: leave it to torch)."""
    sizes = (size,) * k if isinstance(size, int) else tuple(size)
    if len(sizes) != k or len(shape) < k + 1 or not all(n is None or (isinstance(n, int) and n > 0) for n in sizes):
        return None
    spatial = shape[-k:]
    return shape[:-k] + tuple(s if n is None else n for n, s in zip(sizes, spatial))


def _cat_shape(parts: Any, dim: Any, tensor: Any) -> list[int] | None:
    if not isinstance(parts, list | tuple) or not parts or not isinstance(dim, int):
        return None
    shapes = [tuple(t.shape) for t in parts if isinstance(t, tensor)]
    if len(shapes) != len(parts) or len({len(s) for s in shapes}) != 1 or not shapes[0]:
        return None  # torch's legacy rule skips empty 1-D tensors: leave that to torch
    rank = len(shapes[0])
    dim %= rank
    rest = {s[:dim] + s[dim + 1 :] for s in shapes}
    if len(rest) != 1:
        return None
    out = list(shapes[0])
    out[dim] = sum(s[dim] for s in shapes)
    return out


class Traced:
    """An fx graph with its root module: what the importer reads of a ``GraphModule``.

    Building a ``GraphModule`` generates and compiles Python code for ``forward`` (a tenth of a
    second for DenseNet-121); the importer never calls it, so only ``ShapeProp`` (the fall-back)
    gets one.
    """

    def __init__(self, root: Any, graph: Any) -> None:
        self.root = root
        self.graph = graph
        self._modules: dict[str, Any] | None = None

    def get_submodule(self, target: str) -> Any:
        # One walk of the tree for every lookup (torch walks the dotted path on each call:
        # 3,660 walks, a fifth of DenseNet-121's import).
        if self._modules is None:
            self._modules = dict(self.root.named_modules(remove_duplicate=False))
        mod = self._modules.get(target)
        return mod if mod is not None else self.root.get_submodule(target)

    def __getattr__(self, name: str) -> Any:  # get_attr targets: parameters, buffers, constants
        return getattr(self.root, name)

    def graph_module(self, torch: Any) -> Any:
        return torch.fx.GraphModule(self.root, self.graph)


def fake_shapes(torch: Any, gm: Any, mode: Any, x: Any) -> None:
    """``ShapeProp`` on fake tensors: for forward code that meta tensors do not serve (values needed).

    A failure of the model's own forward propagates; the importer words it (``_fx_errors``)."""
    from torch.fx.passes.shape_prop import ShapeProp

    # ShapeProp prints a traceback of its own before re-raising: keep stderr clean.
    with contextlib.redirect_stderr(io.StringIO()):
        ShapeProp(gm, fake_mode=mode).propagate(x) if mode is not None else ShapeProp(gm).propagate(x)
