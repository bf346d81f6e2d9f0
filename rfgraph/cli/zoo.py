"""``rfgraph zoo``: the built-in networks."""

from __future__ import annotations

import argparse
from typing import Any

from ._commands import about
from ._common import dump_json


def cmd_zoo(args: argparse.Namespace) -> int:
    """List the built-in networks: name, family, default input, description."""
    from .. import zoo

    entries = [e for e in zoo.entries() if args.family is None or e.family == args.family]
    if args.family is not None and not entries:
        zoo.names(args.family)  # raises the error listing the families
    if args.json:
        print(
            dump_json(
                [
                    {
                        "name": e.name,
                        "family": e.family,
                        "default_input": list(e.default_input),
                        "description": e.description,
                        "options": e.options(),
                    }
                    for e in entries
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        size = "x".join(map(str, e.default_input))
        print(f"{e.name.ljust(width)}  {e.family:<12}  {size:>7}  {e.description}")
    return 0


def register(sub: Any) -> None:
    """Add ``zoo`` to the sub-command parsers."""
    p = sub.add_parser(
        "zoo",
        help=about("zoo"),
        epilog="example:\n  rfgraph zoo --family tf-slim",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--family", help="only one family: seed, torchvision, tf-slim, segmentation")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_zoo)
