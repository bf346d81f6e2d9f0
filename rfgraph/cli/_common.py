"""Helpers shared by the command modules: sizes, targets, networks, progress, summaries.

Nothing here imports numpy, numba or torch at module level, so that ``rfgraph --help``
stays fast; each helper imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ..errors import RFGraphError

__all__ = [
    "add_network_args",
    "add_pixel_size_arg",
    "pixel_size",
    "ascii_map",
    "compute_map",
    "parse_weights",
    "default_endpoint",
    "dump_json",
    "expected_ndim",
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


NETWORK_HELP = (
    "the network: a spec such as 'conv3*5', a zoo name, a .json/.yaml/.onnx file, or (with torch) "
    "torchvision:NAME, timm:NAME, pkg.module:factory, a TorchScript/.pt2 file"
)


def add_network_args(p: argparse.ArgumentParser, path_weights: bool = False) -> None:
    """The arguments every network command takes: NETWORK, --input, --weights, --endpoint, --json.

    ``path_weights`` (``map``): ``--weights`` also takes the path weights of SPEC section 11
    (``ones``, ``mean``, ``name=gain,...``) for a network that is no torch model's checkpoint.
    """
    p.add_argument("network", help=NETWORK_HELP)
    p.add_argument("--input", "-i", help="input size, e.g. 224x224 or 15 (torch models need it)")
    help_ = "checkpoint of a torch model, loaded with torch.load(weights_only=True)"
    if path_weights:
        help_ += (
            "; or, for the paths metric, 'ones' (count paths, default), 'mean' (the averaging network's "
            "gradient) or gains by op name, e.g. 'layer1.0=0.5,layer2=2'"
        )
    p.add_argument("--weights", "-w", help=help_)
    p.add_argument("--endpoint", "-e", help="tensor to analyse instead of the network output")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def dump_json(data: Any, **options: Any) -> str:
    """Strict JSON (no NaN/Infinity): a non-finite number is an error, never invalid output.

    >>> dump_json({"a": 1})
    '{"a": 1}'
    """
    try:
        return json.dumps(data, allow_nan=False, **options)
    except ValueError:
        raise RFGraphError(
            "the result holds a number beyond float64's range (inf or nan), which JSON cannot represent; "
            "use exact counts (exact=True in the API) or a smaller network"
        ) from None


_SIZE = re.compile(r"[0-9]+(?:x[0-9]+)*")


def parse_size(text: str) -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``; ``"15"`` -> ``(15,)``.  ASCII digits only.

    >>> parse_size("224x224")
    (224, 224)
    """
    cleaned = text.strip().lower().replace(",", "x").replace(" ", "")
    if not cleaned.isascii():
        raise RFGraphError(f"--input {text!r}: write sizes with the ASCII digits 0-9, e.g. 224x224 or 15")
    if not _SIZE.fullmatch(cleaned):
        raise RFGraphError(f"--input {text!r} is not a size; write spatial sizes joined by x, e.g. 224x224 or 15")
    parts = cleaned.split("x")
    if len(parts) > 3:
        raise RFGraphError(
            f"--input {text!r} has {len(parts)} sizes; give spatial sizes only, one per axis (1 to 3), "
            "e.g. 224x224 (no batch or channel)"
        )
    if any(len(p.lstrip("0")) > 12 for p in parts):
        raise RFGraphError(f"--input {text!r}: sizes are limited to 1,000,000 per axis")
    shape = tuple(int(p) for p in parts)
    if any(n < 1 for n in shape):
        raise RFGraphError(f"--input {text!r} must hold positive sizes, e.g. 224x224")
    return shape


def _is_torch(args: argparse.Namespace) -> bool:
    from ..importers.load import is_torch_source

    return is_torch_source(str(args.network))


def expected_ndim(args: argparse.Namespace) -> tuple[int | None, str]:
    """The number of spatial axes the network of ``args`` is made for, if it says, and why."""
    from .. import zoo

    name = str(args.network)
    if name in zoo.names():
        if "input_size" in zoo.options(name):
            return None, ""  # built for the input (U-Net, DeepLab): any rank
        return len(zoo.default_input(name)), f"the zoo network {name!r} is {len(zoo.default_input(name))}-D"
    if name.lower().endswith(".onnx") or _is_torch(args):
        return None, ""  # the importer names the input's rank itself
    from ..ops.base import per_axis_lengths

    lengths = per_axis_lengths(network(args))
    if len(lengths) == 1:
        n = lengths.pop()
        return n, f"its layers give {n} values per axis, as conv3x3 does"
    return None, ""


