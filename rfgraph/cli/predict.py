"""``rfgraph predict`` (blockwise inference with the exact halo, on dask) and ``rfgraph halo``
(the halo, also in bioimage.io's form)."""

from __future__ import annotations

import argparse
import math
from fractions import Fraction
from typing import Any

from ..errors import RFGraphError
from ._commands import about
from ._common import dump_json, parse_size

_TORCH_PREFIXES = ("torchvision:", "timm:")


def _tile(text: str) -> tuple[int, ...]:
    try:
        return parse_size(text)
    except RFGraphError as err:
        raise RFGraphError(str(err).replace("--input", "--tile")) from None


def _load_torch(args: argparse.Namespace) -> Any:
    """The torch model MODEL names, through the one model loader where it exists (else rf.erf.load_model)."""
    weights = getattr(args, "weights", None)
    try:
        from ..importers.load import load_torch_model  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from ..erf import load_model

        return load_model(args.model, weights)
    return load_torch_model(args.model, weights=weights)


def _is_torch_source(text: str) -> bool:
    from pathlib import Path

    kind, sep, _ = text.partition(":")
    if text.startswith(_TORCH_PREFIXES) or (sep and "." in kind and not kind.endswith((".json", ".yaml", ".onnx"))):
        return True
    return Path(text).suffix.lower() in (".pt", ".pt2", ".ts", ".jit", ".pth")


# --------------------------------------------------------------------------- predict


def cmd_predict(args: argparse.Namespace) -> int:
    import sys

    import rfgraph as rf

    from ..answers.distributed._store import check_store, read_array, write_array
    from ..answers.distributed.blockwise import _conv_ndim

    tile = _tile(args.tile)
    check_store(args.out, args.force, "OUT")  # before any work
    model = _load_torch(args)
    array = read_array(args.input)
    d = args.spatial_dims or _conv_ndim(model) or (len(tile) if len(tile) > 1 else 2)
    if len(tile) == 1 and d > 1:
        tile = tile * d
    if len(tile) != d:
        raise RFGraphError(f"--tile {args.tile!r} has {len(tile)} sizes, but the model is {d}-D")
    if len(array.shape) == d:  # a grayscale image or volume: one channel
        import dask.array as da

        array = da.from_array(array, chunks=tuple(min(n, 4 * t) for n, t in zip(array.shape, tile)))[None]
    spatial = tuple(int(n) for n in array.shape[-d:])
    if args.net is not None:  # the geometry from a description (a TorchScript model, which fx cannot trace)
        from ._common import network

        net = network(argparse.Namespace(network=args.net, input="x".join(map(str, spatial))))
    else:
        net = rf.from_torch(model, spatial, in_channels=int(array.shape[-d - 1]))
    result = rf.blockwise(model, array, tile, net, spatial_dims=d, batch_size=args.batch_size, device=args.device)
    plan = result.tiling
    quiet = args.json or args.no_progress
    if not args.json:
        for axis, (left, right) in enumerate(plan.halo):
            print(f"halo axis {axis}: left {left} px, right {right} px")
        print(f"{plan.tasks} tasks; {plan.describe().split('; ', 2)[-1]}", flush=True)
    write_array(result, args.out, overwrite=args.force, scheduler=args.scheduler, progress=False if quiet else None)
    info = {
        "out": str(args.out),
        "shape": list(plan.output_shape),
        "dtype": str(plan.dtype),
        "halo": [list(h) for h in plan.halo],
        "tasks": plan.tasks,
        "task_bytes": plan.task_bytes,
    }
    if args.json:
        print(dump_json(info))
    else:
        shape = "x".join(map(str, plan.output_shape))
        claim = "equal to the model on the whole input" + (" if --net describes the model" if args.net else "")
        print(f"wrote {args.out} ({shape}, {plan.dtype}); {claim}", file=sys.stdout)
    return 0


# --------------------------------------------------------------------------- halo


