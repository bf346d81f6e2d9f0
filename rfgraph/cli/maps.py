"""``rfgraph map``, ``rfgraph profile`` and ``rfgraph graph``: contribution maps, profiles and pictures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import RFGraphError
from ._common import (
    add_network_args,
    compute_map,
    dump_json,
    input_shape,
    is_image,
    label,
    network,
    number,
    parse_target,
    progress_bar,
    summary,
    support,
)


def cmd_graph(args: argparse.Namespace) -> int:
    from ..plot import save_graph_figure

    with progress_bar(args, f"graph {args.network}", 1) as bar:
        info = save_graph_figure(
            network(args),
            input_shape(args, default=(15,)),
            args.out,
            source=args.source,
            target=parse_target(args.target),
            endpoint=args.endpoint,
        )
        bar.update()
    if args.json:
        print(dump_json(info))
    else:
        print(f"wrote {info['out']}: {info['title']}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from ..engine import profile

    shape = input_shape(args)
    if args.out is not None and not is_image(args.out):
        raise RFGraphError(f"--out {args.out!r}: profile pictures are .png, .svg or .pdf")
    with progress_bar(args, f"profile {args.network}", 2) as bar:
        values = profile(
            network(args),
            shape,
            args.metric,
            parse_target(args.target),
            axis=args.axis,
            endpoint=args.endpoint,
            exact=True if args.exact else None,
        )
        bar.update("figure")
        if args.plot or args.out is not None:
            from ..plot import save_profile_figure

            args.out = args.out or "profile.png"
            save_profile_figure(
                values, args.out, metric=args.metric, scale=args.scale, title=f"{label(args)}: {args.metric} profile"
            )
        bar.update()
    lo, hi = (0, len(values)) if args.full else support(values)
    shown = [number(v) for v in values[lo:hi]]
    if args.json:
        print(
            dump_json(
                {
                    "metric": args.metric,
                    "input": list(shape),
                    "axis": args.axis,
                    "offset": lo,
                    "values": shown,
                    **({"out": args.out} if args.out else {}),
                }
            )
        )
    else:
        print(" ".join(str(v) for v in shown))
        if args.out:
            print(f"wrote {args.out}", file=sys.stderr)
    return 0


def save_map_picture(args: argparse.Namespace, values: Any, shape: tuple[int, ...]) -> None:
    from ..arithmetic import receptive_field
    from ..plot import save_map_figure

    target = parse_target(args.target)
    try:
        records: Any = receptive_field(network(args), shape, args.endpoint)
    except RFGraphError:  # e.g. branches with different strides: no single RF box
        records = None
    if target == "all":  # a sum over every output position has no single field box
        records, target = None, None
    save_map_figure(
        values,
        args.out,
        records=records,
        target=target,
        scale=args.scale,
        metric=args.metric,
        title=f"{label(args)}: {args.metric} contribution map",
    )


def cmd_map(args: argparse.Namespace) -> int:
    import numpy as np

    shape = input_shape(args)
    with progress_bar(args, f"map {args.network}", 2) as bar:
        values = compute_map(args, shape)
        bar.update("output")
        if is_image(args.out):
            save_map_picture(args, values, shape)
        bar.update()
    if args.out and not is_image(args.out):
        out = str(args.out)
        if out.endswith(".npy"):
            np.save(out, values)
            if values.dtype == object:
                print(f"note: {out} holds exact Python ints: np.load(..., allow_pickle=True)", file=sys.stderr)
        elif out.endswith(".csv"):
            if values.ndim > 2:
                raise RFGraphError(f"--out {out!r}: CSV holds 1-D or 2-D maps; use .npy for {values.ndim}-D")
            if values.dtype == object:  # exact Python ints of any size, written digit for digit
                with open(out, "w") as fh:
                    fh.writelines(",".join(str(v) for v in row) + "\n" for row in np.atleast_2d(values))
            else:
                fmt = "%d" if values.dtype.kind == "i" else "%.17g"
                np.savetxt(out, np.atleast_2d(values), delimiter=",", fmt=fmt)
        else:
            raise RFGraphError(f"--out {out!r}: unknown extension; use .npy or .csv, or .png/.svg/.pdf")
    info = summary(values)
    if args.json:
        print(dump_json({"metric": args.metric, **info, "out": args.out}))
    else:
        print(
            f"{args.metric} map of {args.network!r} at {'x'.join(map(str, values.shape))}: "
            f"max {info['max']} at {tuple(info['peak'])}, {info['nonzero']} pixels reach the target, "
            f"support box {info['support_box']}" + (f"; written to {args.out}" if args.out else "")
        )
    return 0


def _add_map_args(p: argparse.ArgumentParser) -> None:
    add_network_args(p)
    p.add_argument(
        "--metric",
        "-m",
        default="edges",
        choices=["edges", "paths"],
        help="distinct edges on all paths (default) or number of paths",
    )
    p.add_argument(
        "--target", "-t", help="target position in the output, e.g. 3x4 (default: centre); 'all': sum over every output"
    )
    p.add_argument(
        "--exact",
        action="store_true",
        help="paths as exact integers (automatic anyway where float64 would round, beyond 2^53)",
    )
    p.add_argument("--scale", choices=["linear", "log"], default="linear", help="scale of pictures")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def register(sub: Any) -> None:
    """Add ``profile``, ``map`` and ``graph`` to the sub-command parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "profile",
        help="print the 1-D contribution profile (edges or paths) as numbers",
        epilog='example:\n  rfgraph profile "conv3*5" --input 15 --metric paths',
        formatter_class=fmt,
    )
    _add_map_args(p)
    p.add_argument("--axis", type=int, default=0, help="axis of the line through the peak (N-D maps)")
    p.add_argument("--full", action="store_true", help="print zeros outside the receptive field too")
    p.add_argument("--plot", action="store_true", help="draw the profile as bars (default file profile.png)")
    p.add_argument("--out", "-o", help="picture of the profile: .png, .svg or .pdf (implies --plot)")
    p.set_defaults(handler=cmd_profile)
    p = sub.add_parser(
        "map",
        help="compute a contribution map; --out map.npy/.csv writes it, .png/.svg/.pdf draws it",
        epilog=(
            "examples:\n  rfgraph map vgg16 --out vgg16.png\n"
            "  rfgraph map vgg16 --input 224x224 --metric paths --out vgg16.npy\n"
            "see also: rfgraph profile (1-D numbers), rfgraph graph (the unrolled graph)"
        ),
        formatter_class=fmt,
    )
    _add_map_args(p)
    p.add_argument("--out", "-o", help="write the map: .npy or .csv data, or a .png/.svg/.pdf picture")
    p.set_defaults(handler=cmd_map)
    p = sub.add_parser(
        "graph",
        help="draw the unrolled graph of a small 1-D network: --out graph.png",
        epilog='example:\n  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png',
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--source", "-s", type=int, help="input position whose paths to the target are highlighted")
    p.add_argument("--target", "-t", help="target position in the output (default: centre)")
    p.add_argument("--out", "-o", default="graph.png", help="picture to write: .png, .svg or .pdf")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.set_defaults(handler=cmd_graph)
