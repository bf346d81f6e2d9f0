"""Every output at once (issue 28): a list of all targets against a loop of torch backward passes.

Models (torchvision, meta device, imported with ``rf.from_torch`` at 224x224): DenseNet-121,
MobileNetV3-L, EfficientNet-B0, ResNet-50, ConvNeXt-T.  The targets are every position of the
last spatial module output (7x7 = 49).  Columns:

* ``list``: ``rf.contribution_map(net, shape, "paths", targets)`` (batched sweeps over one crop);
* ``loop``: rfgraph one target at a time (what a list cost before);
* ``torch``: the one-channel all-ones float64 network (built once), one forward pass, then one
  ``backward(retain_graph=True)`` per target;
* ``vs torch``: torch / list (minima; medians in brackets).  The maps are checked equal.

One thread for both.  Run: ``python bench/bench_many.py`` (``--models densenet121`` for some).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba loads
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import rfgraph as rf  # noqa: E402
from bench._harness import fmt, interleaved, machine, ratio, single_thread  # noqa: E402

MODELS = {
    "densenet121": "DenseNet-121",
    "mobilenet_v3_large": "MobileNetV3-L",
    "efficientnet_b0": "EfficientNet-B0",
    "resnet50": "ResNet-50",
    "convnext_tiny": "ConvNeXt-T",
}


def torch_loop(net: rf.Op, shape: tuple[int, ...], endpoint: str | None, targets: list[tuple[int, ...]]) -> Any:
    import torch

    from rfgraph.importers.to_torch import to_torch

    model = to_torch(net, shape, channels=1, weights="ones", endpoint=endpoint).to(torch.float64)

    def run() -> np.ndarray:
        x = torch.zeros((1, 1) + shape, dtype=torch.float64, requires_grad=True)
        out = model(x)
        maps = np.empty((len(targets),) + shape)
        for k, t in enumerate(targets):
            x.grad = None
            out[(0, 0) + t].backward(retain_graph=True)
            assert x.grad is not None
            maps[k] = x.grad[0, 0].numpy()
        return maps

    return run


def main(argv: list[str] | None = None) -> int:
    import torch
    import torchvision.models as tvm

    from rfgraph.importers._support import _spatial_endpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    single_thread()
    warnings.simplefilter("ignore")
    shape = (224, 224)
    print(machine())
    print("paths of every output of the last spatial module output; min (median) of interleaved repetitions")
    header = f"{'model':16} {'targets':>7} {'list':>20} {'loop':>20} {'torch':>20} {'vs torch':>14}"
    print(header)
    print("-" * len(header))
    for key in args.models:
        with torch.device("meta"):
            model = getattr(tvm, key)(weights=None)
        net = rf.from_torch(model, shape)
        endpoint = _spatial_endpoint(torch, model, net, shape)
        plan = rf.build_plan(net, shape, endpoint)
        targets = [tuple(int(i) for i in t) for t in np.ndindex(*plan.output.shape)]
        stats = interleaved(
            {
                "list": lambda n=net, e=endpoint, t=targets: rf.contribution_map(n, shape, "paths", t, endpoint=e),
                "loop": lambda n=net, e=endpoint, t=targets: np.stack(
                    [rf.contribution_map(n, shape, "paths", u, endpoint=e) for u in t]
                ),
                "torch": torch_loop(net, shape, endpoint, targets),
            },
            repeat=args.repeat,
            budget=60,
        )
        ours, loop, th = stats["list"], stats["loop"], stats["torch"]
        if ours.result.max() < 2.0**53:
            assert np.array_equal(ours.result, loop.result), f"{key}: the list differs from the loop"
        else:  # counts beyond 2**53 round; the sweeps add in different orders
            assert np.allclose(ours.result, loop.result, rtol=1e-12, atol=0), f"{key}: the list differs"
        assert np.allclose(ours.result, th.result, rtol=1e-9, atol=0), f"{key}: rfgraph and torch disagree"

        def cell(s: Any) -> str:
            return f"{fmt(s.min)} ({fmt(s.median)})"

        print(
            f"{MODELS[key]:16} {len(targets):>7} {cell(ours):>20} {cell(loop):>20} {cell(th):>20} "
            f"{ratio(th.min, ours.min) + ' (' + ratio(th.median, ours.median) + ')':>14}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
