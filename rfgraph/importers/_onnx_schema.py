"""What ONNX ops and attributes mean to rfgraph's importer, and their validation.

Op-type tables (pointwise, merges, shape computations, reductions), the loader that
wraps every decoding error, the checked readers of ints/text attributes (type,
length -- never coerced -- and range against :data:`rfgraph.geometry.limits.MAX_PARAM`), and the
module scopes recorded by exporters.

>>> _int_list([3, 3], "kernel_shape", 2, 1, "Conv")
(3, 3)
>>> _int_list([3, 3, 3], "kernel_shape", 2, 1, "Conv")
Traceback (most recent call last):
...
rfgraph.errors.RFGraphError: Conv: kernel_shape has 3 entries, but the input has 2 spatial axes
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ..errors import RFGraphError
from ..geometry import limits

__all__ = ["POINTWISE_OPS"]

POINTWISE_OPS = frozenset(
    [
        "Relu",
        "LeakyRelu",
        "PRelu",
        "Sigmoid",
        "Tanh",
        "Clip",
        "HardSigmoid",
        "HardSwish",
        "Elu",
        "Selu",
        "Celu",
        "Softplus",
        "Softsign",
        "Gelu",
        "Erf",
        "Exp",
        "Log",
        "Sqrt",
        "Pow",
        "Neg",
        "Abs",
        "Reciprocal",
        "Mish",
        "ThresholdedRelu",
        "Sign",
        "Floor",
        "Ceil",
        "Round",
        "Sin",
        "Cos",
        "Not",
        "IsNaN",
        "Identity",
        "Cast",
        "CastLike",
        "Dropout",
        "BatchNormalization",
        "InstanceNormalization",
        "LpNormalization",
        "LRN",
        "GroupNormalization",
        "LayerNormalization",
        "MeanVarianceNormalization",
        "QuantizeLinear",
        "DequantizeLinear",
        "Shrink",
    ]
)
"""ONNX ops that act position by position (no layer in the graph)."""

_MERGES = frozenset(["Add", "Sum", "Mul", "Sub", "Div", "Max", "Min", "Mean", "Where"])
_SHAPE_OPS = frozenset(["Shape", "Size", "ConstantOfShape", "Range", "NonZero"])
_REDUCE = frozenset(
    [
        "ReduceMean",
        "ReduceMax",
        "ReduceMin",
        "ReduceSum",
        "ReduceL1",
        "ReduceL2",
        "ReduceProd",
        "ReduceLogSumExp",
        "ReduceSumSquare",
        "ReduceLogSum",
    ]
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _int_list(value: Any, key: str, length: int, low: int, label: str) -> tuple[int, ...]:
    """An ONNX ints attribute checked for type, length (never coerced) and range."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise RFGraphError(f"{label}: {key}={value!r} must be a list of ints")
    if len(value) != length:
        raise RFGraphError(
            f"{label}: {key} has {len(value)} entries, but the input has {length // 2 if key == 'pads' else length} "
            f"spatial axes" + (" (pads holds a begin and an end per axis)" if key == "pads" else "")
        )
    for v in value:
        if v < low or v > limits.MAX_PARAM:
            raise RFGraphError(f"{label}: {key}={list(value)} must hold values from {low} to {limits.MAX_PARAM:,}")
    return tuple(value)


def _text(value: Any, key: str, allowed: tuple[str, ...], label: str) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    if not isinstance(text, str) or text not in allowed:
        raise RFGraphError(f"{label}: {key}={value!r} is not one of {', '.join(allowed)}")
    return text


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError("rf.from_onnx needs the onnx package: pip install 'rfgraph[onnx]'") from None
    return onnx


def _load(onnx: Any, model: Any) -> Any:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes | bytearray):
        try:
            return onnx.load_from_string(bytes(model))
        except Exception as err:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise RFGraphError(f"the bytes given are not a readable ONNX model ({_first_line(err)})") from None
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.exists():
            raise RFGraphError(f"ONNX file {str(model)!r} does not exist")
        try:
            return onnx.load(str(path))
        except Exception as err:  # noqa: BLE001 - protobuf raises several kinds
            raise RFGraphError(f"{str(model)!r} is not a readable ONNX model: {_first_line(err)}") from None
    raise RFGraphError(f"from_onnx needs a path, bytes or an onnx.ModelProto, got {type(model).__name__}")


def _scopes(node: Any) -> list[str]:
    """Module paths enclosing ``node``, outermost first."""
    for prop in getattr(node, "metadata_props", ()):
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                break
            # Only names: malformed metadata falls back to the node name below.
            if not isinstance(scopes, list | tuple) or not all(isinstance(x, str) for x in scopes):
                break
            return [s for s in scopes[:-1] if s]
    # TorchScript export: "/layer2/layer2.0/downsample/downsample.0/Conv" -- each part is a child's name,
    # prefixed by its parent's local name when the parent is a container ("layer2.0", "downsample.0").
    parts = [p for p in node.name.split("/") if p][:-1]
    out, path, local = [], "", ""
    for part in parts:
        if local and part.startswith(local + "."):
            path += part[len(local) :]
        else:
            path = f"{path}.{part}" if path else part
        local = part
        out.append(path)
    return out
