"""``rfgraph tile``, ``valid``, ``sizes``, ``pyramid`` and ``check``: the practitioners' answers (SPEC section 8)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import RFGraphError
from ._commands import about
from ._common import add_network_args, add_pixel_size_arg, dump_json, input_shape, network, parse_size, pixel_size

__all__ = ["register", "add_pixel_size_arg", "pixel_size"]


def _phys(pixels: Any, unit: tuple[float, str] | None) -> str:
    from ..answers.units import format_length

    return "" if unit is None else f" ({format_length(float(pixels), unit)})"


def _axes(values: Any) -> str:
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _slices(slices: tuple[slice, ...]) -> str:
    return ", ".join(f"{s.start}:{s.stop}" for s in slices)


def cmd_tile(args: argparse.Namespace) -> int:
    from ..answers.tiling import alignment, halo, tiles

    shape = input_shape(args)
    net = network(args)
    tile = parse_size(args.tile)
    if len(tile) == 1:
        tile = tile * len(shape)
    unit = pixel_size(args)
    h = halo(net, shape, endpoint=args.endpoint)
    grid = alignment(net, shape, endpoint=args.endpoint)
    plan = tiles(net, shape, tile, endpoint=args.endpoint)
    if args.json:
        print(
            dump_json(
                {
                    "input": list(shape),
                    "tile": list(tile),
                    "halo": [list(p) for p in h],
                    "alignment": list(grid),
                    "tiles": [
                        {k: [[s.start, s.stop] for s in getattr(t, k)] for k in ("input", "output", "crop")}
                        for t in plan
                    ],
                    **({"pixel_size": list(unit)} if unit else {}),
                }
            )
        )
        return 0
    for axis, (t, a) in enumerate(zip(tile, grid)):
        if t % a or t < a:
            print(
                f"note: --tile {t} on axis {axis} rounded down to {max(t // a, 1) * a} (a multiple of the {a} px grid)"
            )
    for axis, (left, right) in enumerate(h):
        print(f"halo axis {axis}: left {left} px{_phys(left, unit)}, right {right} px{_phys(right, unit)}")
    biggest = max((s.stop - s.start for t in plan for s in t.input), default=0)
    print(f"tile origins on a {_axes(grid)} px grid; {len(plan)} tiles; largest tile input {biggest} px per axis")
    rows = [["tile", "input", "output", "crop"]] + [
        [str(i), _slices(t.input), _slices(t.output), _slices(t.crop)] for i, t in enumerate(plan)
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    return 0


def _runs(mask: Any) -> str:
    import numpy as np

    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return "none"
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = [idx[0], *idx[breaks + 1]]
    ends = [*idx[breaks], idx[-1]]
    return ", ".join(f"{a}..{b}" for a, b in zip(starts, ends))


def _fresh(path: str, force: bool) -> Path:
    from ..output import check_destination

    return check_destination(path, overwrite=force)


def cmd_valid(args: argparse.Namespace) -> int:
    import numpy as np

    from ..answers.exposure import padding_share, valid_region

    shape = input_shape(args)
    net = network(args)
    valid = valid_region(net, shape, endpoint=args.endpoint)
    share = padding_share(net, shape, endpoint=args.endpoint) if (args.share or args.out) else None
    if args.out:
        from ..plot import IMAGE_SUFFIXES

        out = _fresh(args.out, args.force)
        if out.suffix.lower() not in IMAGE_SUFFIXES:
            raise RFGraphError(f"--out {args.out!r}: use one of {', '.join(IMAGE_SUFFIXES)} for a picture")
        import matplotlib

        matplotlib.use("Agg")
        from ..answers.exposure import plot_padding_share
        from ..output import write_file

        ax = plot_padding_share(net, shape, endpoint=args.endpoint)
        write_file(out, lambda p: ax.figure.savefig(p, dpi=120, bbox_inches="tight"), overwrite=args.force)
    per_axis = [np.any(valid, axis=tuple(a for a in range(valid.ndim) if a != axis)) for axis in range(valid.ndim)]
    if args.json:
        data: dict[str, Any] = {
            "input": list(shape),
            "output": list(valid.shape),
            "valid": int(valid.sum()),
            "valid_ranges": [_runs(m) for m in per_axis],
        }
        if share is not None:
            data["padding_share"] = {"max": float(share.max()), "mean": float(share.mean())}
        if args.out:
            data["out"] = args.out
        print(dump_json(data))
        return 0
    print(f"valid outputs (no padding reaches them): {int(valid.sum())} of {valid.size} ({valid.mean():.1%})")
    for axis, m in enumerate(per_axis):
        print(f"  axis {axis}: positions {_runs(m)} of 0..{valid.shape[axis] - 1}")
    if share is not None:
        print(f"share of paths in padding: max {share.max():.3f}, mean {share.mean():.3f}")
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_sizes(args: argparse.Namespace) -> int:
    from ..answers.sizes import field_sizes, min_input_shape, unproductive_layers

    net = network(args)
    smallest = min_input_shape(net, None if args.input is None else len(parse_size(args.input)))
    if args.input is None:
        print(dump_json({"min_input_shape": list(smallest)}) if args.json else f"min input shape: {_axes(smallest)}")
        return 0
    shape = input_shape(args)
    rows = field_sizes(net, shape, endpoint=args.endpoint)
    lazy = set(unproductive_layers(net, shape, endpoint=args.endpoint))
    if args.json:
        print(
            dump_json(
                {
                    "min_input_shape": list(smallest),
                    "tensors": [
                        {"name": r.name, "shape": list(r.shape), "min_size": list(r.min_size), "size": list(r.size)}
                        for r in rows
                    ],
                    "unproductive": [r.name for r in rows if r.name in lazy],
                }
            )
        )
        return 0
    print(f"min input shape: {_axes(smallest)}")
    table = [["layer", "n", "min size", "size", ""]] + [
        [r.name, _axes(r.shape), _axes(r.min_size), _axes(r.size), "unproductive" if r.name in lazy else ""]
        for r in rows
    ]
    widths = [max(len(r[c]) for r in table) for c in range(5)]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths[:4]))
    print(f"unproductive layers (smallest field > input on every axis): {len(lazy)}")
    return 0


def _parse_list(text: str | None, what: str) -> list[str]:
    if not text:
        return []
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise RFGraphError(f"{what} {text!r} is empty; write e.g. 32,64,128")
    return items


def cmd_pyramid(args: argparse.Namespace) -> int:
    from ..answers.pyramid import feature_info_mismatches, format_pyramid, levels_from_torch, pyramid
    from ..answers.units import to_pixels

    unit = pixel_size(args)
    anchors = [to_pixels(a, unit) for a in _parse_list(args.anchors, "--anchors")]
    endpoints = _parse_list(args.endpoints, "--endpoints") or None
    notes: list[str] = []
    if str(args.network).startswith("timm:"):
        try:
            import timm
        except ImportError:
            raise RFGraphError("timm: networks need timm: pip install 'rfgraph[timm]'") from None
        shape = input_shape(args)
        try:
            model = timm.create_model(args.network[5:], features_only=True, pretrained=False)
        except Exception as err:  # noqa: BLE001 - timm raises many kinds for unknown names
            raise RFGraphError(f"timm cannot build {args.network[5:]!r} with features_only=True: {err}") from None
        levels_net = levels_from_torch(model, shape)
        notes = feature_info_mismatches(model, levels_net, shape)
        levels = pyramid(levels_net, shape, anchors=anchors, mass=args.mass)
    else:
        shape = input_shape(args)
        levels = pyramid(network(args), shape, endpoints, anchors=anchors, mass=args.mass)
    if args.json:
        print(dump_json({"input": list(shape), "levels": [lv.as_dict() for lv in levels], "feature_info": notes}))
        return 0
    print(format_pyramid(levels, unit))
    for n in notes:
        print(f"warning: {n}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..answers.testing import check_receptive_field
    from ..answers.units import to_pixels
    from ..arithmetic import receptive_field

    unit = pixel_size(args)
    bounds = {
        "min_size": None if args.min_rf is None else to_pixels(args.min_rf, unit),
        "max_size": None if args.max_rf is None else to_pixels(args.max_rf, unit),
        "stride": None if args.stride is None else to_pixels(args.stride, unit),
    }
    record = receptive_field(network(args), input_shape(args), args.endpoint)[-1]
    name = args.endpoint or record.name
    import dataclasses

    record = dataclasses.replace(record, name=name)
    reason = check_receptive_field(record, **bounds)
    if reason is not None:
        for flag, key in (("--min-rf", "min_size"), ("--max-rf", "max_size"), ("--stride", "stride")):
            reason = reason.replace(f"{key}=", f"{flag} ")
        print(f"rfgraph check: FAIL: {reason}{_phys(max(record.size), unit)}", file=sys.stderr)
        return 1
    size = _axes(record.size)
    print(f"ok: receptive field of {name!r} is {size} px{_phys(max(record.size), unit)}, stride {_axes(record.stride)}")
    return 0


def register(sub: Any) -> None:
    """Add ``tile``, ``valid``, ``sizes``, ``pyramid`` and ``check`` to the sub-command parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "tile",
        help=about("tile"),
        epilog="example:\n  rfgraph tile unet_same --input 2048x2048 --tile 256",
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--tile", required=True, help="block of input pixels whose outputs one tile keeps, e.g. 256")
    add_pixel_size_arg(p)
    p.set_defaults(handler=cmd_tile)

    p = sub.add_parser(
        "valid",
        help=about("valid"),
        epilog="example:\n  rfgraph valid unet_same --input 256x256 --share",
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--share", action="store_true", help="also the share of paths in the padding (max, mean)")
    p.add_argument("--out", "-o", help="draw the padding share with the valid region outlined (.png/.svg/.pdf)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(handler=cmd_valid)

    p = sub.add_parser(
        "sizes",
        help=about("sizes"),
        epilog="example:\n  rfgraph sizes resnet18 --input 64x64",
        formatter_class=fmt,
    )
    add_network_args(p)
    p.set_defaults(handler=cmd_sizes)

    p = sub.add_parser(
        "pyramid",
        help=about("pyramid"),
        epilog=(
            "examples:\n  rfgraph pyramid resnet50 --input 512x512 --endpoints layer1,layer2,layer3,layer4 "
            "--anchors 32,64,128,256\n  rfgraph pyramid timm:resnet18 --input 256x256 --anchors 16,32,64,128,256"
        ),
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--endpoints", help="comma-separated tensor names of the levels (default: the output)")
    p.add_argument("--anchors", help="comma-separated anchor sides in pixels (or lengths with --pixel-size)")
    p.add_argument("--mass", type=float, default=0.95, help="share of the paths the ERF square holds (0.95)")
    add_pixel_size_arg(p)
    p.set_defaults(handler=cmd_pyramid)

    p = sub.add_parser(
        "check",
        help=about("check"),
        epilog="example:\n  rfgraph check vgg16 --input 224x224 --endpoint pool5 --min-rf 150 --max-rf 250",
        formatter_class=fmt,
    )
    add_network_args(p)
    p.add_argument("--min-rf", help="smallest acceptable field size in pixels (or a length with --pixel-size)")
    p.add_argument("--max-rf", help="largest acceptable field size")
    p.add_argument("--stride", help="the expected effective stride")
    add_pixel_size_arg(p)
    p.set_defaults(handler=cmd_check)
