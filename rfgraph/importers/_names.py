"""Names of torch functions and methods, by how the importers translate them."""

from __future__ import annotations

__all__ = ["POINTWISE_FUNCTIONS"]

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
        "alias",
        "clamp_min",
        "clamp_max",
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
        "stochastic_depth",
        "drop_path",
        "drop_block_2d",
        "drop_block_fast_2d",
        "channel_shuffle",
        "hard_sigmoid",
        "hard_swish",
        "swish",
        "gelu_tanh",
        "quick_gelu",
        "batch_norm_act",
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
    [
        "mean",
        "sum",
        "amax",
        "amin",
        "max",
        "min",
        "nanmean",
        "logsumexp",
        "std",
        "var",
        "prod",
        "norm",
        "linalg_vector_norm",
    ]
)
_RESHAPES = frozenset(["flatten", "view", "reshape", "squeeze", "unsqueeze", "view_as", "reshape_as", "unflatten"])
_PERMUTES = frozenset(["permute", "transpose", "movedim", "swapaxes", "swapdims"])
_CATS = frozenset(["cat", "concat", "concatenate"])
_NORMS = frozenset(["group_norm", "instance_norm", "layer_norm"])

CUMULATIVE = frozenset(["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
"""Along an axis, position ``o`` reads positions ``0 .. o``: a causal mix (imported exactly)."""
SORTS = frozenset(["sort", "argsort", "msort"])
"""Along an axis, every position reads every position (the max-pooling convention: data decides which)."""
MIXING = frozenset(
    [
        "topk",
        "kthvalue",
        "median",
        "nanmedian",
        "mode",
        "quantile",
        "nanquantile",
        "unique",
        "unique_consecutive",
        "stft",
        "istft",
        "diff",
        "gather",
        "scatter",
        "scatter_add",
        "index_select",
        "take",
        "take_along_dim",
        "nonzero",
        "masked_select",
        "searchsorted",
        "bucketize",
        "cdist",
        "histc",
        "bincount",
        "trapz",
        "trapezoid",
        "cumulative_trapezoid",
        "renorm",
    ]
)
"""Functions that move or combine values across positions: never to be hidden with ``identity=``."""
ONNX_MIXING = frozenset(
    [
        "CumSum",
        "TopK",
        "DFT",
        "STFT",
        "GatherElements",
        "GatherND",
        "ScatterElements",
        "ScatterND",
        "Unique",
        "NonZero",
        "Compress",
        "ReverseSequence",
        "CenterCropPad",
        "Col2Im",
        "Trilu",
    ]
)
"""ONNX ops that move or combine values across positions (no ``identity=`` hint for them)."""


def mixes_positions(name: str) -> bool:
    """Whether a torch function (or ONNX op) mixes positions, so that ``identity=`` would hide edges."""
    return (
        name in CUMULATIVE
        or name in SORTS
        or name in MIXING
        or name in ONNX_MIXING
        or name.startswith(("fft", "linalg_"))
    )
