"""The ``rfgraph`` command line.

Every command takes a network as a zoo name, a ``.onnx``/``.json``/``.yaml``
file, or a compact text spec (``rfgraph spec-help`` prints the grammar).
Invalid input prints one line on stderr and exits with status 2.

Each sub-command lives in a module of this package that has a ``register(sub)``
function; :data:`COMMAND_MODULES` lists them in the order ``--help`` shows.
Modules import nothing heavy at import time, so ``rfgraph --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import RFGraphError
from ._common import parse_size

__all__ = ["main", "build_parser", "parse_size", "COMMAND_MODULES"]

COMMAND_MODULES = ("demo", "table", "maps", "coverage", "erf", "erf_model", "practical", "zoo", "serve")
"""Modules of :mod:`rfgraph.cli` that register sub-commands, in ``--help`` order."""

EPILOG = """examples:
  rfgraph demo
  rfgraph table vgg16 --input 224x224 --endpoint pool5
  rfgraph profile "conv3*5" --input 15
  rfgraph map vgg16 --metric paths --scale log --out vgg16.png
  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png
COMMAND_MODULES = ("demo", "table", "maps", "erf", "erf_model", "practical", "zoo", "serve")
  rfgraph <command> --help      # options and an example for each command
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rfgraph")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        from .. import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked (importlib.metadata costs ~0.1 s)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.exit(message=f"rfgraph {_version()}\n")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (like every other bad input), exit status 2."""

    def error(self, message: str) -> NoReturn:
        first = message.splitlines()[0] if message else "invalid arguments"
        self.exit(2, f"{self.prog}: error: {first} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command of :data:`COMMAND_MODULES`."""
    parser = _Parser(
        prog="rfgraph",
        description="Exact receptive fields and per-pixel contribution maps of CNNs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def _quiet_stdout() -> None:
    # A closed pipe (``rfgraph zoo | head -1``): send the rest to /dev/null so that the
    # interpreter's final flush does not fail either, and exit quietly as Unix tools do.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        status = int(args.handler(args))
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except RFGraphError as err:
        print(f"rfgraph {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unreadable input or unwritable --out
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"rfgraph {args.command}: error: cannot access{where}: {err.strerror or err}", file=sys.stderr)
        return 2
