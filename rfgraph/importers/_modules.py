"""torch.nn modules -> rfgraph ops (the module half of the shared translation table).

Leaf modules (those torch.fx does not trace into, and every module the hook recorder
sees) are translated here; functions and methods go through
:mod:`rfgraph.importers.torch`, and both end in the same :class:`~rfgraph.importers._convert._Converter`
calls that the ONNX importer makes.
"""

from __future__ import annotations

from typing import Any

from ..errors import RFGraphError
from ..ops import ConvTranspose
from . import _digits
from ._convert import _Converter
from ._layout import _T, Value, _c, _Flat, _Scores, _Split, _tuple

__all__: list[str] = []


def is_same_padding_module(nn: Any, mod: Any) -> bool:
    """timm's ``Conv2dSame``/``MaxPool2dSame``/``AvgPool2dSame`` (and the StdConv variants): TensorFlow
    "same" padding computed in ``forward`` from the input size."""
    windowed = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
    return isinstance(mod, windowed) and type(mod).__name__.endswith("Same")


def is_pointwise_module(nn: Any, mod: Any) -> bool:
    pointwise = (
        nn.Identity,
        nn.modules.dropout._DropoutNd,
        nn.modules.batchnorm._NormBase,
        nn.LocalResponseNorm,
        nn.CrossMapLRN2d,
        nn.Softmax2d,
        nn.ChannelShuffle,
    )
    if isinstance(mod, nn.modules.instancenorm._InstanceNorm):
        return bool(mod.track_running_stats)  # eval mode with running statistics: pointwise
    if isinstance(mod, pointwise):
        return True
    return type(mod).__module__ == "torch.nn.modules.activation" and not isinstance(mod, nn.MultiheadAttention)


def convert_module(
    c: _Converter,
    mod: Any,
    path: str,
    x: Value,
    in_shape: Any,
    out_shape: Any,
    scopes: list[str],
) -> Value:
    """One leaf module applied to ``x``."""
    nn = c.nn
    kind = type(mod).__name__
    label = f"module {path!r} ({kind})"
    if isinstance(mod, c.identity_types) or kind in c.identity_names:
        return x
    if isinstance(x, _Scores):  # dropout, a softmax module, talking heads (a Linear across heads) on the scores
        ones = isinstance(mod, nn.modules.conv._ConvNd) and all(k == 1 for k in mod.kernel_size + mod.stride)
        if is_pointwise_module(nn, mod) or isinstance(mod, nn.Linear | nn.Softmax) or ones:
            return x  # (a 1x1 convolution across heads: EfficientFormer v2's talking heads)
        raise RFGraphError(f"{label} is applied to attention scores; not supported")
    if isinstance(mod, nn.Linear | nn.LazyLinear):
        features = (mod.in_features, mod.out_features) if isinstance(mod, nn.Linear) else None
        return c.linear(x, scopes, kind.lower(), features)
    if isinstance(mod, nn.Flatten):
        return c.reshape(x, in_shape, out_shape, scopes, "flatten")
    if x is None:
        return x
    if isinstance(x, _Split):
        return _split_module(c, mod, x, scopes, label)
    if c.is_global(x) and (isinstance(x, _Flat) or not c.is_channels_first(x)):
        return x  # one position, in another layout (ECA's conv1d over channels): a channel op
    if isinstance(x, _Flat):
        if not is_pointwise_module(nn, mod):
            raise RFGraphError(
                f"{label} is applied to a flattened tensor; only Linear and pointwise modules may follow flatten"
            )
        return x
    if not isinstance(x, _T):
        raise RFGraphError(f"{label}: unexpected input {x!r}")
    if (
        isinstance(mod, nn.GroupNorm)
        or isinstance(mod, nn.modules.instancenorm._InstanceNorm)
        and not mod.track_running_stats
    ):
        return c.norm(x, None, scopes, "norm")
    if isinstance(mod, nn.LayerNorm):
        k = len(tuple(mod.normalized_shape))
        return c.norm(x, range(x.rank - k, x.rank), scopes, "norm")
    if is_pointwise_module(nn, mod):
        if isinstance(mod, nn.Softmax | nn.LogSoftmax | nn.Softmin) and mod.dim is not None:
            c.check_dim(mod.dim, x, scopes, kind)
        return x
    conv = nn.modules.conv
    same = is_same_padding_module(nn, mod)
    if isinstance(mod, conv._ConvTransposeNd):
        return conv_transpose(c, mod, x, out_shape, scopes, label)
    if isinstance(mod, conv._ConvNd):
        padding = "same" if same else mod.padding if isinstance(mod.padding, str) else tuple(mod.padding)
        return c.conv(x, mod.kernel_size, mod.stride, padding, mod.dilation, scopes, kind.lower(), mod.padding_mode)
    pooling = nn.modules.pooling
    if isinstance(mod, pooling._MaxPoolNd):
        padding = "same" if same else mod.padding
        return c.pool(x, mod.kernel_size, mod.stride, padding, mod.dilation, mod.ceil_mode, scopes, "pool")
    if isinstance(mod, pooling._AvgPoolNd):
        padding = "same" if same else mod.padding
        return c.pool(x, mod.kernel_size, mod.stride, padding, 1, mod.ceil_mode, scopes, "pool")
    if isinstance(mod, pooling._LPPoolNd):
        return c.pool(x, mod.kernel_size, mod.stride, 0, 1, mod.ceil_mode, scopes, "pool")
    if isinstance(mod, pooling._AdaptiveAvgPoolNd | pooling._AdaptiveMaxPoolNd):
        return c.adaptive(x, mod.output_size, scopes, "pool")
    padding_modules = nn.modules.padding
    if isinstance(
        mod,
        padding_modules._ConstantPadNd
        | padding_modules._ReflectionPadNd
        | padding_modules._ReplicationPadNd
        | padding_modules._CircularPadNd,
    ):
        mode = {"_ConstantPadNd": "constant", "_ReflectionPadNd": "reflect", "_ReplicationPadNd": "replicate"}
        kind_of = (
            next(k for k in mode if isinstance(mod, getattr(padding_modules, k)))
            if not isinstance(mod, padding_modules._CircularPadNd)
            else None
        )
        pads = list(mod.padding)
        dims = c.dims(x)
        pairs = [(0, 0)] * c.ndim
        for k in range(0, len(pads), 2):
            axis = x.rank - 1 - k // 2
            if axis in dims:
                pairs[dims.index(axis)] = (int(pads[k]), int(pads[k + 1]))
        if isinstance(mod, padding_modules._ConstantPadNd) and mod.value != 0:
            pass  # a constant is still no edge
        return c.pad(x, pairs, mode[kind_of] if kind_of else "circular", scopes, "pad")
    if isinstance(mod, nn.PixelShuffle | nn.PixelUnshuffle):
        shuffle = isinstance(mod, nn.PixelShuffle)
        factor = mod.upscale_factor if shuffle else mod.downscale_factor
        return c.shuffle(x, factor, shuffle, scopes, "shuffle" if shuffle else "unshuffle")
    if isinstance(mod, nn.UpsamplingBilinear2d):
        return c.resize(x, out_shape, "bilinear", True, scopes, "upsample")
    if isinstance(mod, nn.Upsample):
        scale = None if mod.size is not None else mod.scale_factor
        return c.resize(
            x, out_shape, mod.mode, mod.align_corners, scopes, "upsample", scale, mod.recompute_scale_factor
        )
    raise RFGraphError(
        f"{label} is not supported: rfgraph knows convolutions, pooling, upsampling, Linear heads and "
        f"pointwise modules; pass identity=({kind!r},) to treat it as a no-op, or leaf_modules=... to keep "
        "a custom module opaque"
    )


