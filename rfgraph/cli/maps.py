"""``rfgraph map``, ``rfgraph profile`` and ``rfgraph graph``: contribution maps, profiles and pictures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import RFGraphError
from ._commands import about
from ._common import (
    add_network_args,
    compute_map,
    default_endpoint,
    dump_json,
    endpoint_note,
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

DATA_SUFFIXES = (".npy", ".csv")


def _check_out(args: argparse.Namespace, allowed: tuple[str, ...], default: str | None = None) -> None:
    """Validate ``--out`` (and the default file of --plot/graph) before any work is done."""
    from ..output import check_destination, suffix

    if args.out is None:
        args.out = default
    if args.out is None:
        return
    if not args.out.strip():
        raise RFGraphError("--out '' is empty; give a file name such as map.png, or leave --out out")
    if suffix(args.out) not in allowed:
        data = [a for a in allowed if a in DATA_SUFFIXES]
        pictures = [a for a in allowed if a not in DATA_SUFFIXES]
        kinds = ([" or ".join(data) + " data"] if data else []) + [", ".join(pictures) + " pictures"]
        raise RFGraphError(f"--out {args.out!r}: unknown extension; use {', or '.join(kinds)} (any case)")
    check_destination(args.out, args.force)


def cmd_graph(args: argparse.Namespace) -> int:
    from ..plot import IMAGE_SUFFIXES, save_graph_figure

    _check_out(args, IMAGE_SUFFIXES, "graph.png")
    with progress_bar(args, f"graph {args.network}", 1) as bar:
        info = save_graph_figure(
            network(args),
            input_shape(args, default=(15,)),
            args.out,
            source=args.source,
            target=parse_target(args.target),
            endpoint=args.endpoint,
            overwrite=args.force,
        )
        bar.update()
    if args.json:
        print(dump_json(info))
    else:
        print(f"wrote {info['out']}: {info['title']}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from ..engine import profile
    from ..plot import IMAGE_SUFFIXES

    shape = input_shape(args)
    _check_out(args, IMAGE_SUFFIXES, "profile.png" if args.plot else None)
    auto = default_endpoint(args, shape)
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
        if args.out is not None:
            from ..plot import save_profile_figure

            save_profile_figure(
                values,
                args.out,
                metric=args.metric,
                scale=args.scale,
                title=f"{label(args)}: {args.metric} profile",
                overwrite=args.force,
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
                    "endpoint": args.endpoint,
                    **({"out": args.out} if args.out is not None else {}),
                }
            )
        )
    else:
        print(" ".join(str(v) for v in shown))
        if auto is not None:
            print(endpoint_note(auto), file=sys.stderr)
        if args.out is not None:
            print(f"wrote {args.out}", file=sys.stderr)
    return 0


def save_map_picture(args: argparse.Namespace, values: Any, shape: tuple[int, ...]) -> None:
    from ..arithmetic import receptive_field
    from ..plot import exact_box, save_map_figure

    target = parse_target(args.target)
    try:
        records: Any = receptive_field(network(args), shape, args.endpoint)
    except RFGraphError:  # e.g. branches with different strides: no single RF box
        records = None
    if target == "all":  # a sum over every output position has no single field box
        records, target = None, None
    elif records is not None and (not records[-1].uniform or records[-1].global_context):
        # The four numbers are not the whole story here (SPEC section 5): draw the exact field,
        # which is the support of this very map, rather than a rectangle that is not true.
        records = exact_box(values)
    save_map_figure(
        values,
        args.out,
        records=records,
        target=target,
        scale=args.scale,
        metric=args.metric,
        title=f"{label(args)}: {args.metric} contribution map",
        overwrite=args.force,
    )


def _save_data(args: argparse.Namespace, values: Any) -> None:
    import numpy as np

    from ..output import suffix, write_file

    if suffix(args.out) == ".csv":
        if values.ndim > 2:
            raise RFGraphError(f"--out {args.out!r}: CSV holds 1-D or 2-D maps; use .npy for {values.ndim}-D")
        if values.dtype == object:  # exact Python ints of any size, written digit for digit

            def save_ints(tmp: Any) -> None:
                with open(tmp, "w") as fh:
                    fh.writelines(",".join(str(v) for v in row) + "\n" for row in np.atleast_2d(values))

            write_file(args.out, save_ints, overwrite=args.force)
            return
        fmt = "%d" if values.dtype.kind == "i" else "%.17g"
        write_file(
            args.out,
            lambda tmp: np.savetxt(tmp, np.atleast_2d(values), delimiter=",", fmt=fmt),
            overwrite=args.force,
        )
    else:
        if values.dtype == object:
            raise RFGraphError(
                f"--out {args.out!r}: these path counts are exact integers beyond float64 (2^53), which .npy "
                "cannot hold without pickling; write .csv instead (exact digits)"
            )

        def save(tmp: Any) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save appends .npy to any other name
                np.save(f, values, allow_pickle=False)

        write_file(args.out, save, overwrite=args.force)


def cmd_map(args: argparse.Namespace) -> int:
    from ..plot import IMAGE_SUFFIXES

    shape = input_shape(args)
    _check_out(args, DATA_SUFFIXES + IMAGE_SUFFIXES)
    auto = default_endpoint(args, shape)
    with progress_bar(args, f"map {args.network}", 2) as bar:
        values = compute_map(args, shape)
        bar.update("output")
        if args.out is not None and is_image(args.out):
            save_map_picture(args, values, shape)
        elif args.out is not None:
            _save_data(args, values)
        bar.update()
    info = summary(values)
    if args.json:
        print(dump_json({"metric": args.metric, **info, "out": args.out, "endpoint": args.endpoint}))
    else:
        print(
            f"{args.metric} map of {args.network!r} at {'x'.join(map(str, values.shape))}: "
            f"max {info['max']} at {tuple(info['peak'])}, {info['nonzero']} pixels reach the target, "
            f"support box {info['support_box']}" + (f"; written to {args.out}" if args.out is not None else "")
        )
        if auto is not None:
            print(endpoint_note(auto))
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
    _add_force(p)


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force", "-f", action="store_true", help="replace an existing --out file (or link) instead of refusing"
    )


def register(sub: Any) -> None:
    """Add ``profile``, ``map`` and ``graph`` to the sub-command parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "profile",
        help=about("profile"),
        epilog='example:\n  rfgraph profile "conv3*5" --input 15 --metric paths',
        formatter_class=fmt,
    )
    _add_map_args(p)
    p.add_argument("--axis", type=int, default=0, help="axis of the line through the peak (N-D maps)")
    p.add_argument("--full", action="store_true", help="print zeros outside the receptive field too")
    p.add_argument("--plot", action="store_true", help="draw the profile as bars (default --out profile.png)")
    p.add_argument("--out", "-o", help="picture of the profile: .png, .svg or .pdf (implies --plot)")
    p.set_defaults(handler=cmd_profile)
    p = sub.add_parser(
        "map",
        help=about("map"),
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
        help=about("graph"),
        epilog='example:\n  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png',
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--source", "-s", type=int, help="input position whose paths to the target are highlighted")
    p.add_argument("--target", "-t", help="target position in the output (default: centre)")
    p.add_argument("--out", "-o", help="picture to write: .png, .svg or .pdf (default graph.png)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    _add_force(p)
    p.set_defaults(handler=cmd_graph)
