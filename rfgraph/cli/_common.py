"""Helpers shared by the command modules: sizes, targets, networks, progress, summaries.

Nothing here imports numpy, numba or torch at module level, so that ``rfgraph --help``
stays fast; each helper imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import RFGraphError

__all__ = [
    "add_network_args",
    "ascii_map",
    "compute_map",
    "dump_json",
    "input_shape",
    "is_image",
    "label",
    "network",
    "number",
    "parse_size",
    "parse_target",
    "progress_bar",
    "summary",
    "support",
]


def add_network_args(p: argparse.ArgumentParser) -> None:
    """The arguments every network command takes: NETWORK, --input, --endpoint, --json."""
    p.add_argument("network", help="zoo name, .onnx/.json/.yaml file, or a spec such as 'conv3*5'")
    p.add_argument("--input", "-i", help="input size, e.g. 224x224 or 15")
    p.add_argument("--endpoint", "-e", help="tensor to analyse instead of the network output")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def dump_json(data: Any, **options: Any) -> str:
    """Strict JSON (no NaN/Infinity)."""
    return json.dumps(data, allow_nan=False, **options)


def parse_size(text: str) -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``; ``"15"`` -> ``(15,)``."""
    try:
        shape = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--input {text!r} is not a size; write e.g. 224x224 or 15") from None
    if not shape or any(n < 1 for n in shape):
        raise RFGraphError(f"--input {text!r} must hold positive sizes, e.g. 224x224")
    return shape


def parse_target(text: str | None) -> tuple[int, ...] | str | None:
    """``"3x4"`` -> ``(3, 4)``; ``"all"`` (the sum over every output position) stays a string."""
    if text is None:
        return None
    if text.strip().lower() == "all":
        return "all"
    try:
        return tuple(int(p) for p in text.replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--target {text!r} is not a position; write e.g. 3x4") from None


def network(args: argparse.Namespace) -> Any:
    from .. import zoo
    from ..spec import load_network

    # Zoo networks whose geometry depends on the input (U-Net, DeepLab) are built for --input.
    if args.network in zoo.names() and getattr(args, "input", None) and "input_size" in zoo.options(args.network):
        shape = parse_size(args.input)
        return zoo.build(args.network, input_size=shape[0] if len(set(shape)) == 1 else shape)
    return load_network(args.network)


def input_shape(args: argparse.Namespace, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if args.input is not None:
        return parse_size(args.input)
    from .. import zoo

    if args.network in zoo.names():
        shape = zoo.default_input(args.network) if hasattr(zoo, "default_input") else None
        if shape is not None:
            return tuple(shape)
    if str(args.network).lower().endswith(".onnx"):
        from ..importers.onnx import static_input_shape

        shape = static_input_shape(args.network)
        if shape is not None:
            return shape
    if default is not None:
        return default
    raise RFGraphError(f"network {args.network!r} needs --input, e.g. --input 224x224")


def compute_map(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    from ..engine import contribution_map

    exact = True if getattr(args, "exact", False) else None  # None: exact ints only where float64 would round
    return contribution_map(
        network(args), shape, args.metric, parse_target(args.target), endpoint=args.endpoint, exact=exact
    )


def support(values: Any) -> tuple[int, int]:
    import numpy as np

    nonzero = np.flatnonzero(values)
    return (0, 0) if nonzero.size == 0 else (int(nonzero[0]), int(nonzero[-1]) + 1)


def number(v: Any) -> Any:
    """A JSON/text number: exact ints stay ints (any size); floats are ints only below 2**53,
    where float64 is exact, and otherwise keep their exponent form (never false digits)."""
    import numpy as np

    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return int(v)
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def progress_bar(args: argparse.Namespace, desc: str, total: int) -> Any:
    """A stage progress bar on stderr (only on a terminal, only after 1 s, never with --json)."""
    from ..progress import progress

    quiet = args.json or getattr(args, "no_progress", False)
    if len(desc) > 32:
        desc = desc[:31] + "…"
    return progress(desc, total=total, enabled=False if quiet else None)


def is_image(out: Any) -> bool:
    """``--out`` names a picture (drawn with rfgraph.plot) rather than data."""
    from ..plot import IMAGE_SUFFIXES

    return out is not None and str(out).lower().endswith(IMAGE_SUFFIXES)


def label(args: argparse.Namespace) -> str:
    """The network as a figure title: long specs are shortened."""
    name = str(args.network)
    return name if len(name) <= 40 else name[:39] + "…"


def summary(values: Any) -> dict[str, Any]:
    import numpy as np

    peak = tuple(int(i) for i in np.unravel_index(int(np.argmax(values)), values.shape))
    nonzero = np.argwhere(values != 0)
    box = [[int(a), int(b)] for a, b in zip(nonzero.min(axis=0), nonzero.max(axis=0))] if nonzero.size else []
    return {
        "shape": list(values.shape),
        "dtype": str(values.dtype),
        "max": number(values.max()),
        "peak": list(peak),
        "nonzero": int((values != 0).sum()),
        "support_box": box,
        "sum": number(values.sum()),
    }


_SHADES = " .:-=+*#%@"


def ascii_map(values: Any) -> str:
    """A 2-D map as text, darker characters for larger values."""
    top = float(values.max()) or 1.0
    return "\n".join(
        "".join(_SHADES[min(int(v / top * (len(_SHADES) - 1) + 0.5), len(_SHADES) - 1)] * 2 for v in row)
        for row in values
    )
