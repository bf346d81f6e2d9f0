"""Random networks built twice: as rfgraph ops and as torch-derived adjacency matrices.

:func:`networks` (a hypothesis strategy) draws a chain of blocks: leaf ops of every
family, residual blocks (an element-wise merge with the input), channel and spatial
concatenations, and gates (a branch pooled to size 1 on some or all axes, broadcast
back).  Each leaf is checked by torch first (a leaf torch refuses is redrawn), then
its edge set is read off torch (:mod:`tests.oracle_torch`) and composed in an
:class:`~tests.oracle_torch.OracleNet`; nothing of rfgraph's geometry is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

import rfgraph as rf

from . import oracle_torch as ot


@dataclass
class Leaf:
    op: Any
    fn: Any
    kind: str = "jac"
    wraps: tuple[bool, ...] | bool = False  # reads around the end of (each) axis
    tight: bool = True  # no padding, no clamping, no border effects
    local: bool = True  # translation-equivariant up to its stride (tiles may apply)


@dataclass
class Built:
    net: Any
    oracle: ot.OracleNet
    wraps: list[bool] = field(default_factory=list)
    node_wraps: list[tuple[bool, ...]] = field(default_factory=list)
    tight: bool = True
    names: list[str] = field(default_factory=list)


def _interp(**kw: Any) -> Any:
    return lambda x: F.interpolate(x, **kw)


_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@st.composite
def leaves(draw: Any, shape: tuple[int, ...], same_shape: bool = False) -> Leaf:
    """One leaf op valid on ``shape`` (torch accepts it); ``same_shape``: keeps the shape."""
    ndim = len(shape)
    kinds = ["conv", "pool", "roll", "flip", "wmix", "gmix"]
    if not same_shape:
        kinds += ["conv", "pool", "deconv", "upsample", "resize", "pad", "apool", "slice", "crop"]
        if ndim == 2:
            kinds += ["shuffle", "unshuffle"]
    kind = draw(st.sampled_from(kinds))
    modes = ["zeros", "reflect", "replicate", "circular"]
    if kind == "conv":
        d = draw(st.integers(1, 2))
        if same_shape:
            k = draw(st.sampled_from([1, 3]))
            s, pads = 1, [((k - 1) // 2 * d,) * 2] * ndim
        else:
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 2))
            pads = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim)]
        mode = draw(st.sampled_from(modes))
        nonzero = any(p != (0, 0) for p in pads)
        op = rf.Conv(k, stride=s, padding=tuple(pads), dilation=d, padding_mode=mode)
        wraps = tuple(mode == "circular" and p != (0, 0) for p in pads)
        return Leaf(op, ot.conv(ndim, k, s, d, pads, mode), wraps=wraps, tight=not nonzero)
    if kind == "pool":
        if same_shape:
            k, s, p, ceil = 3, 1, 1, False
        else:
            k = draw(st.integers(1, 3))
            s = draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2))
            ceil = draw(st.booleans())
        op = rf.Pool(k, stride=s, padding=p, ceil_mode=ceil)
        tight = p == 0 and not ceil
        if draw(st.booleans()):
            return Leaf(op, ot.max_pool(ndim, k, s, p, 1, ceil), "onehot", tight=tight)
        return Leaf(op, ot.avg_pool(ndim, k, s, p, ceil), tight=tight)
    if kind == "deconv":
        k, s, p = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1))
        op_ = draw(st.integers(0, s - 1))
        rop = rf.ConvTranspose(k, stride=s, padding=p, output_padding=op_)
        return Leaf(rop, ot.conv_transpose(ndim, k, s, p, 1, op_), tight=False)
    if kind == "upsample":
        f = draw(st.integers(1, 3))
        mode = draw(st.sampled_from(["nearest", "linear"]))
        tmode = mode if mode == "nearest" else _LINEAR[ndim]
        return Leaf(rf.Upsample(f, mode=mode), torch.nn.Upsample(scale_factor=f, mode=tmode), "jac32", tight=False)
    if kind == "resize":
        modes_ = ["nearest", "nearest-exact", "linear", "area"] + (["cubic"] if ndim == 2 else [])
        mode = draw(st.sampled_from(modes_))
        tmode = {"linear": _LINEAR[ndim], "cubic": "bicubic"}.get(mode, mode)
        ac = draw(st.booleans()) if mode in ("linear", "cubic") else None
        if draw(st.booleans()):
            size = tuple(draw(st.integers(1, 8)) for _ in range(ndim))
            op = rf.Resize(size=size, mode=mode, align_corners=bool(ac))
            return Leaf(op, _interp(size=size, mode=tmode, align_corners=ac), "jac32", tight=False, local=False)
        sc = draw(st.sampled_from([0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 3.0]))
        op = rf.Resize(scale_factor=sc, mode=mode)
        return Leaf(op, _interp(scale_factor=sc, mode=tmode), "jac32", tight=False, local=False)
    if kind == "pad":
        mode = draw(st.sampled_from(modes))
        lo = -1 if mode == "zeros" else 0
        pads = [(draw(st.integers(lo, 2)), draw(st.integers(lo, 2))) for _ in range(ndim)]
        flat = [p for pair in reversed(pads) for p in pair]
        tm = "constant" if mode == "zeros" else mode
        nonzero = any(flat)
        return Leaf(
            rf.Pad(tuple(pads), mode=mode),
            lambda x: F.pad(x, flat, mode=tm),
            wraps=tuple(mode == "circular" and p != (0, 0) for p in pads),
            tight=not nonzero,
        )
    if kind == "apool":
        size = tuple(draw(st.integers(1, max(1, n))) for n in shape)
        if draw(st.booleans()):
            return Leaf(rf.AdaptivePool(size), lambda x: ot._nd(ndim, "adaptive_avg_pool")(x, size), local=False)
        return Leaf(rf.AdaptivePool(size), lambda x: ot._nd(ndim, "adaptive_max_pool")(x, size), "onehot", local=False)
    if kind == "shuffle":
        r = draw(st.integers(1, 2))
        return Leaf(rf.PixelShuffle(r), lambda x: F.pixel_shuffle(x.repeat(1, r * r, 1, 1), r))
    if kind == "unshuffle":
        r = draw(st.sampled_from([r for r in (1, 2) if all(n % r == 0 for n in shape)]))
        return Leaf(rf.PixelUnshuffle(r), lambda x: F.pixel_unshuffle(x, r).sum(1, keepdim=True))
    if kind == "slice":
        a, c = draw(st.integers(-3, 2)), draw(st.integers(1, 2))
        b = draw(st.sampled_from([None, -1, 6]))
        sl = slice(a, b, c)
        index = (Ellipsis,) + (sl,) * ndim
        return Leaf(rf.Slice(a, b, c), lambda x: x[index], local=False)
    if kind == "crop":
        left, right = draw(st.integers(0, 1)), draw(st.integers(0, 1))
        index = (Ellipsis,) + (slice(left, -right or None),) * ndim
        return Leaf(rf.Crop(((left, right),) * ndim), lambda x: x[index], local=False)
    if kind == "roll":
        shifts = tuple(draw(st.integers(-3, 3)) for _ in range(ndim))
        dims = tuple(range(2, 2 + ndim))
        wraps = tuple(sh % n != 0 for sh, n in zip(shifts, shape))
        return Leaf(rf.Roll(shifts), lambda x: torch.roll(x, shifts, dims), wraps=wraps, local=False)
    if kind == "flip":
        dims = tuple(range(2, 2 + ndim))
        return Leaf(rf.Flip(), lambda x: torch.flip(x, dims), local=False)
    if kind == "wmix":
        choices = [(w, d) for w in (1, 2, 3) for d in (1, 2) if all(n % (w * d) == 0 for n in shape)]
        if not choices:
            return Leaf(rf.GlobalMix(), ot.global_attention, local=False)
        w, d = draw(st.sampled_from(choices))
        sh = draw(st.integers(0, w * d))
        fn = ot.window_attention(ndim, (w,) * ndim, (sh,) * ndim, (d,) * ndim)
        return Leaf(rf.WindowMix(w, shift=sh, dilation=d), fn, wraps=sh % (w * d) != 0, local=False)
    return Leaf(rf.GlobalMix(), ot.global_attention, local=False)


def _accepted(leaf: Leaf, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        out = ot.out_shape(leaf.fn, shape)
    except (RuntimeError, ValueError, IndexError):
        return None
    if 0 in out or len(out) != len(shape):
        return None
    try:
        from rfgraph.plan import build_plan

        build_plan(leaf.op, shape)
    except rf.RFGraphError:
        return None
    return out


@st.composite
def valid_leaf(draw: Any, shape: tuple[int, ...], same_shape: bool = False) -> tuple[Leaf, tuple[int, ...]]:
    for _ in range(20):
        leaf = draw(leaves(shape, same_shape))
        out = _accepted(leaf, shape)
        if out is not None and (not same_shape or out == shape):
            return leaf, out
    leaf = Leaf(rf.GlobalMix(), ot.global_attention, local=False)
    return leaf, shape


@st.composite
def networks(draw: Any, ndim: int, max_blocks: int = 4, local_only: bool = False) -> Built:
    """A random network and its torch-derived twin."""
    top = {1: 10, 2: 7, 3: 4}[ndim]
    shape = tuple(draw(st.integers(2, top)) for _ in range(ndim))
    oracle = ot.OracleNet(shape)
    built = Built(None, oracle, [False] * ndim)
    ops: list[Any] = []
    cur = 0

    wraps = [(False,) * ndim]  # per oracle node and axis: does some path into it wrap around?

    def add_leaf(src: int, leaf: Leaf) -> int:
        built.tight &= leaf.tight
        own = leaf.wraps if isinstance(leaf.wraps, tuple) else (leaf.wraps,) * ndim
        wraps.append(tuple(a or b for a, b in zip(wraps[src], own)))
        return oracle.leaf(src, leaf.fn, leaf.kind)

    def merge(srcs: list[int], axis: int | None = None) -> int:
        wraps.append(tuple(any(wraps[s][a] for s in srcs) for a in range(ndim)))
        return oracle.merge(srcs, axis)

    for _ in range(draw(st.integers(1, max_blocks))):
        here = oracle.nodes[cur].shape
        block = draw(st.sampled_from(["leaf", "leaf", "residual", "concat", "gate"]))
        if block == "leaf":
            leaf, _ = draw(valid_leaf(here))
            ops.append(leaf.op)
            cur = add_leaf(cur, leaf)
            continue
        if block == "gate":
            # a branch pooled to size 1 on some axes (all: squeeze-and-excitation), broadcast back
            ones = draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
            if not any(ones) or draw(st.booleans()):
                branch_op = rf.GlobalPool()
                dims = tuple(range(2, 2 + ndim))
                fn = lambda x, dims=dims: x.mean(dims, keepdim=True)  # noqa: E731
            else:
                size = tuple(1 if o else None for o in ones)
                branch_op = rf.AdaptivePool(size)
                real = tuple(1 if o else n for o, n in zip(ones, here))
                fn = lambda x, real=real: ot._nd(ndim, "adaptive_avg_pool")(x, real)  # noqa: E731
            b = oracle.leaf(cur, fn)
            wraps.append(wraps[cur])
            ops.append(rf.Add(rf.Identity(), branch_op))
            cur = merge([cur, b])
            continue
        # residual / concat: a body of 1-2 leaves that keep the shape
        body, node = [], cur
        for _ in range(draw(st.integers(1, 2))):
            leaf, _ = draw(valid_leaf(here, same_shape=True))
            body.append(leaf.op)
            node = add_leaf(node, leaf)
        if block == "residual":
            ops.append(rf.Residual(rf.Sequential(*body)))
            cur = merge([node, cur])
        else:
            axis = draw(st.sampled_from([None, *range(ndim)]))
            ops.append(rf.Concat(rf.Identity(), rf.Sequential(*body), axis=axis))
            cur = merge([cur, node], axis=axis)
            if axis is not None:
                built.tight = False  # the second branch's positions read from far away
    built.net = rf.Sequential(*ops)
    built.node_wraps = wraps
    return built
