"""``rfgraph doctor``: versions, and which optional parts of rfgraph work here (and how to get the rest)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from typing import Any

from ._commands import about
from ._common import dump_json

# (distribution to import, what it brings, the extra that installs it)
_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("numpy", "arrays (required)", ""),
    ("numba", "the compiled engine (required)", ""),
    ("networkx", "to_networkx and the reference algorithm (required)", ""),
    ("matplotlib", "pictures: --out map.png, rf.plot", "plot"),
    ("torch", "from_torch, erf-model, torchvision:/timm: names, TorchScript/.pt2 files", "torch"),
    ("torchvision", "torchvision:NAME models", "torch"),
    ("timm", "timm:NAME models", "timm"),
    ("onnx", "from_onnx, .onnx files, TorchScript files (read through ONNX)", "onnx"),
    ("onnxscript", "torch.onnx.export(dynamo=True) in the notebooks and tests", "onnx"),
    ("PIL", "image folders for erf-model --images", "images"),
    ("yaml", ".yaml network files", "yaml"),
    ("tqdm", "progress bars", "progress"),
    ("nbclient", "running the notebooks", "notebooks"),
    ("ipywidgets", "the notebooks' sliders", "notebooks"),
)


def _version(module: Any) -> str:
    return str(getattr(module, "__version__", getattr(module, "VERSION", "installed")))


def _probe(name: str) -> tuple[str | None, str | None]:
    """``(version, None)`` when ``name`` imports, else ``(None, reason)``."""
    try:
        module = importlib.import_module(name)
    except Exception as err:  # noqa: BLE001 - a broken install raises anything, not only ImportError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, first[:160]
    return _version(module), None


def _torch_build() -> str | None:
    """``"CPU-only"`` or ``"CUDA 12.x (GPU available|no GPU)"`` for an installed torch."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    cuda = getattr(torch.version, "cuda", None)
    if not cuda:
        return "CPU-only build"
    gpu = "a GPU is available" if torch.cuda.is_available() else "no GPU here: the CPU-only build is ~5 GB smaller"
    return f"CUDA {cuda} build ({gpu})"


def report() -> dict[str, Any]:
    """Everything ``rfgraph doctor`` prints, as a dict."""
    from . import _version as rfgraph_version

    packages = []
    for name, brings, extra in _PACKAGES:
        version, reason = _probe(name)
        packages.append({"name": name, "version": version, "brings": brings, "extra": extra, "error": reason})
    return {
        "rfgraph": rfgraph_version(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "torch_build": _torch_build(),
        "packages": packages,
    }


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print versions and which optional parts work (exit 0; a missing extra is not an error)."""
    data = report()
    if args.json:
        print(dump_json(data, indent=2))
        return 0
    print(f"rfgraph {data['rfgraph']} on Python {data['python']} ({data['platform']})")
    width = max(len(p["name"]) for p in data["packages"])
    for p in data["packages"]:
        if p["version"] is not None:
            state = f"{p['version']:<12} ok: {p['brings']}"
        elif p["extra"]:
            state = f"{'missing':<12} {p['brings']}: pip install 'rfgraph[{p['extra']}]'"
        else:
            state = f"{'MISSING':<12} {p['brings']}: reinstall rfgraph"
        if p["error"] and "No module named" not in p["error"]:
            state += f" ({p['error']})"
        print(f"  {p['name']:<{width}}  {state}")
    if data["torch_build"]:
        print(f"torch: {data['torch_build']}")
    else:
        print(
            "torch: not installed; CPU-only in one line: pip install torch==2.14.1 torchvision==0.29.1 "
            "--index-url https://download.pytorch.org/whl/cpu"
        )
    return 0


def register(sub: Any) -> None:
    """Add ``doctor`` to the sub-command parsers."""
    p = sub.add_parser(
        "doctor",
        help=about("doctor"),
        epilog="example:\n  rfgraph doctor\n  rfgraph doctor --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_doctor)
