"""The ``rfgraph`` command line.

Every command takes a network as a zoo name, a ``.onnx``/``.json``/``.yaml``
file, or a compact text spec (``rfgraph spec-help`` prints the grammar).
Invalid input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import RFGraphError

__all__ = ["main", "parse_size"]

EPILOG = """examples:
  rfgraph demo
  rfgraph table "conv3,conv3s2p1,pool2,conv3d2" --input 64x64
  rfgraph table vgg16 --input 224x224 --endpoint pool5
  rfgraph profile "conv3*5" --input 15
  rfgraph map vgg16 --input 224x224 --metric edges --out vgg16.npy
  rfgraph spec-help
"""


def parse_size(text: str) -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``; ``"15"`` -> ``(15,)``."""
    try:
        shape = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--input {text!r} is not a size; write e.g. 224x224 or 15") from None
    if not shape or any(n < 1 for n in shape):
        raise RFGraphError(f"--input {text!r} must hold positive sizes, e.g. 224x224")
    return shape


def parse_target(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(p) for p in text.replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--target {text!r} is not a position; write e.g. 3x4") from None


def _network(args: argparse.Namespace) -> Any:
    from .spec import load_network

    return load_network(args.network)


def _input_shape(args: argparse.Namespace, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if args.input is not None:
        return parse_size(args.input)
    from . import zoo

    if args.network in zoo.names():
        shape = zoo.default_input(args.network) if hasattr(zoo, "default_input") else None
        if shape is not None:
            return tuple(shape)
    if default is not None:
        return default
    raise RFGraphError(f"network {args.network!r} needs --input, e.g. --input 224x224")


def cmd_table(args: argparse.Namespace) -> int:
    from .arithmetic import format_table, receptive_field

    records = receptive_field(_network(args), _input_shape(args), args.endpoint)
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
    else:
        print(format_table(records))
    return 0


def cmd_spec_help(args: argparse.Namespace) -> int:
    from .spec import GRAMMAR

    print("Compact network spec: comma-separated layers\n" + GRAMMAR)
    return 0


def cmd_erf(args: argparse.Namespace) -> int:
    """Effective-receptive-field statistics of the exact map (see :mod:`rfgraph.erf`)."""
    from .erf import format_stats, network_erf_stats, predict

    network, shape = _network(args), _input_shape(args)
    stats = network_erf_stats(network, shape, args.metric, endpoint=args.endpoint)
    prediction, note = None, ""
    if args.metric == "paths" and args.endpoint is None:
        try:
            prediction = predict(network, shape)
        except RFGraphError as err:
            note = f"no closed form: {err}"
        if prediction is not None and abs(stats.mass - prediction.paths) > 1e-9 * prediction.paths:
            prediction, note = None, "closed form not shown: the border clips some paths; use a larger --input"
    if args.json:
        data = stats.as_dict()
        if prediction is not None:
            data["prediction"] = {"variance": [float(v) for v in prediction.variance],
                                  "variance_exact": [str(v) for v in prediction.variance],
                                  "span": list(prediction.span), "stride": list(prediction.stride),
                                  "paths": prediction.paths}
        if note:
            data["note"] = note
        print(json.dumps(data, indent=2))
    else:
        print(format_stats(stats, prediction))
        if note:
            print(note)
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "table": (cmd_table, "print the receptive-field table (size, jump, start, padding, aligned)"),
    "spec-help": (cmd_spec_help, "print the compact network grammar"),
    "erf": (cmd_erf, "print effective-receptive-field statistics of the exact map"),
}


def _add_network_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="zoo name, .onnx/.json/.yaml file, or a spec such as 'conv3*5'")
    p.add_argument("--input", "-i", help="input size, e.g. 224x224 or 15")
    p.add_argument("--endpoint", "-e", help="tensor to analyse instead of the network output")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfgraph",
        description="Exact receptive fields and per-pixel contribution maps of CNNs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table = sub.add_parser("table", help=COMMANDS["table"][1], epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_network_args(table)
    sub.add_parser("spec-help", help=COMMANDS["spec-help"][1])
    erf = sub.add_parser("erf", help=COMMANDS["erf"][1])
    _add_network_args(erf)
    erf.add_argument("--metric", "-m", default="paths", help="paths (default) or edges")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = COMMANDS[args.command][0]
    try:
        return handler(args)
    except RFGraphError as err:
        print(f"rfgraph {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
