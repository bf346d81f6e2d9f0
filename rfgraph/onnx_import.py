"""Old import path of :mod:`rfgraph.importers.onnx`, kept so that existing code keeps working."""

from .importers.onnx import POINTWISE_OPS, from_onnx, static_input_shape  # noqa: F401

__all__ = ["from_onnx", "static_input_shape", "POINTWISE_OPS"]
