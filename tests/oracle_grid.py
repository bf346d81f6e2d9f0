"""The parameter grid of the torch oracle: per op family, (rfgraph op, torch version) pairs.

Each :class:`Case` holds an rfgraph op, a torch function of a one-channel tensor
written from torch's own API (not from rfgraph's geometry), the input shape and how
the edge set is read (``"jac"`` float64 Jacobian, ``"jac32"`` float32 Jacobian for
resizes, ``"onehot"`` for max pooling).  ``wraps``: the axes whose fields wrap
(measured cyclically); ``tight``: no padding and no border clamping, so the record's
size must be reached by some position.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import rfgraph as rf

from . import oracle_torch as ot


@dataclass
class Case:
    name: str
    op: object
    fn: Callable[[torch.Tensor], torch.Tensor]
    shape: tuple[int, ...]
    kind: str = "jac"
    channels: int = 1
    wraps: tuple[bool, ...] | None = None
    tight: bool = False


def _tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def conv_cases() -> Iterator[Case]:
    pads_grid = [(0, 0), (1, 0), (0, 2), (1, 1), (2, 2), (3, 1)]
    for k, s, d, pads, mode, n in itertools.product(
        range(1, 5), range(1, 4), (1, 2), pads_grid, ("zeros", "reflect", "replicate", "circular"), range(1, 9)
    ):
        op = rf.Conv(k, stride=s, padding=(pads,), dilation=d, padding_mode=mode)
        yield Case(
            f"Conv{(k, s, d, pads, mode, n)}",
            op,
            ot.conv(1, k, s, d, [pads], mode),
            (n,),
            wraps=(mode == "circular" and pads != (0, 0),),
            tight=pads == (0, 0),
        )
    for k, s, d, n in itertools.product((1, 2, 3, 5), (1, 2, 3), (1, 2), range(1, 10)):
        pads = _tf_same(n, k, s, d)
        yield Case(
            f"Conv same{(k, s, d, n)}",
            rf.Conv(k, stride=s, padding="same", dilation=d),
            ot.conv(1, k, s, d, [pads]),
            (n,),
        )
    for (k, s, d), (n0, n1), mode in itertools.product(
        [((3, 2), (1, 2), (1, 1)), ((2, 3), (2, 1), (2, 1)), ((1, 3), (1, 1), (1, 2))],
        [(4, 5), (6, 3)],
        ("zeros", "reflect", "circular"),
    ):
        pads = [(1, 0), (0, 1)]
        yield Case(
            f"Conv2d{(k, s, d, n0, n1, mode)}",
            rf.Conv(k, stride=s, padding=tuple(pads), dilation=d, padding_mode=mode),
            ot.conv(2, k, s, d, pads, mode),
            (n0, n1),
            wraps=(mode == "circular",) * 2,
        )


def pool_cases() -> Iterator[Case]:
    for k, s, p, d, ceil, n in itertools.product(
        range(1, 4), range(1, 4), range(0, 2), (1, 2), (False, True), range(1, 9)
    ):
        op = rf.Pool(k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        tight = p == 0 and not ceil
        yield Case(f"MaxPool{(k, s, p, d, ceil, n)}", op, ot.max_pool(1, k, s, p, d, ceil), (n,), "onehot", tight=tight)
        if d == 1:
            yield Case(f"AvgPool{(k, s, p, ceil, n)}", op, ot.avg_pool(1, k, s, p, ceil), (n,), tight=tight)
    for ceil, (n0, n1) in itertools.product((False, True), [(5, 6), (7, 4)]):
        op = rf.Pool((3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=ceil)
        yield Case(
            f"MaxPool2d{(ceil, n0, n1)}", op, ot.max_pool(2, (3, 2), (2, 1), (1, 0), 1, ceil), (n0, n1), "onehot"
        )


def deconv_cases() -> Iterator[Case]:
    for k, s, p, d, n in itertools.product(range(1, 5), range(1, 4), range(0, 3), (1, 2), range(1, 6)):
        for op_ in range(max(s, d)):
            rop = rf.ConvTranspose(k, stride=s, padding=p, dilation=d, output_padding=op_)
            yield Case(f"ConvTranspose{(k, s, p, d, op_, n)}", rop, ot.conv_transpose(1, k, s, p, d, op_), (n,))
    yield Case(
        "ConvTranspose2d",
        rf.ConvTranspose((3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
        ot.conv_transpose(2, (3, 2), (2, 3), (1, 0), 1, (1, 2)),
        (3, 4),
    )


def upsample_cases() -> Iterator[Case]:
    for f, mode, n in itertools.product(range(1, 6), ("nearest", "linear"), range(1, 7)):
        up = torch.nn.Upsample(scale_factor=f, mode=mode)
        yield Case(f"Upsample{(f, mode, n)}", rf.Upsample(f, mode=mode), up, (n,), "jac32")
    for f, mode in itertools.product((2, 3, (3, 2)), ("nearest", "bilinear")):
        up = torch.nn.Upsample(scale_factor=f, mode=mode)
        yield Case(f"Upsample2d{(f, mode)}", rf.Upsample(f, mode=mode), up, (3, 4), "jac32")


SCALES = (0.25, 1 / 3, 0.5, 0.6, 0.75, 0.9, 1.1, 4 / 3, 1.5, 2.0, 2.5, 3.0)


def interp(**kw: object) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: F.interpolate(x, **kw)  # type: ignore[arg-type]


def resize_cases() -> Iterator[Case]:
    modes = [("nearest", False), ("nearest-exact", False), ("linear", False), ("linear", True), ("area", False)]
    for (mode, ac), n in itertools.product(modes, range(1, 8)):
        ac_arg = ac if mode == "linear" else None
        for m in range(1, 10):
            fn = interp(size=m, mode=mode, align_corners=ac_arg)
            yield Case(
                f"Resize{(mode, ac, n, 'size', m)}", rf.Resize(size=m, mode=mode, align_corners=ac), fn, (n,), "jac32"
            )
        for sc, rec in itertools.product(SCALES, (False, True)):
            if math.floor(n * sc) < 1 or ac:
                continue
            fn = interp(scale_factor=sc, mode=mode, recompute_scale_factor=rec)
            op = rf.Resize(scale_factor=sc, mode=mode, recompute_scale_factor=rec)
            yield Case(f"Resize{(mode, n, 'scale', sc, rec)}", op, fn, (n,), "jac32")
    # cubic exists in torch only as bicubic: 2-D, the same parameters on both axes
    for ac, n in itertools.product((False, True), range(1, 7)):
        for m in range(1, 9):
            fn = interp(size=(m, m), mode="bicubic", align_corners=ac)
            yield Case(
                f"Resize{('cubic', ac, n, 'size', m)}",
                rf.Resize(size=m, mode="cubic", align_corners=ac),
                fn,
                (n, n),
                "jac32",
            )
        if ac:
            continue
        for sc in SCALES:
            if math.floor(n * sc) < 1:
                continue
            fn = interp(scale_factor=sc, mode="bicubic")
            yield Case(
                f"Resize{('cubic', n, 'scale', sc)}", rf.Resize(scale_factor=sc, mode="cubic"), fn, (n, n), "jac32"
            )


def resize2d_cases() -> Iterator[Case]:
    """2-D resizes whose axes differ (one axis unchanged, up on one and down on the other)."""
    shapes = [(3, 4), (5, 2), (4, 4), (1, 3), (6, 5)]
    factors = [(1.0, 1.5), (1.1, 2.0), (0.5, 3.0), (2.0, 1.0), (0.75, 0.9)]
    for shape, sc, (mode, ac) in itertools.product(
        shapes,
        factors,
        [
            ("nearest", None),
            ("nearest-exact", None),
            ("bilinear", False),
            ("bilinear", True),
            ("bicubic", False),
            ("bicubic", True),
            ("area", None),
        ],
    ):
        out = tuple(math.floor(n * f) for n, f in zip(shape, sc))
        if min(out) < 1:
            continue
        rmode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
        yield Case(
            f"Resize2d{(shape, 'size', out, mode, ac)}",
            rf.Resize(size=out, mode=rmode, align_corners=bool(ac)),
            interp(size=out, mode=mode, align_corners=ac),
            shape,
            "jac32",
        )
        if not ac:
            yield Case(
                f"Resize2d{(shape, 'scale', sc, mode)}",
                rf.Resize(scale_factor=sc, mode=rmode),
                interp(scale_factor=sc, mode=mode),
                shape,
                "jac32",
            )


def pad_cases() -> Iterator[Case]:
    for left, right, mode, n in itertools.product(
        range(-1, 4), range(-1, 4), ("zeros", "reflect", "replicate", "circular"), range(1, 7)
    ):
        if mode != "zeros" and min(left, right) < 0:
            continue
        torch_mode = "constant" if mode == "zeros" else mode
        fn = lambda x, lr=(left, right), tm=torch_mode: F.pad(x, lr, mode=tm)  # noqa: E731
        yield Case(
            f"Pad{(left, right, mode, n)}",
            rf.Pad(((left, right),), mode=mode),
            fn,
            (n,),
            wraps=(mode == "circular",),
            tight=(left, right) == (0, 0),
        )
    for mode in ("zeros", "reflect", "replicate", "circular"):
        tm = "constant" if mode == "zeros" else mode
        yield Case(
            f"Pad2d{mode}",
            rf.Pad(((1, 2), (2, 0)), mode=mode),
            lambda x, tm=tm: F.pad(x, (2, 0, 1, 2), mode=tm),
            (3, 4),
            wraps=(mode == "circular",) * 2,
        )


def index_cases() -> Iterator[Case]:
    """AdaptivePool, PixelShuffle/Unshuffle, Slice, Crop, Flip, Roll, GlobalPool, GlobalMix."""
    for n, m in itertools.product(range(1, 10), range(1, 10)):
        yield Case(
            f"AdaptiveAvg{(n, m)}", rf.AdaptivePool(m), lambda x, m=m: F.adaptive_avg_pool1d(x, m), (n,), tight=True
        )
        yield Case(
            f"AdaptiveMax{(n, m)}",
            rf.AdaptivePool(m),
            lambda x, m=m: F.adaptive_max_pool1d(x, m),
            (n,),
            "onehot",
            tight=True,
        )
    for r, n0, n1 in itertools.product(range(1, 4), range(1, 4), range(1, 4)):
        yield Case(
            f"PixelShuffle{(r, n0, n1)}",
            rf.PixelShuffle(r),
            lambda x, r=r: F.pixel_shuffle(x, r),
            (n0, n1),
            channels=r * r,
            tight=True,
        )
        yield Case(
            f"PixelUnshuffle{(r, n0, n1)}",
            rf.PixelUnshuffle(r),
            lambda x, r=r: F.pixel_unshuffle(x, r),
            (n0 * r, n1 * r),
            tight=True,
        )
    for a, b, c, n in itertools.product(range(-4, 4), (None, -1, -3, 2, 5), range(1, 4), range(1, 8)):
        if not len(range(n)[slice(a, b, c)]):
            continue
        yield Case(f"Slice{(a, b, c, n)}", rf.Slice(a, b, c), lambda x, s=slice(a, b, c): x[..., s], (n,), tight=True)
    for left, right, n in itertools.product(range(0, 3), range(0, 3), range(1, 7)):
        if n - left - right < 1:
            continue
        yield Case(
            f"Crop{(left, right, n)}",
            rf.Crop(((left, right),)),
            lambda x, a=left, b=n - right: x[..., a:b],
            (n,),
            tight=True,
        )
    for axes, shape in itertools.product((None, 0, 1, (0, 1)), [(1, 4), (3, 2), (5, 5)]):
        dims = (2, 3) if axes is None else tuple(2 + a for a in (axes if isinstance(axes, tuple) else (axes,)))
        yield Case(f"Flip{(axes, shape)}", rf.Flip(axes), lambda x, dims=dims: torch.flip(x, dims), shape, tight=True)
    for shift, n in itertools.product(range(-8, 9), range(1, 8)):
        yield Case(
            f"Roll{(shift, n)}", rf.Roll(shift), lambda x, s=shift: torch.roll(x, s, 2), (n,), wraps=(True,), tight=True
        )
    yield Case(
        "Roll2d", rf.Roll((2, -1)), lambda x: torch.roll(x, (2, -1), (2, 3)), (4, 3), wraps=(True, True), tight=True
    )
    for shape in [(1,), (5,), (3, 4), (2, 2, 3)]:
        dims = tuple(range(2, 2 + len(shape)))
        yield Case(
            f"GlobalPool{shape}", rf.GlobalPool(), lambda x, dims=dims: x.mean(dims, keepdim=True), shape, tight=True
        )
        yield Case(f"GlobalMix{shape}", rf.GlobalMix(), ot.global_attention, shape, tight=True)


def window_cases() -> Iterator[Case]:
    for w, d, blocks in itertools.product(range(1, 5), range(1, 4), range(1, 3)):
        n = w * d * blocks
        for shift in range(0, w * d + 1):
            fn = ot.window_attention(1, (w,), (shift,), (d,))
            yield Case(
                f"WindowMix{(w, shift, d, n)}",
                rf.WindowMix(w, shift=shift, dilation=d),
                fn,
                (n,),
                wraps=(True,),
                tight=True,
            )
    for (w, s, d), shape in itertools.product(
        [((2, 2), (1, 0), (1, 1)), ((2, 1), (1, 1), (1, 2)), ((3, 2), (2, 1), (1, 1))], [(6, 4), (12, 8)]
    ):
        if any(n % (a * b) for n, a, b in zip(shape, w, d)):
            continue
        fn = ot.window_attention(2, w, s, d)
        yield Case(
            f"WindowMix2d{(w, s, d, shape)}",
            rf.WindowMix(w, shift=s, dilation=d),
            fn,
            shape,
            wraps=(True, True),
            tight=True,
        )


FAMILIES: dict[str, Callable[[], Iterator[Case]]] = {
    "conv": conv_cases,
    "pool": pool_cases,
    "deconv": deconv_cases,
    "upsample": upsample_cases,
    "resize": resize_cases,
    "resize2d": resize2d_cases,
    "pad": pad_cases,
    "index": index_cases,
    "window": window_cases,
}


def check_case(case: Case) -> tuple[str, list[str]]:
    """``("torch refuses" | "both refuse" | "ok" | "mismatch", problems)`` for one case."""
    try:
        shape_t = ot.out_shape(case.fn, case.shape, case.channels)
        if 0 in shape_t:
            raise RuntimeError("empty output")
    except (RuntimeError, ValueError):
        try:
            rf_shape, _ = ot.rf_support(case.op, case.shape)
        except rf.RFGraphError:
            return "both refuse", []
        return "torch refuses", [f"{case.name}: torch refuses, rfgraph gives shape {rf_shape}"]
    try:
        rf_shape, rf_edges = ot.rf_support(case.op, case.shape)
    except rf.RFGraphError as err:
        return "mismatch", [f"{case.name}: rfgraph refuses what torch accepts: {err}"]
    if rf_shape != shape_t:
        return "mismatch", [f"{case.name}: output shape {rf_shape}, torch {shape_t}"]
    if case.kind == "onehot":
        edges = ot.onehot_support(case.fn, case.shape, case.channels)
    else:
        dtype = torch.float32 if case.kind == "jac32" else torch.float64
        edges = ot.jacobian_support(case.fn, case.shape, case.channels, dtype)
    problems = []
    if edges.shape != rf_edges.shape or (edges != rf_edges).any():
        extra = int((rf_edges & ~edges).sum())
        missing = int((edges & ~rf_edges).sum())
        problems.append(f"{case.name}: edge sets differ ({missing} missing, {extra} extra)")
    rec = rf.receptive_field(case.op, case.shape)[-1]
    wraps = case.wraps or (False,) * len(case.shape)
    found, _ = ot.record_problems(rec, edges, case.shape, wraps, case.tight)
    problems += [f"{case.name}: record {p}" for p in found]
    return ("mismatch" if problems else "ok"), problems


def run_family(family: str, every: int = 1) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    problems: list[str] = []
    for i, case in enumerate(FAMILIES[family]()):
        if i % every:
            continue
        status, found = check_case(case)
        counts[status] = counts.get(status, 0) + 1
        problems += found
    return counts, problems


if __name__ == "__main__":  # python -m tests.oracle_grid [family ...]
    import sys
    import time

    for fam in sys.argv[1:] or list(FAMILIES):
        t0 = time.time()
        counts, problems = run_family(fam)
        print(fam, counts, f"{time.time() - t0:.1f}s")
        for p in problems[:40]:
            print("   ", p)