def _check_ndim(args: argparse.Namespace, shape: tuple[int, ...]) -> None:
    ndim, why = expected_ndim(args)
    if ndim is None or ndim == len(shape):
        return
    example = "x".join([str(shape[0])] * ndim)
    hint = ""
    if len(shape) == ndim + 1 and shape[-1] in (1, 3, 4):
        hint = f"; the last size {shape[-1]} looks like channels, which rfgraph does not need"
    raise RFGraphError(
        f"--input {'x'.join(map(str, shape))} has {len(shape)} size{'s' if len(shape) > 1 else ''}, but the network "
        f"is {ndim}-D ({why}): give spatial sizes only, one per axis, e.g. --input {example}{hint}"
    )


def parse_target(text: str | None) -> tuple[int, ...] | str | None:
    """``"3x4"`` -> ``(3, 4)`` (ASCII digits only); ``"all"`` (the sum over every output) stays
    a string; None stays None."""
    if text is None:
        return None
    if text.strip().lower() == "all":
        return "all"
    cleaned = text.strip().lower().replace(",", "x").replace(" ", "")
    if not cleaned.isascii() or not re.fullmatch(r"-?[0-9]{1,12}(?:x-?[0-9]{1,12})*", cleaned):
        raise RFGraphError(f"--target {text!r} is not a position; write e.g. 3x4 (ASCII digits, one per axis)")
    return tuple(int(p) for p in cleaned.split("x"))


def network(args: argparse.Namespace) -> Any:
    """The network ``args.network`` names, through the one loader (:func:`rfgraph.load_network`).

    Loaded once per run: a torch model is traced once however many times a command asks.
    """
    cached = getattr(args, "_network", None)
    if cached is not None:
        return cached
    from ..importers.load import load_network, torch_network

    weights = checkpoint(args)
    shape = parse_size(args.input) if getattr(args, "input", None) else None
    if _is_torch(args) and shape is None:
        raise RFGraphError(f"{_shown(args.network)} is a torch model: give its input size, e.g. --input 224x224")
    if _is_torch(args):
        net, args._traced_shape = torch_network(args.network, shape, weights)
    else:
        if weights is not None:
            raise RFGraphError(
                f"--weights {weights!r}: a checkpoint applies to torch models (torchvision:, timm:, "
                "pkg.module:factory, TorchScript/.pt2)"
                + (
                    "; path weights are 'ones', 'mean' or gains by op name such as 'layer1=0.5,layer2=2'"
                    if getattr(args, "command", None) == "map"
                    else ""
                )
            )
        net = load_network(args.network, shape)
    args._network = net
    return net


def _shown(text: Any) -> str:
    text = str(text)
    return repr(text if len(text) <= 60 else text[:59] + "…")


