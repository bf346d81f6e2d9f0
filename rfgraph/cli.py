"""The ``rfgraph`` command line.

Every command takes a network as a zoo name, a ``.onnx``/``.json``/``.yaml``
file, or a compact text spec (``rfgraph spec-help`` prints the grammar).
Invalid input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import RFGraphError

__all__ = ["main", "parse_size"]

EPILOG = """examples:
  rfgraph demo
  rfgraph table "conv3,conv3s2p1,pool2,conv3d2" --input 64x64
  rfgraph table vgg16 --input 224x224 --endpoint pool5
  rfgraph profile "conv3*5" --input 15
  rfgraph map vgg16 --input 224x224 --metric edges --out vgg16.npy
  rfgraph map vgg16 --out vgg16.png              # a picture: .png, .svg or .pdf
  rfgraph map "conv3*4" --input 64x64 --metric paths --scale log --out map.svg
  rfgraph profile "conv3*5" --input 15 --plot --out profile.png
  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png
  rfgraph spec-help
  rfgraph zoo --family tf-slim
"""


def parse_size(text: str) -> tuple[int, ...]:
    """``"224x224"`` -> ``(224, 224)``; ``"15"`` -> ``(15,)``."""
    try:
        shape = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--input {text!r} is not a size; write e.g. 224x224 or 15") from None
    if not shape or any(n < 1 for n in shape):
        raise RFGraphError(f"--input {text!r} must hold positive sizes, e.g. 224x224")
    return shape


def parse_target(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(p) for p in text.replace(",", "x").split("x"))
    except ValueError:
        raise RFGraphError(f"--target {text!r} is not a position; write e.g. 3x4") from None


def _network(args: argparse.Namespace) -> Any:
    from . import zoo
    from .spec import load_network

    # Zoo networks whose geometry depends on the input (U-Net, DeepLab) are built for --input.
    if args.network in zoo.names() and getattr(args, "input", None) and "input_size" in zoo.options(args.network):
        shape = parse_size(args.input)
        return zoo.build(args.network, input_size=shape[0] if len(set(shape)) == 1 else shape)
    return load_network(args.network)


def _input_shape(args: argparse.Namespace, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if args.input is not None:
        return parse_size(args.input)
    from . import zoo

    if args.network in zoo.names():
        shape = zoo.default_input(args.network) if hasattr(zoo, "default_input") else None
        if shape is not None:
            return tuple(shape)
    if str(args.network).lower().endswith(".onnx"):
        from .onnx_import import static_input_shape

        shape = static_input_shape(args.network)
        if shape is not None:
            return shape
    if default is not None:
        return default
    raise RFGraphError(f"network {args.network!r} needs --input, e.g. --input 224x224")


def cmd_table(args: argparse.Namespace) -> int:
    from .arithmetic import format_table, receptive_field

    records = receptive_field(_network(args), _input_shape(args), args.endpoint)
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
    else:
        print(format_table(records))
    return 0


def _map(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    from .engine import contribution_map

    return contribution_map(_network(args), shape, args.metric, parse_target(args.target), endpoint=args.endpoint)


def _support(values: Any) -> tuple[int, int]:
    import numpy as np

    nonzero = np.flatnonzero(values)
    return (0, 0) if nonzero.size == 0 else (int(nonzero[0]), int(nonzero[-1]) + 1)


def _number(v: Any) -> Any:
    return int(v) if float(v).is_integer() else float(v)


def _progress(args: argparse.Namespace, desc: str, total: int) -> Any:
    """A stage progress bar on stderr (only on a terminal, only after 1 s, never with --json)."""
    from .progress import progress

    quiet = args.json or getattr(args, "no_progress", False)
    if len(desc) > 32:
        desc = desc[:31] + "…"
    return progress(desc, total=total, enabled=False if quiet else None)


def _is_image(out: Any) -> bool:
    """``--out`` names a picture (drawn with rfgraph.plot) rather than data."""
    from .plot import IMAGE_SUFFIXES

    return out is not None and str(out).lower().endswith(IMAGE_SUFFIXES)


def _label(args: argparse.Namespace) -> str:
    """The network as a figure title: long specs are shortened."""
    name = str(args.network)
    return name if len(name) <= 40 else name[:39] + "…"


def cmd_graph(args: argparse.Namespace) -> int:
    from .plot import save_graph_figure

    with _progress(args, f"graph {args.network}", 1) as bar:
        summary = save_graph_figure(
            _network(args),
            _input_shape(args, default=(15,)),
            args.out,
            source=args.source,
            target=parse_target(args.target),
            endpoint=args.endpoint,
        )
        bar.update()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {summary['out']}: {summary['title']}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .engine import profile

    shape = _input_shape(args)
    if args.out is not None and not _is_image(args.out):
        raise RFGraphError(f"--out {args.out!r}: profile pictures are .png, .svg or .pdf")
    with _progress(args, f"profile {args.network}", 2) as bar:
        values = profile(
            _network(args), shape, args.metric, parse_target(args.target), axis=args.axis, endpoint=args.endpoint
        )
        bar.update("figure")
        if args.plot or args.out is not None:
            from .plot import save_profile_figure

            args.out = args.out or "profile.png"
            save_profile_figure(
                values, args.out, metric=args.metric, scale=args.scale, title=f"{_label(args)}: {args.metric} profile"
            )
        bar.update()
    lo, hi = (0, len(values)) if args.full else _support(values)
    shown = [_number(v) for v in values[lo:hi]]
    if args.json:
        print(
            json.dumps(
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


def _summary(values: Any) -> dict[str, Any]:
    import numpy as np

    peak = tuple(int(i) for i in np.unravel_index(int(np.argmax(values)), values.shape))
    nonzero = np.argwhere(values != 0)
    box = [[int(a), int(b)] for a, b in zip(nonzero.min(axis=0), nonzero.max(axis=0))] if nonzero.size else []
    return {
        "shape": list(values.shape),
        "dtype": str(values.dtype),
        "max": _number(values.max()),
        "peak": list(peak),
        "nonzero": int((values != 0).sum()),
        "support_box": box,
        "sum": _number(values.sum()),
    }


def _save_map_picture(args: argparse.Namespace, values: Any, shape: tuple[int, ...]) -> None:
    from .arithmetic import receptive_field
    from .plot import save_map_figure

    try:
        records: Any = receptive_field(_network(args), shape, args.endpoint)
    except RFGraphError:  # e.g. branches with different strides: no single RF box
        records = None
    save_map_figure(
        values,
        args.out,
        records=records,
        target=parse_target(args.target),
        scale=args.scale,
        metric=args.metric,
        title=f"{_label(args)}: {args.metric} contribution map",
    )


def cmd_map(args: argparse.Namespace) -> int:
    import numpy as np

    shape = _input_shape(args)
    with _progress(args, f"map {args.network}", 2) as bar:
        values = _map(args, shape)
        bar.update("output")
        if _is_image(args.out):
            _save_map_picture(args, values, shape)
        bar.update()
    if args.out and not _is_image(args.out):
        out = str(args.out)
        if out.endswith(".npy"):
            np.save(out, values)
        elif out.endswith(".csv"):
            if values.ndim > 2:
                raise RFGraphError(f"--out {out!r}: CSV holds 1-D or 2-D maps; use .npy for {values.ndim}-D")
            np.savetxt(out, np.atleast_2d(values), delimiter=",", fmt="%d" if values.dtype.kind == "i" else "%.17g")
        else:
            raise RFGraphError(f"--out {out!r}: unknown extension; use .npy or .csv, or .png/.svg/.pdf")
    summary = _summary(values)
    if args.json:
        print(json.dumps({"metric": args.metric, **summary, "out": args.out}))
    else:
        print(
            f"{args.metric} map of {args.network!r} at {'x'.join(map(str, values.shape))}: "
            f"max {summary['max']} at {tuple(summary['peak'])}, {summary['nonzero']} pixels reach the target, "
            f"support box {summary['support_box']}" + (f"; written to {args.out}" if args.out else "")
        )
    return 0


_SHADES = " .:-=+*#%@"


def ascii_map(values: Any) -> str:
    """A 2-D map as text, darker characters for larger values."""
    top = float(values.max()) or 1.0
    return "\n".join(
        "".join(_SHADES[min(int(v / top * (len(_SHADES) - 1) + 0.5), len(_SHADES) - 1)] * 2 for v in row)
        for row in values
    )


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    from . import zoo
    from .arithmetic import receptive_field
    from .engine import contribution_map
    from .ops import Conv, Sequential

    seed = Sequential(*[Conv(3) for _ in range(5)])
    edges = contribution_map(seed, (15,))
    paths = contribution_map(seed, (15,), "paths")
    lo, hi = _support(edges)
    grid = contribution_map(seed, (15, 15))
    net = zoo.build("vgg16")
    start = time.perf_counter()
    big = contribution_map(net, (224, 224), endpoint="pool5")
    took = time.perf_counter() - start
    rec = receptive_field(net, (224, 224), "pool5")[-1]
    summary = _summary(big)
    if args.json:
        print(
            json.dumps(
                {
                    "seed_edges": [int(v) for v in edges[lo:hi]],
                    "seed_paths": [int(v) for v in paths[lo:hi]],
                    "seed_2d": {
                        "centre": int(grid[7, 7]),
                        "corner": int(grid[2, 2]),
                        "paths_centre": int(contribution_map(seed, (15, 15), "paths")[7, 7]),
                    },
                    "vgg16_pool5": {
                        "size": list(rec.size),
                        "stride": [int(s) for s in rec.stride],
                        "ms": took * 1000,
                        **summary,
                    },
                },
                indent=2,
            )
        )
        return 0
    print("Five 3-tap convolutions over 15 inputs, target = centre of the 5 outputs (seed 003):")
    print("  distinct edges per input:", " ".join(str(int(v)) for v in edges[lo:hi]))
    print("  paths per input:         ", " ".join(str(int(v)) for v in paths[lo:hi]))
    print(f"\nThe same network in 2-D (15x15): centre {grid[7, 7]}, corner of the field {grid[2, 2]}")
    print(ascii_map(grid[2:13, 2:13]))
    print(f"\nVGG-16 at 224x224, centre of pool5 (receptive field {rec.size[0]}, stride {rec.stride[0]}):")
    print(
        f"  edges map computed in {took * 1000:.1f} ms; max {summary['max']} at {tuple(summary['peak'])}; "
        f"{summary['nonzero']} of {big.size} pixels contribute"
    )
    step = 16
    print(ascii_map(big[::step, ::step]))
    print("\nNext: rfgraph table vgg16 --endpoint pool5 | rfgraph map resnet50 --out map.png | rfgraph --help")
    return 0


def cmd_spec_help(args: argparse.Namespace) -> int:
    from .spec import GRAMMAR

    print("Compact network spec: comma-separated layers\n" + GRAMMAR)
    return 0


def cmd_erf(args: argparse.Namespace) -> int:
    """Effective-receptive-field statistics of the exact map (see :mod:`rfgraph.erf`)."""
    from .erf import format_stats, network_erf_stats, predict

    network, shape = _network(args), _input_shape(args)
    stats = network_erf_stats(network, shape, args.metric, endpoint=args.endpoint)
    prediction, note = None, ""
    if args.metric == "paths" and args.endpoint is None:
        try:
            prediction = predict(network, shape)
        except RFGraphError as err:
            note = f"no closed form: {err}"
        if prediction is not None and abs(stats.mass - prediction.paths) > 1e-9 * prediction.paths:
            prediction, note = None, "closed form not shown: the border clips some paths; use a larger --input"
    if args.json:
        data = stats.as_dict()
        if prediction is not None:
            data["prediction"] = {
                "variance": [float(v) for v in prediction.variance],
                "variance_exact": [str(v) for v in prediction.variance],
                "span": list(prediction.span),
                "stride": list(prediction.stride),
                "paths": prediction.paths,
            }
        if note:
            data["note"] = note
        print(json.dumps(data, indent=2))
    else:
        print(format_stats(stats, prediction))
        if note:
            print(note)
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    """List the built-in networks: name, family, default input, description."""
    from . import zoo

    entries = [e for e in zoo.entries() if args.family is None or e.family == args.family]
    if args.family is not None and not entries:
        zoo.names(args.family)  # raises the error listing the families
    if args.json:
        print(
            json.dumps(
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


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "table": (cmd_table, "print the receptive-field table (size, jump, start, padding, aligned)"),
    "spec-help": (cmd_spec_help, "print the compact network grammar"),
    "profile": (cmd_profile, "print the 1-D contribution profile (edges or paths) as numbers"),
    "map": (cmd_map, "compute a contribution map; --out map.npy/.csv writes it, .png/.svg/.pdf draws it"),
    "demo": (cmd_demo, "show the seed profile and a 2-D map of a built-in network"),
    "erf": (cmd_erf, "print effective-receptive-field statistics of the exact map"),
    "graph": (cmd_graph, "draw the unrolled graph of a small 1-D network: --out graph.png"),
    "zoo": (cmd_zoo, "list the built-in networks (name, family, default input, description)"),
}


def _add_network_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="zoo name, .onnx/.json/.yaml file, or a spec such as 'conv3*5'")
    p.add_argument("--input", "-i", help="input size, e.g. 224x224 or 15")
    p.add_argument("--endpoint", "-e", help="tensor to analyse instead of the network output")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfgraph",
        description="Exact receptive fields and per-pixel contribution maps of CNNs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table = sub.add_parser(
        "table", help=COMMANDS["table"][1], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_network_args(table)
    sub.add_parser("spec-help", help=COMMANDS["spec-help"][1])
    for name in ("profile", "map"):
        p = sub.add_parser(
            name, help=COMMANDS[name][1], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        _add_network_args(p)
        p.add_argument(
            "--metric",
            "-m",
            default="edges",
            choices=["edges", "paths"],
            help="distinct edges on all paths (default) or number of paths",
        )
        p.add_argument("--target", "-t", help="target position in the output, e.g. 3x4 (default: centre)")
        p.add_argument("--scale", choices=["linear", "log"], default="linear", help="scale of pictures")
        p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
        if name == "profile":
            p.add_argument("--axis", type=int, default=0, help="axis of the line through the peak (N-D maps)")
            p.add_argument("--full", action="store_true", help="print zeros outside the receptive field too")
            p.add_argument("--plot", action="store_true", help="draw the profile as bars (default file profile.png)")
            p.add_argument("--out", "-o", help="picture of the profile: .png, .svg or .pdf (implies --plot)")
        else:
            p.add_argument("--out", "-o", help="write the map: .npy or .csv data, or a .png/.svg/.pdf picture")
    demo = sub.add_parser("demo", help=COMMANDS["demo"][1])
    demo.add_argument("--json", action="store_true", help="print JSON instead of text")
    erf = sub.add_parser("erf", help=COMMANDS["erf"][1])
    _add_network_args(erf)
    erf.add_argument("--metric", "-m", default="paths", help="paths (default) or edges")
    graph = sub.add_parser(
        "graph", help=COMMANDS["graph"][1], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_network_args(graph)
    graph.add_argument("--source", "-s", type=int, help="input position whose paths to the target are highlighted")
    graph.add_argument("--target", "-t", help="target position in the output (default: centre)")
    graph.add_argument("--out", "-o", default="graph.png", help="picture to write: .png, .svg or .pdf")
    graph.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    zoo_parser = sub.add_parser("zoo", help=COMMANDS["zoo"][1])
    zoo_parser.add_argument("--family", help="only one family: seed, torchvision, tf-slim, segmentation")
    zoo_parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = COMMANDS[args.command][0]
    try:
        return handler(args)
    except RFGraphError as err:
        print(f"rfgraph {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unreadable input or unwritable --out
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"rfgraph {args.command}: error: cannot access{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
