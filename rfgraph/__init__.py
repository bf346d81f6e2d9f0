"""rfgraph: exact receptive fields and per-pixel contribution maps of CNNs.

A network is described with a few immutable ops, unrolled into a layered graph
(input pixels -> feature maps -> a target neuron) and analysed exactly:

>>> import rfgraph as rf
>>> net = rf.Sequential(*[rf.Conv(3) for _ in range(5)])
>>> rf.contribution_map(net, (15,)).tolist()
[0, 0, 5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5, 0, 0]
>>> rf.receptive_field(net, (15,))[-1].size
(11,)
"""

from __future__ import annotations

import importlib

from .errors import RFGraphError

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs `rfgraph --help` ~10 ms
if TYPE_CHECKING:  # the names below are imported on first use (module __getattr__)
    from typing import Any

    from . import erf, zoo
    from .answers.exposure import padding_share, valid_region
    from .answers.sizes import min_input_shape
    from .answers.tiling import Tile, halo, tiles
    from .arithmetic import RFRecord, format_table, receptive_field
    from .engine import contribution_map, profile, reach
    from .engine.coverage import coverage
    from .graph import to_networkx
    from .importers.load import load_network
    from .ops import (
        AdaptivePool,
        Add,
        Concat,
        Conv,
        ConvTranspose,
        Crop,
        Flip,
        GlobalMix,
        GlobalPool,
        Identity,
        Op,
        Pad,
        PixelShuffle,
        PixelUnshuffle,
        Pool,
        Ref,
        Residual,
        Resize,
        Roll,
        Sequential,
        Slice,
        Upsample,
        WindowMix,
    )
    from .plan import Plan, build_plan
    from .spec import parse_spec

# `import rfgraph` and `rfgraph --help` stay fast: even the ops (40 ms of dataclass creation),
# numpy, numba, networkx, torch and matplotlib load only when a name that needs them is first used.
_OPS = (
    "AdaptivePool",
    "Add",
    "Concat",
    "Conv",
    "ConvTranspose",
    "Crop",
    "Flip",
    "GlobalMix",
    "GlobalPool",
    "Identity",
    "Op",
    "Pad",
    "PixelShuffle",
    "PixelUnshuffle",
    "Pool",
    "Ref",
    "Residual",
    "Resize",
    "Roll",
    "Sequential",
    "Slice",
    "Upsample",
    "WindowMix",
)
_LAZY = {
    **dict.fromkeys(_OPS, "ops"),
    "RFRecord": "arithmetic",
    "format_table": "arithmetic",
    "receptive_field": "arithmetic",
    "coverage": "engine.coverage",
    "contribution_map": "engine",
    "profile": "engine",
    "reach": "engine",
    "to_networkx": "graph",
    "Plan": "plan",
    "build_plan": "plan",
    "load_network": "importers.load",
    "parse_spec": "spec",
    "padding_share": "answers.exposure",
    "valid_region": "answers.exposure",
    "min_input_shape": "answers.sizes",
    "Tile": "answers.tiling",
    "halo": "answers.tiling",
    "tiles": "answers.tiling",
}
_SUBMODULES = ("erf", "zoo")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # Only the API, the submodules and the version: no helpers such as importlib or annotations.
    return sorted(set(__all__) | set(_SUBMODULES) | {"__version__"})


__version__ = "0.2.0"

__all__ = [
    "AdaptivePool",
    "Add",
    "Concat",
    "Conv",
    "ConvTranspose",
    "Crop",
    "Flip",
    "GlobalMix",
    "GlobalPool",
    "Identity",
    "Op",
    "Pad",
    "PixelShuffle",
    "PixelUnshuffle",
    "Plan",
    "Pool",
    "RFGraphError",
    "RFRecord",
    "Ref",
    "Residual",
    "Resize",
    "Roll",
    "Sequential",
    "Slice",
    "Tile",
    "Upsample",
    "WindowMix",
    "build_plan",
    "contribution_map",
    "coverage",
    "erf",
    "format_table",
    "halo",
    "from_onnx",
    "from_torch",
    "load_network",
    "min_input_shape",
    "padding_share",
    "parse_spec",
    "profile",
    "reach",
    "receptive_field",
    "tiles",
    "to_networkx",
    "valid_region",
    "zoo",
]


def from_torch(module: Any, input_shape: Any, **options: Any) -> Op:
    """Import a ``torch.nn.Module`` (needs the ``torch`` extra); see :mod:`rfgraph.importers.torch`."""
    from .importers.torch import from_torch as _from_torch

    return _from_torch(module, input_shape, **options)


def from_onnx(model: Any, input_shape: Any = None, **options: Any) -> Op:
    """Import an ONNX model or file (needs the ``onnx`` extra); see :mod:`rfgraph.importers.onnx`."""
    from .importers.onnx import from_onnx as _from_onnx

    return _from_onnx(model, input_shape, **options)
