"""Receptive-field checks for users' own test suites and CI.

>>> import rfgraph as rf
>>> from rfgraph.answers.testing import assert_receptive_field
>>> rec = assert_receptive_field(rf.Sequential(*[rf.Conv(3)] * 5), (32,), min_size=11, max_size=11)
>>> rec.size
(11,)
>>> assert_receptive_field("vgg16", (224, 224), endpoint="pool3", min_size=64)
Traceback (most recent call last):
...
AssertionError: receptive field of 'pool3' is 44 px, below min_size=64
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

from ..arithmetic import RFRecord, receptive_field
from ..errors import RFGraphError
from ..ops import Op
from ..plan import normalize_shape

__all__ = ["assert_receptive_field", "check_receptive_field", "as_network"]


def as_network(model: Any, input_shape: Any, **options: Any) -> Op:
    """An rfgraph op from an op, a zoo name, a spec string or file, or a ``torch.nn.Module``."""
    if isinstance(model, Op):
        return model
    if isinstance(model, str):
        from .. import zoo
        from ..importers.load import load_network

        if model in zoo.names():
            if "input_size" in zoo.options(model):
                shape = normalize_shape(input_shape)
                return zoo.build(model, input_size=shape[0] if len(set(shape)) == 1 else shape)
            return zoo.build(model)
        return load_network(model)
    if type(model).__module__.startswith("torch") or hasattr(model, "named_modules"):
        from ..importers.torch import from_torch

        return from_torch(model, input_shape, **options)
    raise RFGraphError(
        f"cannot read a network from {type(model).__name__}; give an rfgraph op, a name or a torch module"
    )


def _per_axis(value: Any, ndim: int, what: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    values = tuple(value) if isinstance(value, tuple | list) else (value,) * ndim
    if len(values) != ndim or any(not isinstance(v, numbers.Real) or isinstance(v, bool) for v in values):
        raise RFGraphError(f"{what}={value!r} must be a number or one number per axis ({ndim})")
    return tuple(float(v) for v in values)


def _show(values: tuple[Any, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _bound(values: tuple[float, ...]) -> str:
    return _show(tuple(int(v) if v.is_integer() else v for v in values))


def check_receptive_field(
    record: RFRecord,
    *,
    min_size: Any = None,
    max_size: Any = None,
    stride: Any = None,
) -> str | None:
    """The first violated bound as one line, or None when every bound holds."""
    ndim = len(record.size)
    low, high, jump = (
        _per_axis(v, ndim, w) for v, w in ((min_size, "min_size"), (max_size, "max_size"), (stride, "stride"))
    )
    where = f"receptive field of {record.name!r} is {_show(record.size)} px"
    if low is not None and any(s < b for s, b in zip(record.size, low)):
        return f"{where}, below min_size={_bound(low)}"
    if high is not None and any(s > b for s, b in zip(record.size, high)):
        return f"{where}, above max_size={_bound(high)}"
    if jump is not None and any(float(s) != b for s, b in zip(record.stride, jump)):
        return f"effective stride of {record.name!r} is {_show(record.stride)}, not stride={_bound(jump)}"
    return None


def assert_receptive_field(
    model: Any,
    input_shape: Any,
    *,
    endpoint: str | None = None,
    min_size: Any = None,
    max_size: Any = None,
    stride: Any = None,
    **import_options: Any,
) -> RFRecord:
    """Assert bounds on the receptive field of a model's output (or an end-point).

    ``size`` is the table's (the largest over positions, per axis); every bound
    is an int or one value per axis.  Raises ``AssertionError`` with a one-line
    reason, so that it reads well in pytest; returns the record otherwise.

    Parameters
    ----------
    model : Op, str or torch.nn.Module
        An rfgraph network, a zoo name, a spec (string or file), or a torch
        module (imported with :func:`rfgraph.from_torch` and ``import_options``).
    input_shape : tuple of int
        Spatial input size.
    endpoint : str, optional
        Check this tensor instead of the output.
    min_size, max_size : int or tuple, optional
        Bounds on the field size in input pixels.
    stride : int or tuple, optional
        The expected effective stride.
    """
    network = as_network(model, input_shape, **import_options)
    record = receptive_field(network, input_shape, endpoint)[-1]
    if endpoint is not None:
        record = dataclasses.replace(record, name=endpoint)
    reason = check_receptive_field(record, min_size=min_size, max_size=max_size, stride=stride)
    if reason is not None:
        raise AssertionError(reason)
    return record
