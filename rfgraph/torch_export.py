"""Old import path of :mod:`rfgraph.importers.to_torch`, kept so that existing code keeps working."""

from .importers.to_torch import POOLS, WEIGHTS, _choice, _import_torch, paths_by_autograd, to_torch  # noqa: F401

__all__ = ["to_torch", "paths_by_autograd", "WEIGHTS", "POOLS"]
