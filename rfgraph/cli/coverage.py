"""``rfgraph coverage``: per input pixel, how many output positions' fields contain it."""

from __future__ import annotations

import argparse
from typing import Any

from ._commands import about
from ._common import add_network_args, dump_json, input_shape, is_image, label, network, progress_bar, summary
from .maps import DATA_SUFFIXES, _add_force, _check_out, _save_data


def cmd_coverage(args: argparse.Namespace) -> int:
    from ..engine.coverage import coverage
    from ..plot import IMAGE_SUFFIXES

    shape = input_shape(args)
    _check_out(args, DATA_SUFFIXES + IMAGE_SUFFIXES)
    with progress_bar(args, f"coverage {args.network}", 2) as bar:
        values = coverage(network(args), shape, args.endpoint)
        bar.update("output")
        if args.out is not None and is_image(args.out):
            from ..plot import save_map_figure

            save_map_figure(values, args.out, scale=args.scale, title=f"{label(args)}: coverage", overwrite=args.force)
        elif args.out is not None:
            _save_data(args, values)
        bar.update()
    info = summary(values)
    if args.json:
        print(dump_json({"metric": "coverage", **info, "out": args.out, "endpoint": args.endpoint}))
    else:
        print(
            f"coverage of {args.network!r} at {'x'.join(map(str, values.shape))}: "
            f"a pixel lies in at most {info['max']} output fields (at {tuple(info['peak'])}); "
            f"{info['nonzero']} pixels are seen by some output" + (f"; written to {args.out}" if args.out else "")
        )
    return 0


def register(sub: Any) -> None:
    """Add ``coverage`` to the sub-command parsers."""
    p = sub.add_parser(
        "coverage",
        help=about("coverage"),
        epilog="example:\n  rfgraph coverage vgg16 --input 224x224 --endpoint pool2 --out coverage.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_network_args(p)
    p.add_argument("--out", "-o", help="write the map: .npy or .csv data, or a .png/.svg/.pdf picture")
    p.add_argument("--scale", choices=["linear", "log"], default="linear", help="scale of pictures")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    _add_force(p)
    p.set_defaults(handler=cmd_coverage)
