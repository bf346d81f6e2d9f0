"""``rf.from_torch`` against one forward pass of the same model (issue 28), in one run.

Models (torchvision, random weights, CPU, eval mode; timm's EfficientNet-B0 too when timm is
installed) at 224x224.  Columns:

* ``first``: the first ``from_torch`` of this model in the process (fx's own first-use costs
  included, translation cache empty);
* ``import``: ``from_torch`` with the translation cache cleared (``clear_cache()``), min (median)
  of repetitions interleaved with the forward passes;
* ``forward``: ``model(x)`` under ``torch.no_grad()`` on a (1, 3, 224, 224) input, min (median);
* ``cached``: a repeated ``from_torch`` (same module structure and input shape), min;
* ``import/fwd``: ratio of the minima (of the medians).  The goal is <= 1 (Swin-T <= 2).

One thread for both (``torch.set_num_threads(1)``).  Run: ``python bench/bench_import.py``
(``--models resnet50 swin_t`` for some).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba loads
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import rfgraph as rf  # noqa: E402
from bench._harness import fmt, interleaved, machine, single_thread  # noqa: E402

MODELS = {
    "resnet50": "ResNet-50",
    "convnext_tiny": "ConvNeXt-T",
    "densenet121": "DenseNet-121",
    "efficientnet_b0": "EfficientNet-B0",
    "mobilenet_v3_large": "MobileNetV3-L",
    "swin_t": "Swin-T",
    "timm:efficientnet_b0": "timm EfficientNet-B0",
}


def build(key: str):  # type: ignore[no-untyped-def]
    if key.startswith("timm:"):
        import timm

        return timm.create_model(key[5:], pretrained=False)
    import torchvision.models as tvm

    return getattr(tvm, key)(weights=None)


def main(argv: list[str] | None = None) -> int:
    import torch

    try:
        from rfgraph.importers.torch import clear_cache
    except ImportError:  # rfgraph before issue 28: no translation cache
        clear_cache = _nothing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    single_thread()
    warnings.simplefilter("ignore")
    print(machine())
    print("input (1, 3, 224, 224); min (median) of interleaved repetitions; ratios of minima (of medians)")
    header = f"{'model':22} {'first':>9} {'import':>20} {'forward':>20} {'cached':>9} {'import/fwd':>14}"
    print(header)
    print("-" * len(header))
    rf.from_torch(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()), (16, 16))  # torch.fx loaded
    for key in args.models:
        try:
            model = build(key).eval()
        except ImportError:
            print(f"{MODELS[key]:22} (not installed)")
            continue
        x = torch.zeros(1, 3, 224, 224)
        start = time.perf_counter()
        net = rf.from_torch(model, (224, 224))
        first = time.perf_counter() - start

        def fresh(model: object = model) -> rf.Op:
            clear_cache()
            return rf.from_torch(model, (224, 224))

        def forward(model: object = model, x: object = x) -> object:
            with torch.no_grad():
                return model(x)  # type: ignore[operator]

        stats = interleaved({"import": fresh, "forward": forward}, repeat=args.repeat, budget=60)
        assert stats["import"].result == net, f"{key}: a fresh import differs from the first one"
        cached = min(_timed(lambda m=model: rf.from_torch(m, (224, 224))) for _ in range(5))
        imp, fwd = stats["import"], stats["forward"]
        print(
            f"{MODELS[key]:22} {fmt(first):>9} {fmt(imp.min) + ' (' + fmt(imp.median) + ')':>20} "
            f"{fmt(fwd.min) + ' (' + fmt(fwd.median) + ')':>20} {fmt(cached):>9} "
            f"{imp.min / fwd.min:>6.2f} ({imp.median / fwd.median:.2f})",
            flush=True,
        )
    return 0


def _nothing() -> None:
    pass


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
