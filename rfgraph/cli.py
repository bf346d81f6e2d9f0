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
from pathlib import Path
from typing import Any

from .errors import RFGraphError

__all__ = ["main", "parse_size"]

EPILOG = """examples:
  rfgraph demo
  rfgraph table "conv3,conv3s2p1,pool2,conv3d2" --input 64x64
  rfgraph table vgg16 --input 224x224 --endpoint pool5
  rfgraph profile "conv3*5" --input 15
  rfgraph profile "conv3*5" --input 15 --plot --out profile.png
  rfgraph map vgg16 --input 224x224 --metric edges --out vgg16.npy
  rfgraph map vgg16 --out vgg16.png            # PNG/SVG/PDF by extension
  rfgraph map "conv3*4" --input 64x64 --metric paths --scale log --out map.svg
  rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png
  rfgraph spec-help
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
    from .spec import load_network

    return load_network(args.network)


def _input_shape(args: argparse.Namespace, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if args.input is not None:
        return parse_size(args.input)
    from . import zoo

    if args.network in zoo.names():
        shape = zoo.default_input(args.network) if hasattr(zoo, "default_input") else None
        if shape is not None:
            return tuple(shape)
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


def cmd_spec_help(args: argparse.Namespace) -> int:
    from .spec import GRAMMAR

    print("Compact network spec: comma-separated layers\n" + GRAMMAR)
    return 0


def _progress(args: argparse.Namespace, desc: str, total: int) -> Any:
    """A stage progress bar on stderr (only on a terminal, only after 1 s, never with --json)."""
    from .progress import progress

    quiet = args.json or getattr(args, "no_progress", False)
    if len(desc) > 32:
        desc = desc[:31] + "…"
    return progress(desc, total=total, enabled=False if quiet else None)


def _is_image(out: str | None) -> bool:
    from .plot import IMAGE_SUFFIXES

    return out is not None and Path(out).suffix.lower() in IMAGE_SUFFIXES


DATA_SUFFIXES = (".npy", ".csv")


def _check_out(out: str | None) -> None:
    """Refuse an unknown --out extension before any work is done."""
    if out is not None and not _is_image(out) and Path(out).suffix.lower() not in DATA_SUFFIXES:
        raise RFGraphError(f"--out {out!r}: use .npy or .csv for data, or .png/.svg/.pdf for a picture")


def _write_data(values: Any, out: str) -> None:
    import numpy as np

    suffix = Path(out).suffix.lower()
    if suffix == ".npy":
        np.save(out, values)
    elif suffix == ".csv":
        np.savetxt(out, values.reshape(values.shape[0], -1) if values.ndim > 1 else values[None],
                   delimiter=",", fmt="%.17g")
    else:
        raise RFGraphError(f"--out {out!r}: use .npy or .csv for data, or .png/.svg/.pdf for a picture")


def _summary(values: Any) -> dict[str, Any]:
    return {"shape": list(values.shape), "max": values.max().item(), "sum": values.sum().item(),
            "nonzero": int((values != 0).sum())}


def _label(args: argparse.Namespace) -> str:
    """The network as a figure title: long specs are shortened."""
    name = str(args.network)
    return name if len(name) <= 40 else name[:39] + "…"


def cmd_map(args: argparse.Namespace) -> int:
    from .arithmetic import plan_receptive_field
    from .engine import plan_contribution_map
    from .plan import build_plan

    target = parse_target(args.target)
    _check_out(args.out)
    with _progress(args, f"map {args.network}", 3) as bar:
        plan = build_plan(_network(args), _input_shape(args), args.endpoint)
        bar.update("map")
        values = plan_contribution_map(plan, args.metric, target)
        bar.update("output")
        result: dict[str, Any] = {"network": args.network, "input": list(plan.input_shape),
                                  "metric": args.metric, **_summary(values)}
        if _is_image(args.out):
            from .plot import save_map_figure

            try:
                records: Any = plan_receptive_field(plan)
            except RFGraphError:  # e.g. branches with different strides: no single RF box
                records = None
            save_map_figure(values, args.out, records=records, target=target, scale=args.scale,
                            metric=args.metric, title=f"{_label(args)}: {args.metric} contribution map")
        elif args.out is not None:
            _write_data(values, args.out)
        bar.update()
    if args.out is not None:
        result["out"] = args.out
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.out is not None:
        print(f"wrote {args.out}")
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .engine import profile

    _check_out(args.out)
    with _progress(args, f"profile {args.network}", 2) as bar:
        values = profile(_network(args), _input_shape(args), args.metric, parse_target(args.target),
                         axis=args.axis, endpoint=args.endpoint)
        bar.update("output")
        out = args.out
        if args.plot or _is_image(out):
            from .plot import save_profile_figure

            out = out or "profile.png"
            save_profile_figure(values, out, metric=args.metric, scale=args.scale,
                                title=f"{_label(args)}: {args.metric} profile")
        elif out is not None:
            _write_data(values, out)
        bar.update()
    shown = [int(v) if float(v).is_integer() else float(v) for v in values]
    if args.json:
        print(json.dumps({"network": args.network, "metric": args.metric, "values": shown,
                          **({"out": out} if out else {})}, indent=2))
    else:
        print(" ".join(map(str, shown)))
        if out is not None:
            print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from .plot import save_graph_figure

    source = None if args.source is None else int(args.source)
    with _progress(args, f"graph {args.network}", 1) as bar:
        summary = save_graph_figure(_network(args), _input_shape(args, default=(15,)), args.out,
                                    source=source, target=parse_target(args.target), endpoint=args.endpoint)
        bar.update()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {summary['out']}: {summary['title']}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "table": (cmd_table, "print the receptive-field table (size, jump, start, padding, aligned)"),
    "spec-help": (cmd_spec_help, "print the compact network grammar"),
    "map": (cmd_map, "the contribution map of every input pixel (--out .npy/.csv data or .png/.svg/.pdf)"),
    "profile": (cmd_profile, "a 1-D line of the contribution map (--plot draws bars)"),
    "graph": (cmd_graph, "draw the unrolled graph of a small 1-D network (--out graph.png)"),
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
    table = sub.add_parser("table", help=COMMANDS["table"][1], epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_network_args(table)
    sub.add_parser("spec-help", help=COMMANDS["spec-help"][1])
    for name in ("map", "profile", "graph"):
        p = sub.add_parser(name, help=COMMANDS[name][1], description=COMMANDS[name][1], epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_network_args(p)
        p.add_argument("--target", "-t", help="target position in the output, e.g. 3x3 (default: centre)")
        p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
        if name == "graph":
            p.add_argument("--source", "-s", type=int, help="input position whose paths are highlighted")
            p.add_argument("--out", "-o", default="graph.png", help="picture to write (.png/.svg/.pdf)")
            continue
        p.add_argument("--metric", "-m", choices=("edges", "paths"), default="edges",
                       help="distinct edges on the paths (default) or number of paths")
        p.add_argument("--scale", choices=("linear", "log"), default="linear", help="colour/y scale of pictures")
        if name == "map":
            p.add_argument("--out", "-o", help="write the map: .npy/.csv data or a .png/.svg/.pdf picture")
        else:
            p.add_argument("--axis", type=int, default=0, help="axis of the profile for 2-D/3-D maps")
            p.add_argument("--plot", action="store_true", help="draw the profile as bars (default file profile.png)")
            p.add_argument("--out", "-o", help="write the profile: .npy/.csv data or a .png/.svg/.pdf picture")
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
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
