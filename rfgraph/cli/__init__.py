"""The ``rfgraph`` command line.

Every command takes a network as a zoo name, a ``.onnx``/``.json``/``.yaml``
file, or a compact text spec (``rfgraph spec-help`` prints the grammar).
Invalid input prints one line on stderr and exits with status 2.

Each sub-command lives in a module of this package that has a ``register(sub)``
function; :data:`~rfgraph.cli._commands.COMMANDS` names each command's module and help
line. A run imports only the module of the command it runs, and ``rfgraph --help``
none of them, so that the command line starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from ..errors import RFGraphError
from ._commands import COMMANDS

__all__ = ["main", "build_parser", "parse_size", "COMMANDS", "COMMAND_MODULES"]

COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))
"""Modules of :mod:`rfgraph.cli` that register sub-commands, in ``--help`` order."""

EPILOG = """examples:
  rfgraph demo
  rfgraph table vgg16 --input 224x224 --endpoint pool5
  rfgraph profile "conv3*5" --input 15
  rfgraph map vgg16 --metric paths --scale log --out vgg16.png
  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png
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
        first = one_line(message.splitlines()[0]) if message else "invalid arguments"
        self.exit(2, f"{self.prog}: error: {first} (see {self.prog} --help)\n")


def parse_size(text: str) -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``; ``"15"`` -> ``(15,)`` (see :func:`rfgraph.cli._common.parse_size`)."""
    from ._common import parse_size as _parse_size

    return _parse_size(text)


def build_parser(command: str | None = None, *, stubs: bool = False) -> argparse.ArgumentParser:
    """The argument parser.

    By default every sub-command is complete. ``command`` builds only that command's
    module (the others are left out); ``stubs`` lists every command with its help line
    but no arguments (enough for ``rfgraph --help`` and for naming the valid choices).
    """
    parser = _Parser(
        prog="rfgraph",
        description="Exact receptive fields and per-pixel contribution maps of CNNs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if stubs:
        for name, (_, line) in COMMANDS.items():
            sub.add_parser(name, help=line, add_help=False)
        return parser
    modules = COMMAND_MODULES if command is None else (COMMANDS[command][0],)
    for module in modules:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    # The first word that is not an option is the command (no global option takes a value).
    word = next((a for a in argv if not a.startswith("-")), None)
    if word in COMMANDS:
        return build_parser(word)
    return build_parser(stubs=True)


def _quiet_stdout() -> None:
    # A closed pipe (``rfgraph zoo | head -1``): send the rest to /dev/null so that the
    # interpreter's final flush does not fail either, and exit quietly as Unix tools do.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` as one printable line: control characters, newlines and other unprintable code points
    escaped (``\\n``, ``\\x1b``), at most ``limit`` characters.

    >>> one_line("a\\nb\\x1b[2J")
    'a\\\\nb\\\\x1b[2J'
    """
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _error(command: str, message: str) -> int:
    print(f"rfgraph {command}: error: {one_line(message)}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed, 2 bad input).

    Whatever happens, stderr gets at most one line: an error (exit 2), or one line summing up the
    warnings that libraries (torch, numpy) raised during a run that worked.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught_now:
            warnings.simplefilter("default")
            caught = caught_now
            status = int(args.handler(args))
            sys.stdout.flush()
        if caught:
            first = str(caught[0].message).strip().splitlines()[0] if str(caught[0].message).strip() else ""
            more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
            print(f"rfgraph {args.command}: warning: {one_line(first, 300)}{more}", file=sys.stderr)
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except RFGraphError as err:
        return _error(args.command, str(err))
    except OSError as err:  # unreadable input or unwritable --out
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        return _error(args.command, f"cannot access{where}: {err.strerror or err}")
    except MemoryError:
        return _error(args.command, "out of memory; use a smaller --input or a smaller network")
    except RecursionError:
        return _error(args.command, "the input is nested too deeply")
