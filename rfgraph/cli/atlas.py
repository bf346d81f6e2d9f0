"""``rfgraph atlas``: sweep a model zoo, one dask task per model, one row each."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._commands import about
from ._common import dump_json, parse_size


def cmd_atlas(args: argparse.Namespace) -> int:
    from ..answers.distributed.sweep import atlas, format_rows

    shape = parse_size(args.input) if args.input else (224, 224)

    def show(row: dict[str, Any]) -> None:
        if not args.json:
            note = row.get("reason") or ""
            print(f"{row['model']:40s} {row['status']:9s} {row.get('seconds', '')!s:>7}s {note}", file=sys.stderr)

    rows = atlas(
        args.patterns,
        shape,
        out=args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        stats=not args.no_stats,
        reach_check=args.reach_check,
        fresh=args.fresh,
        on_row=show,
    )
    if args.json:
        print(dump_json(rows))
        return 0
    print(format_rows(rows), end="")
    ok = sum(r.get("status") == "imports" for r in rows)
    where = f"; rows in {args.out}" if args.out else ""
    print(f"{len(rows)} models, {ok} import{where}")
    return 0


def register(sub: Any) -> None:
    """Add ``atlas`` to the sub-command parsers."""
    p = sub.add_parser(
        "atlas",
        help=about("atlas"),
        epilog=(
            "examples:\n"
            "  rfgraph atlas torchvision:resnet18 'timm:mobilenetv3*' 'conv3*5' --input 96x96 --out atlas.csv\n"
            "  rfgraph atlas 'timm:*' --input 224x224 --out timm.csv --scheduler tcp://127.0.0.1:8786\n"
            "patterns: torchvision:NAME and timm:NAME (globs allowed), zoo:GLOB or a zoo name, a spec string or\n"
            "file, package.module:factory. --out .csv/.json (.parquet with pyarrow); a file that exists is\n"
            "resumed: its models are skipped, new rows appended. Needs the dask extra for --workers/--scheduler."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("patterns", nargs="+", metavar="PATTERN", help="models to sweep (see below)")
    p.add_argument("--input", "-i", help="input size of every model, e.g. 224x224 (default)")
    p.add_argument("--out", "-o", help="rows file: .csv, .json or .parquet; resumed when it exists")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (a dask LocalCluster when > 1)")
    p.add_argument("--scheduler", help="dask.distributed scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--no-stats", action="store_true", help="skip the exact-map statistics (faster)")
    p.add_argument("--reach-check", action="store_true", help="compare rf.reach with torch's gradient support")
    p.add_argument("--fresh", action="store_true", help="start over: replace the rows of --out")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(handler=cmd_atlas)
