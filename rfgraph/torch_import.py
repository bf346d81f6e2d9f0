"""Old import path of :mod:`rfgraph.importers.torch`, kept so that existing code keeps working."""

from .importers.torch import POINTWISE_FUNCTIONS, from_torch  # noqa: F401

__all__ = ["from_torch", "POINTWISE_FUNCTIONS"]
