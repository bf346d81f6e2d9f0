"""Building blocks shared by several zoo families: end-point aliases, TF-Slim convs and pools."""

from __future__ import annotations

from typing import Any

from ..ops import Conv, Identity, Pool


def _alias(name: str) -> Identity:
    """An end-point name for the tensor in hand (makes no layer)."""
    return Identity(name=name)


SAME, VALID = "same", "valid"


def _sc(name: str, kernel: Any, stride: int = 1, padding: str = SAME) -> Conv:
    return Conv(kernel, stride=stride, padding=padding, name=name)


def _sp(name: str, kernel: int = 3, stride: int = 2, padding: str = VALID) -> Pool:
    return Pool(kernel, stride=stride, padding=padding, name=name)


# the usual default inputs
_SQ224, _SQ299 = (224, 224), (299, 299)
