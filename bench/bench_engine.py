"""Time rfgraph's engine against its peers in one run and print ratios.

Peers: the networkx reference (``rfgraph.engine.reference``, algorithm="sets", where it
finishes in reasonable time) and torch autograd on the all-ones linear network
(path counts).  Cases: the seed chain; a 10-layer 3x3 chain at 41x41; VGG-16 at
224x224 (centre of pool5); a ResNet-50-shaped DAG at 224x224 (centre of the last
stage).  "first" is the first call in this process (numba load or compile and
plan building); "warm" are the min and median of interleaved later calls
(torch's module built once, one thread for both).  Also measured: the
wall time of a second `rfgraph map vgg16` process (numba cache warm) and the peak
memory of a process computing ResNet-50's maps.

Run: ``python bench/bench_engine.py`` (add ``--quick`` to skip the slow networkx runs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba loads
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import rfgraph as rf  # noqa: E402
from bench._harness import autograd_paths, fmt, interleaved, machine, ratio, single_thread  # noqa: E402
from rfgraph.engine import reference  # noqa: E402

__all__ = ["machine", "fmt", "vgg16", "resnet50"]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip networkx on the 10-layer chain")
    args = parser.parse_args()
    single_thread()
    print(f"machine: {machine()}\n")
    cases = [
        ("seed chain 5x conv3, 15", rf.Sequential(*[rf.Conv(3)] * 5), (15,), None, True),
        ("10x conv3x3, 41x41", rf.Sequential(*[rf.Conv(3)] * 10), (41, 41), None, not args.quick),
        ("VGG-16, 224x224, pool5", vgg16(), (224, 224), "pool5", False),
        ("ResNet-50, 224x224, last stage", resnet50(), (224, 224), "layer4", False),
    ]
    print("warm: min and median of interleaved repetitions; torch: one-channel all-ones float64 autograd,")
    print("module built once; ratios of minima (median ratio in brackets)\n")
    header = (
        f"{'case':32} {'metric':6} {'first':>9} {'warm min':>9} {'median':>9} {'networkx':>9} "
        f"{'torch min':>9} {'median':>9} {'vs nx':>8} {'vs torch':>16}"
    )
    print(header)
    print("-" * len(header))
    for label, net, shape, endpoint, with_nx in cases:
        endpoint = endpoint_of(net, endpoint) if endpoint and len(shape) == 2 else None
        for metric in ("edges", "paths"):
            contenders = {"ours": lambda n=net, s=shape, m=metric, e=endpoint: rf.contribution_map(n, s, m, endpoint=e)}
            if metric == "paths":
                with contextlib.suppress(ImportError):
                    contenders["torch"] = autograd_paths(net, shape, endpoint)
            stats = interleaved(contenders, repeat=7)
            ours = stats["ours"]
            nx_time = None
            if with_nx:
                start = time.perf_counter()
                theirs = reference.contribution_map(net, shape, metric, endpoint=endpoint, algorithm="sets")
                nx_time = time.perf_counter() - start
                assert np.array_equal(np.array(theirs, dtype=ours.result.dtype), ours.result), (
                    "engine and networkx disagree"
                )
            th = stats.get("torch")
            if th is not None:
                assert np.array_equal(th.result, ours.result), "engine and torch autograd disagree"
            vs_torch = f"{ratio(th.min, ours.min)} ({ratio(th.median, ours.median)})" if th is not None else "—"
            print(
                f"{label:32} {metric:6} {fmt(ours.first):>9} {fmt(ours.min):>9} {fmt(ours.median):>9} "
                f"{fmt(nx_time):>9} {fmt(th.min if th else None):>9} {fmt(th.median if th else None):>9} "
                f"{ratio(nx_time, ours.min):>8} {vs_torch:>16}",
                flush=True,
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
        "--force",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    print(f"\nlater `rfgraph map` processes on VGG-16 (numba cache warm): min {fmt(min(walls))}, wall")
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
