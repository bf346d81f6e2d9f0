"""Time rfgraph on imported torchvision models against torch autograd, and print ratios (issue 10).

Models (torchvision, no weights, built on the meta device and imported with ``rf.from_torch``
at 224x224): VGG-16 and ResNet-50 (the engine's historical rows) and MobileNetV3-L,
EfficientNet-B0 and ConvNeXt-T (squeeze-and-excitation gates as broadcast merges, channels-last
blocks).  The target is the centre of the last spatial tensor that is a module's output (the
classifier head would reach everything).  Columns:

* ``import``: ``rf.from_torch`` (fx tracing and shape propagation on fake tensors);
* ``first``: the first ``contribution_map(metric="paths")`` in this process (plan, numba load);
* ``warm``: the best of later calls;
* ``torch``: the same path counts as the input gradient of the one-channel all-ones linear
  network (``rfgraph.importers.to_torch.paths_by_autograd``, float64), best of three; the
  maps are checked equal;
* ``vs torch``: torch time / warm time.

Single thread (``torch.set_num_threads(1)``, ``NUMBA_NUM_THREADS=1``).  Run:
``python bench/bench_models.py`` (about a minute); ``--models vgg16 resnet50`` for some.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rfgraph as rf  # noqa: E402

MODELS = {
    "vgg16": "VGG-16",
    "resnet50": "ResNet-50",
    "mobilenet_v3_large": "MobileNetV3-L",
    "efficientnet_b0": "EfficientNet-B0",
    "convnext_tiny": "ConvNeXt-T",
}


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    try:
        from bench.bench_engine import machine as describe

        return str(describe())
    except Exception:  # noqa: BLE001 - the engine bench may be mid-rewrite; this is decoration
        import platform

        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    import torch
    import torchvision.models as tvm

    from rfgraph.importers._support import _spatial_endpoint
    from rfgraph.importers.to_torch import paths_by_autograd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    shape = (args.size, args.size)
    print(machine())
    print(f"input {shape}, metric paths, target: centre of the last spatial module output")
    header = (
        f"{'model':16} {'tensor':22} {'nodes':>10} {'import':>8} {'first':>8} {'warm':>8} {'torch':>8} {'vs torch':>9}"
    )
    print(header)
    print("-" * len(header))
    for key in args.models:
        with torch.device("meta"):
            model = getattr(tvm, key)(weights=None)
        start = time.perf_counter()
        net = rf.from_torch(model, shape)
        t_import = time.perf_counter() - start
        endpoint = _spatial_endpoint(torch, model, net, shape)
        plan = rf.build_plan(net, shape, endpoint)
        start = time.perf_counter()
        ours = rf.contribution_map(net, shape, metric="paths", endpoint=endpoint)
        first = time.perf_counter() - start
        warm, _ = best_of(functools.partial(rf.contribution_map, net, shape, metric="paths", endpoint=endpoint), 5)
        try:
            t_torch, grad = best_of(functools.partial(paths_by_autograd, net, shape, endpoint=endpoint), 3)
            assert np.allclose(grad, ours, rtol=1e-9, atol=0), f"{key}: engine and torch autograd disagree"
            torch_col, ratio = f"{t_torch:8.3f}", f"{t_torch / warm:8.1f}x"
        except rf.RFGraphError as err:  # an op without an all-ones torch equivalent
            torch_col, ratio = "       —", "       —"
            print(f"  ({key}: {err})")
        nodes = sum(t.size for t in plan.tensors)
        print(
            f"{MODELS[key]:16} {str(endpoint)[:22]:22} {nodes:>10,} {t_import:8.2f} {first:8.3f} {warm:8.3f} "
            f"{torch_col} {ratio:>9}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
