"""``rfgraph table`` and ``rfgraph spec-help``: the receptive-field table and the spec grammar."""

from __future__ import annotations

import argparse
from typing import Any

from ._commands import about
from ._common import add_network_args, add_pixel_size_arg, dump_json, input_shape, network, pixel_size


def cmd_table(args: argparse.Namespace) -> int:
    from ..arithmetic import format_table, plan_receptive_field
    from ..arithmetic.notes import table_notes
    from ..plan import build_plan

    plan = build_plan(network(args), input_shape(args), args.endpoint)
    records = plan_receptive_field(plan)
    unit = pixel_size(args)
    if args.json:
        rows = [r.as_dict() for r in records]
        if unit is not None:
            for row, r in zip(rows, records):
                row["pixel_size"] = list(unit)
                row["size_physical"] = [s * unit[0] for s in r.size]
                row["stride_physical"] = [float(s) * unit[0] for s in r.stride]
        print(dump_json(rows, indent=2))
    else:
        print(format_table(records) if unit is None else _physical_table(records, unit))
        notes = table_notes(plan, records)
        if notes:  # why token mixers' fields look as they do (window attention grows by windows)
            print("\nnotes:\n" + "\n".join(f"  {n}" for n in notes))
    return 0


def _physical_table(records: list[Any], unit: tuple[float, str]) -> str:
    """The table with the jump and size in physical units as two more columns."""
    from ..arithmetic import TABLE_COLUMNS, table_rows

    def phys(values: tuple[Any, ...]) -> str:
        shown = [f"{float(v) * unit[0]:.4g}" for v in values]
        return shown[0] if len(set(shown)) == 1 else "x".join(shown)

    head = [*TABLE_COLUMNS, f"jump ({unit[1]})", f"size ({unit[1]})"]
    rows = [head] + [[*row, phys(r.stride), phys(r.size)] for row, r in zip(table_rows(records), records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_spec_help(args: argparse.Namespace) -> int:
    from ..spec import GRAMMAR

    print("Compact network spec: comma-separated layers\n" + GRAMMAR)
    return 0


def register(sub: Any) -> None:
    """Add ``table`` and ``spec-help`` to the sub-command parsers."""
    p = sub.add_parser(
        "table",
        help=about("table"),
        epilog='example:\n  rfgraph table "conv11s4,pool3s2,conv5p2,pool3s2" --input 227x227',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_network_args(p)
    add_pixel_size_arg(p)
    p.set_defaults(handler=cmd_table)
    p = sub.add_parser(
        "spec-help",
        help=about("spec-help"),
        epilog="example:\n  rfgraph spec-help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=cmd_spec_help)
