"""Time rfgraph's engine against its peers in one run and print ratios.

Peers: the networkx reference (``rfgraph.engine.reference``, algorithm="sets", where it
finishes in reasonable time) and torch autograd on the all-ones linear network
(path counts).  Cases: the seed chain; a 10-layer 3x3 chain at 41x41; VGG-16 at
224x224 (centre of pool5); a ResNet-50-shaped DAG at 224x224 (centre of the last
stage).  "first" is the first call in this process (numba load or compile and
plan building); "warm" is the best of several later calls.  Also measured: the
wall time of a second `rfgraph map vgg16` process (numba cache warm) and the peak
memory of a process computing ResNet-50's maps.

Run: ``python bench/bench_engine.py`` (add ``--quick`` to skip the slow networkx runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import rfgraph as rf
from rfgraph.engine import reference


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba

    versions = f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
    try:
        import torch

        versions += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        versions += ", torch absent"
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; {versions}"


def timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, float, Any]:
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return first, best, result


def vgg16() -> rf.Op:
    if "vgg16" in rf.zoo.names():
        return rf.zoo.build("vgg16")
    return rf.parse_spec("(conv3p1*2,pool2),(conv3p1*2,pool2),(conv3p1*3,pool2)*2,conv3p1*3,pool2:pool5")


def resnet50() -> rf.Op:
    if "resnet50" in rf.zoo.names():
        return rf.zoo.build("resnet50")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tests.nets import resnet_like

    return resnet_like((3, 4, 6, 3))


def endpoint_of(net: rf.Op, name: str) -> str | None:
    return name if name in rf.build_plan(net, (224, 224)).endpoints else None


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip networkx on the 10-layer chain")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    cases = [
        ("seed chain 5x conv3, 15", rf.Sequential(*[rf.Conv(3)] * 5), (15,), None, True),
        ("10x conv3x3, 41x41", rf.Sequential(*[rf.Conv(3)] * 10), (41, 41), None, not args.quick),
        ("VGG-16, 224x224, pool5", vgg16(), (224, 224), "pool5", False),
        ("ResNet-50, 224x224, last stage", resnet50(), (224, 224), "layer4", False),
    ]
    try:
        from rfgraph.importers.to_torch import paths_by_autograd
    except ImportError:  # pragma: no cover
        paths_by_autograd = None  # type: ignore[assignment]
    header = f"{'case':34} {'metric':6} {'first':>10} {'warm':>10} {'networkx':>10} {'torch':>10} {'vs nx':>9} {'vs torch':>9}"
    print(header)
    print("-" * len(header))
    for label, net, shape, endpoint, with_nx in cases:
        endpoint = endpoint_of(net, endpoint) if endpoint and len(shape) == 2 else None
        for metric in ("edges", "paths"):
            first, warm, ours = timed(
                lambda n=net, s=shape, m=metric, e=endpoint: rf.contribution_map(n, s, m, endpoint=e)
            )
            nx_time = torch_time = None
            if with_nx:
                start = time.perf_counter()
                theirs = reference.contribution_map(net, shape, metric, endpoint=endpoint, algorithm="sets")
                nx_time = time.perf_counter() - start
                assert np.array_equal(np.array(theirs, dtype=ours.dtype), ours), "engine and networkx disagree"
            if metric == "paths" and paths_by_autograd is not None:
                _, torch_time, grad = timed(
                    lambda n=net, s=shape, e=endpoint: paths_by_autograd(n, s, endpoint=e), repeat=3
                )
                assert np.array_equal(grad, ours), "engine and torch autograd disagree"
            ratio_nx = f"{nx_time / warm:,.0f}x" if nx_time else "—"
            ratio_torch = f"{torch_time / warm:,.1f}x" if torch_time else "—"
            print(
                f"{label:34} {metric:6} {fmt(first):>10} {fmt(warm):>10} {fmt(nx_time):>10} "
                f"{fmt(torch_time):>10} {ratio_nx:>9} {ratio_torch:>9}"
            )
    # A second CLI process: numba's on-disk cache is warm, so this is import + plan + map.
    spec = "vgg16" if "vgg16" in rf.zoo.names() else "(conv3p1*2,pool2),(conv3p1*2,pool2),(conv3p1*3,pool2)*3"
    cmd = [
        sys.executable,
        "-m",
        "rfgraph.cli",
        "map",
        spec,
        "--input",
        "224x224",
        "--out",
        "/tmp/rfgraph_bench_map.npy",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    print(f"\nsecond `rfgraph map` process on VGG-16 (numba cache warm): {time.perf_counter() - start:.2f} s wall")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    probe = (
        f"import sys; sys.path.insert(0, {root!r}); import rfgraph as rf; "
        "from bench.bench_engine import resnet50; net = resnet50(); "
        "[rf.contribution_map(net, (224, 224), m) for m in ('edges', 'paths')]; "
        # VmHWM belongs to this process image (ru_maxrss may carry the parent's peak across exec)
        "print([int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    peak_kib = int(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout)
    print(
        f"peak memory of a process computing ResNet-50 edges and paths maps: {peak_kib / 1024:.0f} MiB "
        "(includes the Python interpreter, numpy and numba)"
    )


if __name__ == "__main__":
    main()
