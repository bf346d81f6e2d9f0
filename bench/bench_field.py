"""Cost follows the field, not the image (issue 17): one run, every ratio.

Prints, with the machine:

* size scaling: a 16-layer 3x3 chain (paths, edges) from 64^2 to 2048^2 and
  VGG-16 pool5 paths from 224^2 to 2048^2, new engine vs the previous algorithm
  (``bench/legacy.py``: no cropping, dense sweep, kept for this comparison);
* torch autograd on the one-channel linearised network (ones kernels, sum
  pooling, sum merges; built once, float64 and float32, single thread for both:
  ``torch.set_num_threads(1)``, ``numba.set_num_threads(1)``; interleaved
  repetitions, min and median) for VGG-16 pool5 and ResNet-50 layer4 at 224^2;
* 3-D: 10 conv3d layers at 32^3 and 128^3;
* 1-D edges of a 50-layer chain over 10^5 samples; exact paths of a 50-layer
  chain at 224^2 against float64;
* many targets: ``rf.coverage`` of every VGG-16 pool2 output vs one ``reach``,
  paths with ``target="all"`` vs one map (and, unless ``--quick``, both checked
  against the loops over all 3,136 outputs);
* ``rfgraph --help`` and ``import rfgraph`` against a bare ``python -c pass``.

Other times are the best of several warm calls (numba compiled, plans cached).
Run: ``python bench/bench_field.py`` (``--quick`` skips the loops and the slowest sizes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba loads

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import rfgraph as rf  # noqa: E402
from bench._harness import autograd_paths, fmt, interleaved, machine, single_thread  # noqa: E402
from bench.legacy import legacy_map  # noqa: E402
from rfgraph.plan import build_plan  # noqa: E402


def best(fn: Callable[[], Any], repeat: int = 11, budget: float = 2.0) -> float:
    """Best wall time of ``repeat`` warm calls (fewer when one call is slow)."""
    fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat and (spent < budget or not times):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return min(times)


def legacy(net: rf.Op, shape: tuple[int, ...], metric: str, endpoint: str | None = None) -> Callable[[], Any]:
    plan = build_plan(net, shape, endpoint)
    return lambda: legacy_map(plan, metric)


def new(net: rf.Op, shape: tuple[int, ...], metric: str, endpoint: str | None = None, **kw: Any) -> Callable[[], Any]:
    return lambda: rf.contribution_map(net, shape, metric, endpoint=endpoint, **kw)


def torch_fn(net: rf.Op, shape: tuple[int, ...], endpoint: str | None, dtype: str) -> Callable[[], Any] | None:
    """Torch autograd of the one-channel all-ones network, module built once (None without torch)."""
    try:
        return autograd_paths(net, shape, endpoint, dtype)
    except ImportError:
        return None


def row(label: str, *cells: str) -> None:
    print(f"{label:44} " + " ".join(f"{c:>11}" for c in cells))


def scaling(quick: bool) -> None:
    print("\n## size scaling (warm): new engine vs previous algorithm")
    row("case", "new", "previous", "speed-up")
    chain = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(16)])
    for metric in ("paths", "edges"):
        base = None
        for n in (64, 224, 1024, 2048):
            ours = best(new(chain, (n, n), metric))
            base = base or ours
            old = None if (quick and n > 1024) else best(legacy(chain, (n, n), metric), repeat=2, budget=1)
            row(f"16x conv3 {metric} {n}^2 (x{ours / base:.1f} of 64^2)", fmt(ours), fmt(old), _ratio(old, ours))
    vgg = rf.zoo.build("vgg16")
    base = None
    for n in (224, 512, 1024, 2048):
        ours = best(new(vgg, (n, n), "paths", "pool5"))
        base = base or ours
        old = None if (quick and n > 1024) else best(legacy(vgg, (n, n), "paths", "pool5"), repeat=2, budget=1)
        row(f"VGG-16 pool5 paths {n}^2 (x{ours / base:.1f} of 224^2)", fmt(ours), fmt(old), _ratio(old, ours))
    cube = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(10)])
    for n in (32, 128):
        for metric in ("paths", "edges"):
            ours = best(new(cube, (n, n, n), metric))
            old = best(legacy(cube, (n, n, n), metric), repeat=1, budget=1) if n <= 128 else None
            row(f"10x conv3d {metric} {n}^3", fmt(ours), fmt(old), _ratio(old, ours))


def _ratio(slow: float | None, fast: float) -> str:
    return "—" if slow is None else f"{slow / fast:,.1f}x"


def versus_torch() -> None:
    print("\n## paths vs torch autograd, one-channel linearised network, 1 thread")
    print("min (median) of interleaved repetitions; ratios of minima")
    row("case", "rfgraph", "median", "torch f64", "median", "torch f32", "vs f64", "vs f32", "previous")
    cases = (("vgg16", "pool5", (224, 224)), ("resnet50", "layer4", (224, 224)), ("unet_same", None, (224, 224)))
    for name, endpoint, shape in cases + (("unet_same", None, (64, 64, 64)),):
        # A zoo network knows its rank: the 3-D U-Net is built for its input (input_size).
        net = rf.zoo.build(name, input_size=shape) if len(shape) == 3 else rf.zoo.build(name)
        contenders: dict[str, Callable[[], Any]] = {"ours": new(net, shape, "paths", endpoint)}
        for dtype in ("float64", "float32"):
            fn = torch_fn(net, shape, endpoint, dtype)
            if fn is not None:
                contenders[dtype] = fn
        stats = interleaved(contenders, repeat=9 if len(shape) == 2 else 3)
        ours = stats["ours"]
        t64, t32 = stats.get("float64"), stats.get("float32")
        if t64 is not None:  # equal below 2**53; beyond it both round, in different orders
            assert np.allclose(t64.result, ours.result, rtol=1e-12, atol=0), f"{name}: rfgraph and torch disagree"
        old = best(legacy(net, shape, "paths", endpoint), repeat=3) if len(shape) == 2 else None
        row(
            f"{name} {endpoint or 'output'} paths {'x'.join(map(str, shape))}",
            fmt(ours.min),
            fmt(ours.median),
            fmt(t64.min if t64 else None),
            fmt(t64.median if t64 else None),
            fmt(t32.min if t32 else None),
            _ratio(t64.min if t64 else None, ours.min),
            _ratio(t32.min if t32 else None, ours.min),
            fmt(old),
        )


def long_and_exact() -> None:
    print("\n## 1-D edges and exact paths")
    deep = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(50)])
    start = time.perf_counter()
    rf.contribution_map(deep, (100_000,), "edges")
    first = time.perf_counter() - start
    row("50x conv3 edges, 1e5 samples (first, warm)", fmt(first), fmt(best(new(deep, (100_000,), "edges"))))
    f = best(new(deep, (224, 224), "paths", exact=False))
    e = best(new(deep, (224, 224), "paths", exact=True))
    row("50x conv3 paths 224^2: float64, exact", fmt(f), fmt(e), f"exact/float {e / f:.1f}x")


def many_targets(quick: bool) -> None:
    print("\n## many targets: VGG-16 pool2 (56x56 outputs), 224^2")
    vgg = rf.zoo.build("vgg16")
    shape, ep = (224, 224), "pool2"
    one_reach = best(lambda: rf.reach(vgg, shape, endpoint=ep))
    cov = best(lambda: rf.coverage(vgg, shape, ep))
    row("coverage / one reach", fmt(cov), fmt(one_reach), f"{cov / one_reach:.1f} reaches")
    one_map = best(new(vgg, shape, "paths", ep))
    all_map = best(new(vgg, shape, "paths", ep, target="all"))
    row("paths target='all' / one map", fmt(all_map), fmt(one_map), f"{all_map / one_map:.1f} maps")
    if quick:
        return
    plan = build_plan(vgg, shape, ep)
    targets = list(np.ndindex(*plan.output.shape))
    start = time.perf_counter()
    loop_cov = sum(rf.reach(vgg, shape, t, endpoint=ep).astype(np.int64) for t in targets)
    loop_reach = time.perf_counter() - start
    start = time.perf_counter()
    loop_paths = sum(rf.contribution_map(vgg, shape, "paths", t, endpoint=ep) for t in targets)
    loop_maps = time.perf_counter() - start
    assert np.array_equal(loop_cov, rf.coverage(vgg, shape, ep)), "coverage differs from the loop"
    assert np.array_equal(loop_paths, rf.contribution_map(vgg, shape, "paths", "all", endpoint=ep))
    row(f"loops over {len(targets)} outputs (reach, paths)", fmt(loop_reach), fmt(loop_maps), "equal")


def fixed_costs() -> None:
    print("\n## fixed costs (fresh processes, best of 9)")

    def proc(args: list[str]) -> float:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        return min(times)

    bare = proc([sys.executable, "-c", "pass"])
    imp = proc([sys.executable, "-c", "import rfgraph"])
    cli = "rfgraph.cli.__main__" if os.path.isdir(os.path.join(os.path.dirname(rf.__file__), "cli")) else "rfgraph.cli"
    helptime = proc([sys.executable, "-m", cli, "--help"])
    row("python -c pass / import rfgraph / --help", fmt(bare), fmt(imp), fmt(helptime), f"help {helptime / bare:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the loops over every output and 2048^2 baselines")
    args = parser.parse_args()
    single_thread()
    print(f"machine: {machine()}")
    scaling(args.quick)
    versus_torch()
    long_and_exact()
    many_targets(args.quick)
    fixed_costs()


if __name__ == "__main__":
    main()
