"""``rfgraph coverage``: per input pixel, how many output positions' fields contain it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import RFGraphError
from ._common import add_network_args, dump_json, input_shape, is_image, label, network, progress_bar, summary


def cmd_coverage(args: argparse.Namespace) -> int:
    import numpy as np

    from .._coverage import coverage

    shape = input_shape(args)
    with progress_bar(args, f"coverage {args.network}", 2) as bar:
        values = coverage(network(args), shape, args.endpoint)
        bar.update("output")
        if is_image(args.out):
            from ..plot import save_map_figure

            save_map_figure(values, args.out, scale=args.scale, title=f"{label(args)}: coverage")
        bar.update()
    if args.out and not is_image(args.out):
        out = str(args.out)
        if out.endswith(".npy"):
            np.save(out, values)
        elif out.endswith(".csv"):
            if values.ndim > 2:
                raise RFGraphError(f"--out {out!r}: CSV holds 1-D or 2-D maps; use .npy for {values.ndim}-D")
            np.savetxt(out, np.atleast_2d(values), delimiter=",", fmt="%d")
        else:
            raise RFGraphError(f"--out {out!r}: unknown extension; use .npy or .csv, or .png/.svg/.pdf")
    info = summary(values)
    if args.json:
        print(dump_json({"metric": "coverage", **info, "out": args.out}))
    else:
        print(
            f"coverage of {args.network!r} at {'x'.join(map(str, values.shape))}: "
            f"a pixel lies in at most {info['max']} output fields (at {tuple(info['peak'])}); "
            f"{info['nonzero']} pixels are seen by some output" + (f"; written to {args.out}" if args.out else "")
        )
        if args.out:
            print(f"wrote {args.out}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``coverage`` to the sub-command parsers."""
    p = sub.add_parser(
        "coverage",
        help="per input pixel, how many output positions' receptive fields contain it",
        epilog="example:\n  rfgraph coverage vgg16 --input 224x224 --endpoint pool2 --out coverage.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_network_args(p)
    p.add_argument("--out", "-o", help="write the map: .npy or .csv data, or a .png/.svg/.pdf picture")
    p.add_argument("--scale", choices=["linear", "log"], default="linear", help="scale of pictures")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.set_defaults(handler=cmd_coverage)
