"""torch functions on spatial tensors (pools, resizes, pads, functional convs, index maps,
reductions): a mixin of the fx importer, so that :mod:`rfgraph.importers.torch` stays small."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..errors import RFGraphError
from ..ops import Conv
from ._convert import _Converter
from ._layout import _T, Value
from ._modules import conv_transpose
from ._names import _REDUCTIONS, CUMULATIVE, SORTS, mixes_positions
from ._tokens import class_token_concat

__all__: list[str] = []


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any], names: str, defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for name, value in zip(names.split(), args, strict=False):
        out[name] = value
    out.update(kwargs)
    return out


def reduction_args(name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, bool]:
    """``(dims, keepdim)`` of a reduction; norms take the order first (``norm(x, p, dim, keepdim)``)."""
    at = 2 if name in ("norm", "linalg_vector_norm") else 1
    dims = args[at] if len(args) > at else kw.get("dim", kw.get("axis"))
    keep = args[at + 1] if len(args) > at + 1 else kw.get("keepdim", False)
    return dims, bool(keep)


def _per_axis(value: Any, ndim: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (int(value),) * ndim


_POOL_ARGS = "input kernel_size stride padding dilation ceil_mode return_indices"
_AVG_ARGS = "input kernel_size stride padding ceil_mode count_include_pad divisor_override"


class _Functions:
    """Needs ``c`` (the shared converter), ``shape`` (a node's static shape) and ``static`` (an int argument)."""

    c: _Converter

    def shape(self, node: Any) -> tuple[int, ...] | None:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def static(self, value: Any, scopes: list[str], what: str) -> int:  # pragma: no cover - provided
        raise NotImplementedError

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
                args,
                kw,
                "input size scale_factor mode align_corners recompute_scale_factor",
                {"mode": "nearest", "align_corners": None, "size": None},
            )
            mode = {"upsample_bilinear": "bilinear", "upsample_nearest": "nearest"}.get(name, a["mode"])
            corners = True if name == "upsample_bilinear" else a["align_corners"]
            scale = a["scale_factor"] if a.get("size") is None else None
            recompute = a.get("recompute_scale_factor")
            return c.resize(x, out_shape, mode, corners, scopes, name, scale, recompute)
        if name.startswith("upsample_"):  # ATen (torch.export): upsample_bilinear2d(x, size, align_corners, scales)
            mode = name[len("upsample_") :].rstrip("123d").replace("nearest_exact", "nearest-exact")
            corners = args[2] if mode not in ("nearest", "nearest-exact") and len(args) > 2 else False
            return c.resize(x, out_shape, mode, corners, scopes, "interpolate")
        if name == "pad":
            a = _bind(args, kw, "input pad mode value", {"mode": "constant", "value": None})
            pad = [self.static(p, scopes, "pad amount") for p in a["pad"]]
            pairs = [(0, 0)] * c.ndim
            dims = c.dims(x)
            token = x.rank - 1 - dims[0] if c.is_flattened(x) else -1  # pad index pair of a token axis
            if token >= 0 and len(pad) > 2 * token and (pad[2 * token] or pad[2 * token + 1]):
                if pad[2 * token + 1] or any(pad[: 2 * token]) or any(pad[2 * token + 2 :]):
                    raise RFGraphError(f"{c.where(scopes, 'pad')} pads tokens after the grid; not supported")
                return class_token_concat(c, x, pad[2 * token], 0, scopes, "pad")  # a zero token in front (CoaT)
            for k in range(0, len(pad), 2):
                axis = x.rank - 1 - k // 2
                if axis not in dims:  # channels (EfficientViT pads v with a channel of ones): no edges
                    continue
                pairs[dims.index(axis)] = (pad[k], pad[k + 1])
            return c.pad(x, pairs, a["mode"] or "constant", scopes, "pad")
        if name in ("pixel_shuffle", "pixel_unshuffle"):
            return c.shuffle(
                x, int(args[1] if len(args) > 1 else next(iter(kw.values()))), name == "pixel_shuffle", scopes, name
            )
        if name == "flip":
            return c.flip(x, args[1] if len(args) > 1 else kw["dims"], scopes, name)
        if name == "roll":
            a = _bind(args, kw, "input shifts dims", {"dims": None})
            return c.roll(x, a["shifts"], a["dims"], scopes, name)
        if name in ("conv1d", "conv2d", "conv3d"):
            a = _bind(
                args, kw, "input weight bias stride padding dilation groups", {"stride": 1, "padding": 0, "dilation": 1}
            )
            weight = self.shape(a["weight"]) if hasattr(a["weight"], "meta") else None
            if weight is None:
                raise RFGraphError(f"{c.where(scopes, name)}: the kernel size is unknown (weight has no static shape)")
            return c.conv(x, weight[2:], a["stride"], a["padding"], a["dilation"], scopes, name)
        if name.startswith("conv_transpose"):  # F.conv_transpose2d, and nn.ConvTranspose in torch.export's graph
            a = _bind(
                args,
                kw,
                "input weight bias stride padding output_padding groups dilation",
                {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1},
            )
            weight = self.shape(a["weight"]) if hasattr(a["weight"], "meta") else None
            if weight is None:
                raise RFGraphError(f"{c.where(scopes, name)}: the kernel size is unknown (weight has no static shape)")
            nd = c.ndim
            mod = SimpleNamespace(
                kernel_size=tuple(weight[2:]),
                padding_mode="zeros",
                **{k: _per_axis(a[k], nd) for k in ("stride", "padding", "dilation", "output_padding")},
            )
            return conv_transpose(c, mod, x, out_shape, scopes, name)
        if name in _REDUCTIONS:
            axes, keep = reduction_args(name, args, kw)
            if name in ("max", "min") and isinstance(axes, int):
                out = c.reduce(x, axes, bool(keep), scopes, name)
                return (out, out)
            return c.reduce(x, axes, bool(keep), scopes, name)
        if name in CUMULATIVE or name in SORTS:
            return self.along(node, name, x, kw, scopes)
        if mixes_positions(name):
            raise RFGraphError(
                f"{c.where(scopes, f'function {name!r}')} moves or combines values across positions, and rfgraph "
                "has no op for it (identity= would hide those edges); describe this part with rfgraph ops "
                "(rf.GlobalMix mixes every position), or import the model up to the tensor before it (output=...)"
            )
        raise RFGraphError(
            f"{c.where(scopes, f'function {name!r}')} is not supported; if it acts position by position, "
            f"pass identity=({name!r},) to treat it as a no-op"
        )

    def along(self, node: Any, name: str, x: _T, kw: dict[str, Any], scopes: list[str]) -> Value:
        """``cumsum``-like functions (position ``o`` reads ``0 .. o``: a Conv of ``n`` taps padded
        ``(n - 1, 0)``, exactly those edges) and sorts (every position along the axis) along ``dim``."""
        c = self.c
        args = tuple(node.args)
        dim = args[1] if len(args) > 1 else kw.get("dim", -1 if name in SORTS else None)
        if not isinstance(dim, int):
            raise RFGraphError(f"{c.where(scopes, name)}: the axis is unknown (give dim=)")
        pair = name in ("cummax", "cummin", "sort")
        if dim % x.rank not in c.dims(x) or c.is_global(x):
            return (x, x) if pair else x  # along channels: no position is mixed
        if name in SORTS:
            out = c.mix_axis(x, dim, scopes, name)
            return (out, out) if pair else out
        if c.is_flattened(x) or x.extra:
            raise RFGraphError(
                f"{c.where(scopes, name)} runs along tokens flattened from several spatial axes; not supported"
            )
        x = c.plain(x, scopes, name)
        axis = c.dims(x).index(dim % x.rank)
        n = c.spatial(x)[axis]
        kernel = tuple(n if a == axis else 1 for a in range(c.ndim))
        padding = tuple((n - 1, 0) if a == axis else (0, 0) for a in range(c.ndim))
        out = _T(c.dag.leaf(Conv(kernel, padding=padding), x.index, scopes, name), x.rank, x.axes)
        return (out, out) if pair else out
