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
  rfgraph zoo --family tf-slim
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
    if str(args.network).lower().endswith(".onnx"):
        from .onnx_import import static_input_shape

        shape = static_input_shape(args.network)
        if shape is not None:
            return shape
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


def cmd_zoo(args: argparse.Namespace) -> int:
    """List the built-in networks: name, family, default input, description."""
    from . import zoo

    entries = [e for e in zoo.entries() if args.family is None or e.family == args.family]
    if args.family is not None and not entries:
        zoo.names(args.family)  # raises the error listing the families
    if args.json:
        print(json.dumps([{"name": e.name, "family": e.family, "default_input": list(e.default_input),
                           "description": e.description, "options": e.options()} for e in entries],
                         indent=2, default=str))
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        size = "x".join(map(str, e.default_input))
        print(f"{e.name.ljust(width)}  {e.family:<12}  {size:>7}  {e.description}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "table": (cmd_table, "print the receptive-field table (size, jump, start, padding, aligned)"),
    "spec-help": (cmd_spec_help, "print the compact network grammar"),
    "zoo": (cmd_zoo, "list the built-in networks (name, family, default input, description)"),
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
    zoo_parser = sub.add_parser("zoo", help=COMMANDS["zoo"][1])
    zoo_parser.add_argument("--family", help="only one family: seed, torchvision, tf-slim, segmentation")
    zoo_parser.add_argument("--json", action="store_true", help="print JSON instead of text")
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
