"""``rfgraph erf-model``: the gradient ERF of a torch model with its own weights, beside its exact maps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import RFGraphError
from ..output import check_destination, suffix, write_file
from ._commands import about
from ._common import dump_json, parse_size, parse_target

_OUT_SUFFIXES = (".png", ".svg", ".pdf", ".json", ".npy", ".npz")


def _check_out(path: str | None, force: bool) -> Path | None:
    """Refuse a symlink always and an existing file unless --force, before any work is done."""
    if path is None:
        return None
    if suffix(path) not in _OUT_SUFFIXES:
        raise RFGraphError(f"--out {path!r}: write a figure (.png, .svg, .pdf), .json numbers or .npy/.npz maps")
    return check_destination(path, overwrite=force)


def _model_ndim(torch: Any, model: Any) -> int:
    for m in model.modules():
        for ndim, kind in ((1, torch.nn.Conv1d), (2, torch.nn.Conv2d), (3, torch.nn.Conv3d)):
            if isinstance(m, kind):
                return ndim
    return 2


def _pick_output(torch: Any, model: Any, x: Any, output: str | None) -> tuple[Any, str | None]:
    """``--output`` as given (an int if it is one), or the last spatial tensor for a classifier."""
    from ..erf import spatial_outputs
    from ..erf.trained import _device_of, _dtype_of, _forward, _has_module, _untouched

    if output is not None:
        chosen: Any = int(output) if output.lstrip("-").isdigit() and not _has_module(model, output) else output
        return chosen, None
    with _untouched(torch, model), torch.no_grad():
        y = _forward(torch, model, x[:1].to(_device_of(torch, model), _dtype_of(torch, model)), None, False)
    if y is not None and y.ndim == x.ndim:
        return None, None
    names = spatial_outputs(model, x[:1])
    if not names:
        raise RFGraphError("the model's output has no spatial axes and no submodule gives a spatial tensor")
    name, shape = names[-1]
    shown = tuple(getattr(y, "shape", ()))
    return name, (
        f"the model's output {shown} has no spatial axes; using {name!r} {shape}, the last spatial tensor "
        "(choose another with --output)"
    )


def cmd_erf_model(args: argparse.Namespace) -> int:
    """Gradient ERF of a torch model (name or file, optional checkpoint) beside its exact maps."""
    out = _check_out(args.out, args.force)
    try:
        import torch
    except ImportError:
        raise RFGraphError("erf-model needs PyTorch: pip install 'rfgraph[torch]'") from None
    from ..erf import compare_trained, load_images, load_model

    model = load_model(args.source, weights=args.weights)
    shape = parse_size(args.input)
    if len(shape) == 1:  # one size: a square/cube of the model's dimensionality
        shape = shape * _model_ndim(torch, model)
    normalize = None if args.no_normalize else "imagenet"
    x = load_images(args.images, shape, args.channels, fit=args.fit, normalize=normalize, limit=args.limit)
    output, note = _pick_output(torch, model, x, args.output)
    if note and not args.json:
        print(f"note: {note}", file=sys.stderr)
    c = compare_trained(
        model,
        x,
        output,
        target=parse_target(args.target),
        reduce=args.reduce,
        untrained=not args.no_untrained,
        batch_size=args.batch_size,
        device=args.device,
        progress=False if args.json or args.no_progress else None,
    )
    data = {"source": args.source, "weights": args.weights, "images": str(args.images), **c.as_dict()}
    if note:
        data["notes"] = [note, *data["notes"]]
    if out is not None:
        _save(out, c, data, f"{args.source}" + (f" + {Path(args.weights).name}" if args.weights else ""), args.force)
        data["out"] = str(out)
    if args.json:
        print(dump_json(data, indent=2))
    else:
        print(c.summary())
        if out is not None:
            print(f"wrote {out}")
    return 0


def _save(out: Path, c: Any, data: dict[str, Any], title: str, force: bool) -> None:
    kind = suffix(out)
    if kind == ".json":
        text = dump_json(data, indent=2)

        def write_json(p: Path) -> None:
            p.write_text(text)

        write_file(out, write_json, overwrite=force)
    elif kind in (".npy", ".npz"):
        import numpy as np

        if kind == ".npy":
            write_file(out, lambda p: np.save(p, c.maps["trained"]), overwrite=force)
        else:
            write_file(out, lambda p: np.savez(p, **c.maps), overwrite=force)
    else:
        from ..erf import plot_trained
        from ..plot._common import _bare_figure

        n = len(c.maps)
        fig = plot_trained(c, fig=_bare_figure((3.6 * n + 1.0, 4.2)), title=f"ERF of {title} at {c.output!r}")
        write_file(out, lambda p: fig.savefig(p, format=kind[1:], dpi=110), overwrite=force)


def register(sub: Any) -> None:
    """Add ``erf-model`` to the sub-command parsers."""
    p = sub.add_parser(
        "erf-model",
        help=about("erf-model"),
        description=(
            "The effective receptive field of a torch model with its own weights (mean |input gradient| of the "
            "target position, Luo et al.), of the untrained architecture, and the exact path and edge maps and "
            "theoretical field of the same module. Checkpoints load with torch.load(weights_only=True): they "
            "never run code. Needs PyTorch."
        ),
        epilog=(
            "example:\n"
            "  rfgraph erf-model torchvision:resnet18 --output layer3 --images noise:8 --input 128 --out erf.png\n"
            "  rfgraph erf-model timm:convnext_tiny --weights ckpt.pth --images val/ --limit 64 --json\n"
            "SOURCE: torchvision:NAME, timm:NAME (random weights, nothing downloaded), package.module:factory,\n"
            "or a TorchScript / torch.export (.pt2) file. --out: .png/.svg/.pdf figure, .json numbers,\n"
            ".npy trained map, .npz all maps."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="model: torchvision:resnet50, timm:convnext_tiny, pkg.module:factory, or a file")
    p.add_argument("--weights", "-w", help="state dict or checkpoint to load (weights_only=True)")
    p.add_argument("--output", "-o", help="submodule (e.g. layer4) or key/index of a dict/tuple output")
    p.add_argument("--images", default="noise:16", help="folder, file, glob, .npy, or noise:N (default noise:16)")
    p.add_argument("--input", "-i", default="224", help="input size, e.g. 224 or 224x224 (default 224)")
    p.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--limit", type=int, help="use at most this many images")
    p.add_argument("--fit", choices=("resize", "crop"), default="resize", help="how images reach --input")
    p.add_argument("--no-normalize", action="store_true", help="no ImageNet mean/std normalisation")
    p.add_argument("--reduce", default="abs", help="abs (Luo, default), square, or replknet")
    p.add_argument("--target", "-t", help="output position, e.g. 3x4 (default the centre)")
    p.add_argument("--batch-size", type=int, default=8, help="inputs per backward pass (default 8)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 or auto (default: where the model is)")
    p.add_argument("--no-untrained", action="store_true", help="skip the re-initialised copy")
    p.add_argument("--out", help="write a figure (.png/.svg/.pdf), .json, .npy or .npz")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_erf_model)