def _split_module(c: _Converter, mod: Any, x: _Split, scopes: list[str], label: str) -> Value:
    """A leaf module on window-partitioned tokens: norms, softmax, pointwise modules, 1x1 convolutions."""
    nn = c.nn
    if isinstance(mod, nn.LayerNorm):
        return c.norm(x, range(x.rank - len(tuple(mod.normalized_shape)), x.rank), scopes, "norm")
    if isinstance(mod, nn.GroupNorm) or (
        isinstance(mod, nn.modules.instancenorm._InstanceNorm) and not mod.track_running_stats
    ):
        return c.norm(x, None, scopes, "norm")
    if isinstance(mod, nn.Softmax | nn.LogSoftmax | nn.Softmin):
        return _digits.softmax(c, x, mod.dim, scopes, type(mod).__name__)
    if is_pointwise_module(nn, mod):
        return x
    if isinstance(mod, nn.modules.conv._ConvNd) and not isinstance(mod, nn.modules.conv._ConvTransposeNd):
        return c.conv(x, mod.kernel_size, mod.stride, mod.padding, mod.dilation, scopes, type(mod).__name__.lower())
    raise RFGraphError(f"{label} on a window-partitioned tensor (spatial axes split into windows) is not supported")


def conv_transpose(c: _Converter, mod: Any, x: _T, out_shape: Any, scopes: list[str], label: str) -> _T:
    if mod.padding_mode != "zeros":
        raise RFGraphError(f"{label}: padding_mode={mod.padding_mode!r} is not supported")
    c.channels_first(x, label, scopes)
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

        got = resolve(op, c.spatial(x), label).out_shape
        want = tuple(out_shape[-c.ndim :])
        if got != want:
            extra = _tuple(extra, c.ndim)
            extra = tuple(e + w - g for e, w, g in zip(extra, want, got, strict=True))
            op = ConvTranspose(
                op.kernel_size, stride=op.stride, padding=op.padding, dilation=op.dilation, output_padding=_c(extra)
            )
    return c.leaf(op, x, scopes, type(mod).__name__.lower())
