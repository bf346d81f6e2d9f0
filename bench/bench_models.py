"""Time rfgraph on imported torchvision models against torch autograd, and print ratios (issue 10).

Models (torchvision, no weights, built on the meta device and imported with ``rf.from_torch``
at 224x224): VGG-16 and ResNet-50 (the engine's historical rows) and MobileNetV3-L,
EfficientNet-B0 and ConvNeXt-T (squeeze-and-excitation gates as broadcast merges, channels-last
blocks).  The target is the centre of the last spatial tensor that is a module's output (the
classifier head would reach everything).  Columns:

* ``import``: ``rf.from_torch`` (fx tracing and shape propagation on fake tensors);
* ``first``: the first ``contribution_map(metric="paths")`` in this process (plan, numba load);
* ``warm``: min (median) of later calls, interleaved with torch's;
* ``torch``: the same path counts as the input gradient of the one-channel all-ones linear
  network (float64, module built once: ``bench._harness.autograd_paths``), min (median);
  the maps are checked equal;
* ``vs torch``: torch time / warm time (minima; medians in brackets).

Single thread for both (``torch.set_num_threads(1)``, ``numba.set_num_threads(1)``).  Run:
``python bench/bench_models.py`` (about a minute); ``--models vgg16 resnet50`` for some.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rfgraph as rf  # noqa: E402
from bench._harness import autograd_paths, fmt, interleaved, machine, ratio, single_thread  # noqa: E402

MODELS = {
    "vgg16": "VGG-16",
    "resnet50": "ResNet-50",
    "mobilenet_v3_large": "MobileNetV3-L",
    "efficientnet_b0": "EfficientNet-B0",
    "convnext_tiny": "ConvNeXt-T",
    "densenet121": "DenseNet-121",
}


def main(argv: list[str] | None = None) -> int:
    import torch
    import torchvision.models as tvm

    from rfgraph.importers._support import _spatial_endpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    single_thread()
    warnings.simplefilter("ignore")
    shape = (args.size, args.size)
    print(machine())
    print(f"input {shape}, metric paths, target: centre of the last spatial module output")
    print("warm and torch: min (median) of interleaved repetitions; vs torch: ratio of minima (of medians)")
    header = (
        f"{'model':16} {'tensor':22} {'nodes':>10} {'import':>8} {'first':>8} {'warm':>18} "
        f"{'torch':>18} {'vs torch':>14}"
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
        contenders = {"ours": lambda n=net, e=endpoint: rf.contribution_map(n, shape, metric="paths", endpoint=e)}
        note = ""
        try:
            contenders["torch"] = autograd_paths(net, shape, endpoint)
        except rf.RFGraphError as err:  # an op without an all-ones torch equivalent
            note = f"  ({key}: {err})"
        stats = interleaved(contenders, repeat=args.repeat)
        ours, th = stats["ours"], stats.get("torch")
        if th is not None:
            assert np.allclose(th.result, ours.result, rtol=1e-9, atol=0), f"{key}: engine and torch autograd disagree"
        warm = f"{fmt(ours.min)} ({fmt(ours.median)})"
        torch_col = f"{fmt(th.min)} ({fmt(th.median)})" if th else "—"
        vs = f"{ratio(th.min, ours.min)} ({ratio(th.median, ours.median)})" if th else "—"
        nodes = sum(t.size for t in plan.tensors)
        print(
            f"{MODELS[key]:16} {str(endpoint)[:22]:22} {nodes:>10,} {fmt(t_import):>8} {fmt(ours.first):>8} "
            f"{warm:>18} {torch_col:>18} {vs:>14}{note}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
