"""Bench: the gradient ERF of resnet50 (``output="layer4"``) over 64 images at 224x224 on CPU.

Run: ``PYTHONPATH=. python bench/bench_erf_model.py`` (full size: a few minutes on one core;
``--images 8`` for a quick look).  Times :func:`rfgraph.erf.gradient_erf` (batches of
``--batch-size``, forward stopped at layer4 by the hook) against a plain loop: RepLKNet's
``visualize_erf.py`` protocol written out by hand, one image per forward/backward pass through a
truncated forward.  Prints the seconds per image of both, their ratio, the largest relative
difference of the two maps, and the machine.  Random weights (nothing downloaded), noise images.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

import rfgraph as rf


def plain_loop(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """One image at a time: forward to layer4, centre summed over channels, |grad| summed over channels."""
    total = np.zeros(tuple(x.shape[2:]))
    for i in range(x.shape[0]):
        s = x[i : i + 1].clone().requires_grad_(True)
        y = model.maxpool(model.relu(model.bn1(model.conv1(s))))
        y = model.layer4(model.layer3(model.layer2(model.layer1(y))))
        h, w = y.shape[2] // 2, y.shape[3] // 2
        (g,) = torch.autograd.grad(y[:, :, h, w].sum(), s)
        total += g.abs().sum((0, 1)).double().numpy()
    return total / x.shape[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50", help="torchvision ResNet name (default resnet50)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--input", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as every bench)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = rf.erf.load_model(f"torchvision:{args.model}")
    x = rf.erf.noise_images(args.images, (args.input, args.input))
    with torch.no_grad():  # warm-up
        model(x[:1])

    t0 = time.perf_counter()
    ours = rf.erf.gradient_erf(model, x, output="layer4", batch_size=args.batch_size, progress=False)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = plain_loop(model, x)
    t_loop = time.perf_counter() - t0

    diff = float(np.abs(ours - loop).max() / loop.max())
    n = args.images
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}")
    print(f"{args.model} layer4, {n} images at {args.input}x{args.input}, {args.threads} thread(s)")
    print(f"  rf.erf.gradient_erf (batch {args.batch_size}): {t_ours / n * 1e3:8.1f} ms/image  ({t_ours:.1f} s)")
    print(f"  plain loop (batch 1):                {t_loop / n * 1e3:8.1f} ms/image  ({t_loop:.1f} s)")
    print(f"  ratio plain/rfgraph: {t_loop / t_ours:.2f}; max |difference| / max: {diff:.1e}")


if __name__ == "__main__":
    main()