def input_shape(args: argparse.Namespace, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if args.input is not None:
        given = parse_size(args.input)
        if _is_torch(args):  # one size stands for a square (cube) of the model's dimensionality
            network(args)
            return tuple(args._traced_shape)
        _check_ndim(args, given)
        return given
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
    if default is not None and not _is_torch(args):
        return default
    raise RFGraphError(f"network {_shown(args.network)} needs --input, e.g. --input 224x224")


def default_endpoint(args: argparse.Namespace, shape: tuple[int, ...]) -> str | None:
    """For a classifier (global pooling or a Linear head at the end), the last spatial tensor.

    Sets ``args.endpoint`` to it and returns its name, so that ``map``/``profile``/``erf``
    show a meaningful map rather than the uniform one of a 1x1 output; returns None (and
    changes nothing) when ``--endpoint`` was given or the network has no such head.
    """
    if getattr(args, "endpoint", None) is not None:
        return None
    from ..plan import build_plan

    tensors = build_plan(network(args), shape).tensors
    spatial = [t.index for t in tensors if t.size > 1]
    if not spatial or spatial[-1] == len(tensors) - 1:
        return None
    last = spatial[-1]
    if not any(t.kind == "GlobalPool" for t in tensors[last + 1 :]):
        return None
    args.endpoint = tensors[last].name
    return args.endpoint


def endpoint_note(name: str | None) -> str:
    """The sentence that says which tensor a classifier's map is of."""
    if name is None:
        return ""
    return (
        f"end-point {name!r}: the last spatial tensor before the global pooling / classifier head "
        "(the output is 1x1, whose map is uniform); --endpoint chooses another"
    )


def compute_map(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    from ..engine import contribution_map

    exact = True if getattr(args, "exact", False) else None  # None: exact ints only where float64 would round
    weights = path_weights(args)
    return contribution_map(
        network(args),
        shape,
        args.metric,
        parse_target(args.target),
        endpoint=args.endpoint,
        exact=exact,
        weights=weights,
    )


def _is_path_weights(text: str) -> bool:
    """``--weights`` names path weights (SPEC section 11) rather than a checkpoint file."""
    from pathlib import Path

    return text in ("ones", "mean") or ("=" in text and not Path(text).expanduser().is_file())


def checkpoint(args: argparse.Namespace) -> str | None:
    """``--weights`` when it names a torch checkpoint (``map`` also takes path weights there)."""
    text = getattr(args, "weights", None)
    if text is None or (getattr(args, "command", None) == "map" and _is_path_weights(text)):
        return None
    return str(text)


def path_weights(args: argparse.Namespace) -> Any:
    """The path weights of ``map --weights`` (``"ones"`` when it names a checkpoint or is absent)."""
    text = getattr(args, "weights", None)
    return parse_weights(text) if text is not None and _is_path_weights(text) else "ones"


def parse_weights(text: str) -> Any:
    """``--weights``: 'ones', 'mean', or ``name=gain`` pairs separated by commas (SPEC section 11)."""
    if text in ("ones", "mean"):
        return text
    gains: dict[str, float | int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            gain: float | int = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            gain = float("nan")
        if not sep or not name.strip() or gain != gain:
            raise RFGraphError(
                f"--weights {text!r}: give 'ones', 'mean' or gains by op name such as 'layer1=0.5,layer2.0=2'"
            )
        gains[name.strip()] = gain
    return gains


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
    from ..output import progress

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
    """Shape, dtype, maximum, where it is reached (``peak``: the first such pixel; ``peak_count``,
    ``peak_center`` and ``peak_box``: all of them), the support and the sum of a map."""
    import numpy as np

    from ..plot.maps import exact_box

    peak = tuple(int(i) for i in np.unravel_index(int(np.argmax(values)), values.shape))
    box = [list(pair) for pair in exact_box(values) or ()]
    # The maximum is often reached at several pixels (a plateau, or a lattice of them): say where.
    at_max = np.argwhere(values == values.max())
    return {
        "shape": list(values.shape),
        "dtype": str(values.dtype),
        "max": number(values.max()),
        "peak": list(peak),
        "peak_count": len(at_max),
        "peak_center": [float(c) for c in at_max.mean(axis=0)],
        "peak_box": [[int(lo), int(hi)] for lo, hi in zip(at_max.min(axis=0), at_max.max(axis=0))],
        "nonzero": int((values != 0).sum()),
        "support_box": box,
        "sum": number(values.sum()),
    }


def peak_text(info: dict[str, Any]) -> str:
    """``max 12888 at 16 pixels in [91, 101]x[91, 101], centred at (96, 96)``, or ``max 37 at (7,)``."""
    if info["peak_count"] == 1:
        return f"max {info['max']} at {tuple(info['peak'])}"
    box = "x".join(f"[{lo}, {hi}]" for lo, hi in info["peak_box"])
    centre = ", ".join(f"{c:g}" for c in info["peak_center"])
    return f"max {info['max']} at {info['peak_count']} pixels in {box}, centred at ({centre})"


_SHADES = " .:-=+*#%@"


def ascii_map(values: Any) -> str:
    """A 2-D map as text, darker characters for larger values."""
    top = float(values.max()) or 1.0
    return "\n".join(
        "".join(_SHADES[min(int(v / top * (len(_SHADES) - 1) + 0.5), len(_SHADES) - 1)] * 2 for v in row)
        for row in values
    )


def add_pixel_size_arg(p: argparse.ArgumentParser) -> None:
    """``--pixel-size``: fields and strides in physical units as well (table, tile, pyramid, check)."""
    p.add_argument(
        "--pixel-size", help="physical size of one input pixel, e.g. 0.65um or 2m: fields and strides in it too"
    )


def pixel_size(args: argparse.Namespace) -> tuple[float, str] | None:
    """The parsed ``--pixel-size`` as ``(value, unit)``, or None."""
    from ..answers.units import parse_length

    text = getattr(args, "pixel_size", None)
    return None if text is None else parse_length(text)
