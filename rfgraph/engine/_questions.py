"""What is asked of the engine: metric, weights and targets checked, and the crop a target implies.

The constants and checks every answer starts from (:mod:`rfgraph.engine` re-exports the public
ones); nothing here computes a map.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..plan import Plan
from ._crop import Window, crop_plan, field_windows

METRICS = ("edges", "paths")
METHODS = ("auto", "separable", "general")
# "dense" (no outer products) is for comparisons; the previous algorithm lives in bench/legacy.py.
_PRIVATE_METHODS = ("dense",)
INT64_MAX = np.iinfo(np.int64).max
# Residue operations (element additions x primes) that exact counts may do before refusing.
MAX_EXACT_WORK = 20_000_000_000
# float64 holds every integer below this exactly.
FLOAT_EXACT = 2.0**53


# --------------------------------------------------------------------------- validation


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise RFGraphError(f"metric={metric!r} is unknown; choose one of {', '.join(map(repr, METRICS))}")
    return str(metric)


WEIGHTS = ("ones", "mean")


@dataclass(frozen=True)
class _Weights:
    """Resolved ``weights=``: averaging edge weights and/or per-tensor gains."""

    mean: bool = False
    gains: tuple[tuple[int, float | int], ...] = ()

    @property
    def ones(self) -> bool:
        return not self.mean and not self.gains

    @property
    def integer(self) -> bool:
        """Every weight an integer: exact counts stay possible."""
        return not self.mean and all(isinstance(g, int) and g >= 0 for _, g in self.gains)


def _check_weights(plan: Plan, weights: Any) -> _Weights:
    """``weights`` as edge weights of ``plan`` (SPEC section 11), or RFGraphError."""
    if isinstance(weights, str):
        if weights not in WEIGHTS:
            raise RFGraphError(f"weights={weights!r} is unknown; choose 'ones', 'mean' or a dict of gains by op name")
        return _Weights(mean=weights == "mean")
    if not isinstance(weights, Mapping):
        raise RFGraphError(
            f"weights={weights!r} must be 'ones', 'mean' or a dict of gains by op name, e.g. {{'conv1': 0.5}}"
        )
    gains: dict[int, float | int] = {}
    for name, gain in weights.items():
        if not isinstance(name, str):
            raise RFGraphError(f"weights: key {name!r} must be an op name (a str), as in rf.receptive_field's table")
        if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not math.isfinite(float(gain)):
            raise RFGraphError(f"weights[{name!r}]={gain!r} must be a finite number (the gain of that op's edges)")
        if name not in plan.endpoints:
            shown = ", ".join(list(plan.endpoints)[:25]) + (", ..." if len(plan.endpoints) > 25 else "")
            raise RFGraphError(f"weights: {name!r} names no op of this network; use a name from its table: {shown}")
        index = plan.endpoints[name]
        if not plan.tensors[index].links:
            raise RFGraphError(
                f"weights[{name!r}]: {name!r} names the network's input (an Identity alias), which has no edges; "
                "name an op that computes something"
            )
        value: float | int = int(gain) if isinstance(gain, numbers.Integral) else float(gain)
        old = gains.get(index)
        gains[index] = value if old is None else old * value  # two names of one tensor: the gains multiply
    return _Weights(gains=tuple(sorted(gains.items())))


def check_target(plan: Plan, target: Any) -> tuple[int, ...]:
    """``target`` (None = the centre) as a tuple of indices into ``plan``'s output, or RFGraphError."""
    shape = plan.output.shape
    if target is None:
        return tuple(n // 2 for n in shape)
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()  # np.array(2) is the index 2
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        target = (int(target),)
    if isinstance(target, str) or not isinstance(target, Sequence | np.ndarray):
        raise RFGraphError(f"target={target!r} must be a tuple of {len(shape)} integer indices into {shape}")
    if not all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in target):
        raise RFGraphError(
            f"target={target!r} must hold integer indices into {shape}, e.g. {tuple(n // 2 for n in shape)}"
        )
    t = tuple(int(i) for i in target)
    if len(t) != len(shape):
        centre = tuple(n // 2 for n in shape)
        raise RFGraphError(
            f"target={t!r} has {len(t)} ind{'ex' if len(t) == 1 else 'ices'}, but the output of "
            f"{plan.output.name!r} is {len(shape)}-D (shape {shape}): give one index per axis, e.g. the centre "
            f"{centre} ({'x'.join(map(str, centre))} on the command line)"
        )
    if any(not 0 <= i < n for i, n in zip(t, shape)):
        raise RFGraphError(
            f"target={target!r} is outside the output of {plan.output.name!r}, whose shape is {shape}; "
            f"use indices 0 <= i < n on each axis, e.g. the centre {tuple(n // 2 for n in shape)}"
        )
    return t


# --------------------------------------------------------------------------- targets


def _parse_targets(plan: Plan, target: Any) -> tuple[int, ...] | str | list[tuple[int, ...]]:
    """One target (tuple), ``"all"``, or a list of targets (each checked)."""
    if isinstance(target, str):
        if target == "all":
            return "all"
        raise RFGraphError(
            f"target={target!r} must be a tuple of integer indices, 'all', or a list of tuples; "
            f"e.g. {tuple(n // 2 for n in plan.output.shape)}"
        )
    if isinstance(target, np.ndarray) and target.ndim == 2:
        target = target.tolist()
    if (
        isinstance(target, list | tuple)
        and target
        and all(isinstance(t, Sequence | np.ndarray) and not isinstance(t, str) for t in target)
    ):
        return [check_target(plan, t) for t in target]
    if isinstance(target, list | tuple) and not target:
        raise RFGraphError("target=[] holds no target; give a tuple of indices, 'all', or a non-empty list")
    return check_target(plan, target)


def _box(plan: Plan, target: tuple[int, ...] | None) -> Window:
    if target is None:
        return tuple((0, n) for n in plan.output.shape)
    return tuple((i, i + 1) for i in target)


def _cropped(plan: Plan, target: tuple[int, ...] | None) -> tuple[Plan, Window] | None:
    """The plan cropped to the target's field (``None`` target: every output), or None if no input reaches it."""
    return _crop_cached(plan, _box(plan, target))


@lru_cache(maxsize=32)  # small: an entry keeps its plan alive past the plan cache
def _crop_cached(plan: Plan, box: Window) -> tuple[Plan, Window] | None:
    # Plans are cached too; repeated maps of one target (CLI, serve, plots) crop once.
    windows = field_windows(plan, [box])
    if windows[0] is None:
        return None
    return crop_plan(plan, windows), windows[0]


def _zeros(plan: Plan, dtype: Any) -> np.ndarray:
    out = np.zeros(plan.input_shape, dtype=dtype)
    if dtype is object:
        out[...] = 0
    return out
