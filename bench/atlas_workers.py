"""Speed of ``rfgraph atlas`` with 1 and 2 dask worker processes, and the projected time for all of timm.

Usage::

    python bench/atlas_workers.py            # 8 small models at 96x96, exact-map statistics on

Each configuration sweeps the same models into a fresh CSV file: in this process
(``workers=1``: no cluster), then on a ``LocalCluster`` of 1 and of 2 single-threaded
worker processes (loopback only; the cluster's start is timed separately).  The
configurations are interleaved over ``REPEATS`` rounds; min and median are printed, with
the machine.  Every process is warmed first (imports, numba kernels, model registries: the
steady state of a long sweep; a cold worker pays them on its first models).  The projection for timm is ``len(timm.list_models())`` times the mean
per-model time of the sample, divided by the number of workers (an estimate: the sample
is of small models; larger ones take longer).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODELS = [
    "timm:resnet10t",
    "timm:mobilenetv3_small_050",
    "timm:lcnet_050",
    "timm:mnasnet_small",
    "torchvision:squeezenet1_1",
    "torchvision:shufflenet_v2_x0_5",
    "torchvision:mnasnet0_5",
    "torchvision:alexnet",
]
SHAPE = (96, 96)
REPEATS = int(os.environ.get("REPEATS", "2"))


def _burn(n: int) -> float:
    start = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - start


def control(n: int = 20_000_000) -> float:
    """The machine's own 2-process speed-up on pure Python (1.0: only one core is free)."""
    import multiprocessing

    one = _burn(n)
    start = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        pool.map(_burn, [n, n])
    return 2 * one / (time.perf_counter() - start)


def _warm() -> None:
    """One sweep's first-use costs, paid once per process (the steady state of a long sweep)."""
    from rfgraph.answers.distributed.sweep import AtlasItem, atlas_row

    for item in (AtlasItem("spec", "conv3*5"), AtlasItem("torchvision", "resnet18"), AtlasItem("timm", "resnet18")):
        atlas_row(item, (64, 64))


def sweep(workers: int, cluster: bool) -> tuple[float, float, list[dict]]:
    from distributed import Client, LocalCluster

    from rfgraph.answers.distributed.sweep import atlas

    folder = tempfile.mkdtemp()
    out = os.path.join(folder, "atlas.csv")
    start = time.perf_counter()
    if not cluster:
        _warm()
        start = time.perf_counter()
        rows = atlas(MODELS, SHAPE, out=out)
        return 0.0, time.perf_counter() - start, rows
    with (
        LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as c,
        Client(c) as client,
    ):
        client.run(_warm)  # every worker: imports, numba kernels and model registries loaded once
        up = time.perf_counter() - start
        t = time.perf_counter()
        rows = atlas(MODELS, SHAPE, out=out, scheduler=client)
        return up, time.perf_counter() - t, rows


def main() -> int:
    import timm
    import torch

    warnings.simplefilter("ignore")
    configs = [("in-process", 1, False), ("cluster-1", 1, True), ("cluster-2", 2, True)]
    times: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    ups: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    per_model: list[float] = []
    for _ in range(REPEATS):
        for name, workers, cluster in configs:
            up, wall, rows = sweep(workers, cluster)
            times[name].append(wall)
            ups[name].append(up)
            assert len(rows) == len(MODELS), rows
            if name == "in-process":
                per_model += [float(r["seconds"]) for r in rows]
            print(f"{name:10s} start {up:6.1f} s  sweep {wall:6.1f} s", flush=True)
    print(
        f"\n{len(MODELS)} models at {SHAPE[0]}x{SHAPE[1]}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, timm {timm.__version__}"
    )
    print("config      sweep min  median  cluster start (median)")
    for name, _, _ in configs:
        print(
            f"{name:10s} {min(times[name]):9.1f} {statistics.median(times[name]):7.1f}  "
            f"{statistics.median(ups[name]):6.1f}"
        )
    print(f"control: 2 pure-Python processes run {control():.2f}x as fast as 1 on this machine now")
    base = statistics.median(times["cluster-1"])
    print(f"speed-up 2 vs 1 workers (sweep only): {base / statistics.median(times['cluster-2']):.2f}x")
    n = len(timm.list_models())
    mean = statistics.mean(per_model)
    print(f"mean per model (in-process): {mean:.2f} s; timm has {n} models")
    for workers in (1, 2, 8, 32, 128):
        print(f"projected all of timm on {workers:3d} workers: {n * mean / workers / 60:7.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