def _network_and_stride(args: argparse.Namespace, shape: tuple[int, ...]) -> tuple[Any, tuple[Fraction, ...]]:
    import rfgraph as rf

    if _is_torch_source(args.model):
        net = rf.from_torch(_load_torch(args), shape)
    else:
        from ._common import network

        net = network(argparse.Namespace(network=args.model, input=args.input))
    record = rf.receptive_field(net, shape)[-1]
    return net, tuple(Fraction(s) for s in record.stride)


def bioimageio_halo(net: Any, shape: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """Per spatial axis, bioimage.io's output ``halo`` and the output size's ``offset``.

    bioimage.io crops the same number of output pixels from both sides of a tile's output
    (``size_after_crop = size - 2 * halo``).  The outputs to crop are exactly those whose
    field meets the tile's border (the network's padding, a clipped window): outside
    :func:`rfgraph.valid_region`.  ``halo`` is the larger of the two sides' counts, per
    axis.  ``offset`` is how much smaller the output is than ``input / stride`` (a valid
    network crops itself: bioimage.io documents that as the size's offset, not as halo).

    >>> import rfgraph as rf
    >>> bioimageio_halo(rf.parse_spec("conv3p1,conv5p2"), (32,))
    ([3], [0])
    >>> bioimageio_halo(rf.parse_spec("conv3,conv3"), (32,))
    ([0], [-4])
    """
    import numpy as np

    import rfgraph as rf

    valid = np.asarray(rf.valid_region(net, shape))
    record = rf.receptive_field(net, shape)[-1]
    halo, offset = [], []
    for axis, n in enumerate(valid.shape):
        others = tuple(a for a in range(valid.ndim) if a != axis)
        line = valid.any(axis=others) if others else valid
        if not line.any():
            raise RFGraphError(
                f"--input {'x'.join(map(str, shape))}: no output along axis {axis} is free of the border; "
                "use a larger --input"
            )
        # Crop up to the last output near each side that the border reaches (the field depends on the
        # phase after strides, so valid and invalid outputs can alternate near the border).
        bad = np.flatnonzero(~line)
        left = max((int(i) + 1 for i in bad if i < n / 2), default=0)
        right = max((n - int(i) for i in bad if i >= n / 2), default=0)
        halo.append(max(left, right))
        offset.append(int(n - math.floor(Fraction(shape[axis]) / Fraction(record.stride[axis]))))
    return halo, offset


_AXES = {1: ("x",), 2: ("y", "x"), 3: ("z", "y", "x")}


def _bioimageio_text(halo_out: list[int], offset: list[int], stride: tuple[Fraction, ...], align: Any) -> str:
    names = _AXES[len(halo_out)]
    lines = [
        "# bioimage.io model description (format 0.5): the output's spatial axes with rfgraph's exact halo",
        "outputs:",
        "  - id: output",
        "    axes:",
        "      - type: batch",
        "      - type: channel",
        "        channel_names: [channel0]  # your channel names",
    ]
    for name, h, off, s in zip(names, halo_out, offset, stride):
        extra = f", offset: {off}" if off else ""
        lines += [
            "      - type: space",
            f"        id: {name}",
            f"        size: {{tensor_id: input, axis_id: {name}{extra}}}",
        ]
        if s != 1:
            lines.append(f"        scale: {float(s):g}")
        lines.append(f"        halo: {h}")
    lines += [
        f"# input tiles: sizes on a grid of {'x'.join(map(str, align))} px (the alignment of every stride)",
        "# format 0.4 (axes bc" + "".join(names) + "):",
        f"#   halo: [0, 0, {', '.join(map(str, halo_out))}]",
    ]
    return "\n".join(lines) + "\n"


def cmd_halo(args: argparse.Namespace) -> int:
    import rfgraph as rf

    from ..output import check_destination, write_file

    if args.input is None:
        raise RFGraphError(f"{args.model!r} needs --input, e.g. --input 256x256")
    shape = parse_size(args.input)
    if args.out is not None:
        check_destination(args.out, args.force)
    net, stride = _network_and_stride(args, shape)
    halo = rf.halo(net, shape)
    out, offset = bioimageio_halo(net, shape)
    from ..answers.tiling import alignment

    align = alignment(net, shape)
    if args.bioimageio:
        text = _bioimageio_text(out, offset, stride, align)
    elif args.json:
        info = {
            "halo": [list(h) for h in halo],
            "stride": [str(s) for s in stride],
            "alignment": list(align),
            "bioimageio": {"halo": out, "offset": offset},
        }
        text = dump_json(info) + "\n"
    else:
        text = "".join(f"halo axis {a}: left {lft} px, right {rgt} px\n" for a, (lft, rgt) in enumerate(halo))
        text += f"tile origins on a {'x'.join(map(str, align))} px grid\n"
        text += f"bioimage.io output halo (crop per side, output pixels): {out}\n"
    if args.out is None:
        print(text, end="")
    else:

        def write(tmp: Any) -> None:
            tmp.write_text(text)

        write_file(args.out, write, overwrite=args.force)
        print(f"wrote {args.out}")
    return 0


def register(sub: Any) -> None:
    """Add ``predict`` and ``halo`` to the sub-command parsers."""
    p = sub.add_parser(
        "predict",
        help=about("predict"),
        epilog=(
            "examples:\n"
            "  rfgraph predict mypkg.models:unet image.zarr pred.zarr --tile 256x256\n"
            "  rfgraph predict model.pt volume.tif pred.zarr --tile 64 --scheduler tcp://127.0.0.1:8786\n"
            "IN: a .zarr store, .npy (memory-mapped) or .tif (tifffile), shaped (C, *spatial), (N, C, *spatial)\n"
            "or, one channel, (*spatial). OUT: .zarr (block by block, any size), .npy (block by block) or .tif\n"
            "(gathered in memory). Needs the dask extra: pip install 'rfgraph[dask]'."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="torchvision:NAME, timm:NAME, package.module:factory, or a TorchScript/.pt2 file")
    p.add_argument("input", metavar="IN", help="input array: .zarr, .npy or .tif")
    p.add_argument("out", metavar="OUT", help="output array: .zarr, .npy or .tif")
    p.add_argument("--tile", "-t", required=True, help="block of input pixels per task, e.g. 256x256 (or 256)")
    p.add_argument("--scheduler", help="dask.distributed scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--weights", "-w", help="a checkpoint (state dict) to load into the model")
    p.add_argument(
        "--net", help="the model's geometry as a zoo name, spec or .json/.yaml/.onnx file (default: from the model)"
    )
    p.add_argument("--device", help="run the model on this torch device, e.g. cuda")
    p.add_argument("--batch-size", type=int, default=1, help="images per task along N (default 1)")
    p.add_argument("--spatial-dims", type=int, choices=[1, 2, 3], help="spatial axes (default: the model's conv)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument(
        "--force", "-f", action="store_true", help="replace OUT if it exists (a link itself, not its target)"
    )
    p.set_defaults(handler=cmd_predict)

    h = sub.add_parser(
        "halo",
        help=about("halo"),
        epilog=(
            "examples:\n"
            "  rfgraph halo unet_same --input 512x512\n"
            "  rfgraph halo mypkg.models:unet --input 256x256 --bioimageio --out halo.yaml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    h.add_argument("model", help="a network (zoo name, spec, .json/.yaml/.onnx) or a torch source (torchvision:...)")
    h.add_argument("--input", "-i", help="input size, e.g. 256x256")
    h.add_argument("--weights", "-w", help=argparse.SUPPRESS)
    h.add_argument("--bioimageio", action="store_true", help="write the output axes of a bioimage.io description")
    h.add_argument("--json", action="store_true", help="print JSON instead of text")
    h.add_argument("--out", "-o", help="write the text to this file instead of printing it")
    h.add_argument("--force", "-f", action="store_true", help="replace --out if it exists")
    h.set_defaults(handler=cmd_halo)
