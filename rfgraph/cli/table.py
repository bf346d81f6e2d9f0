"""``rfgraph table`` and ``rfgraph spec-help``: the receptive-field table and the spec grammar."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_network_args, dump_json, input_shape, network


def cmd_table(args: argparse.Namespace) -> int:
    from ..arithmetic import format_table, receptive_field

    records = receptive_field(network(args), input_shape(args), args.endpoint)
    if args.json:
        print(dump_json([r.as_dict() for r in records], indent=2))
    else:
        print(format_table(records))
    return 0


def cmd_spec_help(args: argparse.Namespace) -> int:
    from ..spec import GRAMMAR

    print("Compact network spec: comma-separated layers\n" + GRAMMAR)
    return 0


def register(sub: Any) -> None:
    """Add ``table`` and ``spec-help`` to the sub-command parsers."""
    p = sub.add_parser(
        "table",
        help="print the receptive-field table (size, jump, start, padding, aligned)",
        epilog='example:\n  rfgraph table "conv11s4,pool3s2,conv5p2,pool3s2" --input 227x227',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_network_args(p)
    p.set_defaults(handler=cmd_table)
    p = sub.add_parser(
        "spec-help",
        help="print the compact network grammar",
        epilog="example:\n  rfgraph spec-help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=cmd_spec_help)
