"""Hypothesis strategies: small random networks mixing every op (1-D and 2-D)."""

from __future__ import annotations

from hypothesis import strategies as st

import rfgraph as rf


def _pads(draw, ndim: int):
    kind = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
    if kind == "int":
        return draw(st.integers(0, 2))
    if kind == "pairs":
        return tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))
    return kind


SCALES = [0.5, 0.75, 1.5, 2.0]  # scales whose float32 index arithmetic is exact enough (see index_ops)


@st.composite
def index_ops(draw, ndim: int, *, local: bool = False):
    """The index-map ops of issue 10/15.  ``local``: only ops whose fields the periodic
    receptive-field arithmetic describes exactly away from the borders (no crops, rolls,
    sized resizes)."""
    kinds = ["pad", "padconv", "resize", "apool", "shuffle", "unshuffle", "flip", "gmix", "wmix", "wmixd"]
    if not local:
        kinds += ["resize_size", "slice", "roll"]
    kind = draw(st.sampled_from(kinds))
    modes = ["zeros", "reflect", "replicate", "circular"]
    if kind == "pad":
        pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))
        return rf.Pad(pads, mode=draw(st.sampled_from(modes)))
    if kind == "padconv":
        k = draw(st.sampled_from([2, 3]))
        return rf.Conv(
            k,
            stride=draw(st.integers(1, 2)),
            padding=draw(st.integers(0, 2)),
            padding_mode=draw(st.sampled_from(modes)),
        )
    if kind in ("resize", "resize_size"):
        mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "cubic", "area"]))
        ac = mode in ("linear", "cubic") and kind == "resize_size" and draw(st.booleans())
        if kind == "resize_size":
            return rf.Resize(size=draw(st.integers(1, 7)), mode=mode, align_corners=ac)
        return rf.Resize(scale_factor=draw(st.sampled_from(SCALES)), mode=mode)
    if kind == "apool":
        return rf.AdaptivePool(draw(st.integers(1, 5)))
    if kind == "shuffle":
        return rf.PixelShuffle(draw(st.integers(1, 2)))
    if kind == "unshuffle":
        return rf.PixelUnshuffle(draw(st.integers(1, 2)))
    if kind == "slice":
        stop = draw(st.sampled_from([None, -1, 6]))
        return rf.Slice(draw(st.integers(-3, 2)), stop, draw(st.integers(1, 2)))
    if kind == "flip":
        return rf.Flip(draw(st.sampled_from([None, 0])))
    if kind == "roll":
        return rf.Roll(draw(st.integers(-3, 3)))
    if kind == "gmix":
        return rf.GlobalMix()
    if kind == "wmixd":
        return draw(dilated_windows())
    return rf.WindowMix(draw(st.integers(1, 2)), shift=draw(st.integers(0, 1)))


@st.composite
def dilated_windows(draw):
    """Dilated window attention (MaxViT grid, MobileViT): spans of 2 to 6 positions."""
    window, dilation = draw(st.sampled_from([(1, 2), (2, 2), (2, 3), (3, 2)]))
    return rf.WindowMix(window, shift=draw(st.integers(0, window * dilation)), dilation=dilation)


@st.composite
def gated(draw, ndim: int):
    """Squeeze-and-excitation style gate (a size-1 branch broadcast over the tensor), or a
    concatenation along a spatial axis."""
    if draw(st.booleans()):
        body = draw(same_shape_ops(ndim))
        gate = rf.Sequential(rf.GlobalPool(), rf.Conv(1))
        return rf.Add(body, gate) if draw(st.booleans()) else rf.Add(rf.Identity(), gate, body)
    return rf.Concat(draw(same_shape_ops(ndim)), draw(leaf_ops(ndim)), axis=draw(st.integers(0, ndim - 1)))


@st.composite
def leaf_ops(draw, ndim: int, *, upsample_linear: bool = True):
    kind = draw(st.sampled_from(["conv", "conv", "conv", "pool", "deconv", "up", "gpool", "crop"]))
    k = draw(st.integers(1, 3))
    if kind == "crop":
        return rf.Crop(tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(ndim)))
    if kind == "conv":
        return rf.Conv(k, stride=draw(st.integers(1, 2)), padding=_pads(draw, ndim), dilation=draw(st.integers(1, 2)))
    if kind == "pool":
        stride = draw(st.sampled_from([None, 1, 2]))
        pad = draw(st.integers(0, k // 2))  # torch's rule: padding <= kernel / 2
        return rf.Pool(k, stride=stride, padding=pad, ceil_mode=draw(st.booleans()))
    if kind == "deconv":
        s = draw(st.integers(1, 2))
        return rf.ConvTranspose(
            k,
            stride=s,
            padding=draw(st.integers(0, 1)),
            dilation=draw(st.integers(1, 2)),
            output_padding=draw(st.integers(0, s - 1)),
        )
    if kind == "up":
        modes = ["nearest", "linear"] if upsample_linear else ["nearest"]
        return rf.Upsample(draw(st.integers(1, 2)), mode=draw(st.sampled_from(modes)))
    return rf.GlobalPool()


@st.composite
def same_shape_ops(draw, ndim: int):
    """Ops that keep the spatial shape (for merge branches)."""
    kind = draw(st.sampled_from(["id", "conv", "conv", "pool", "seq", "cross"]))
    if kind == "id":
        return rf.Identity()
    if kind == "cross":
        # per-axis kernels: unions of such branches are not products (e.g. a plus sign)
        k = tuple(draw(st.sampled_from([1, 3])) for _ in range(ndim))
        d = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
        return rf.Conv(k, padding=tuple((kk // 2) * dd for kk, dd in zip(k, d)), dilation=d)
    if kind == "pool":
        return rf.Pool(3, stride=1, padding=1)
    if kind == "seq":
        return rf.Sequential(draw(same_shape_ops(ndim)), draw(same_shape_ops(ndim)))
    k = draw(st.sampled_from([1, 3]))
    d = draw(st.integers(1, 3))
    return rf.Conv(k, padding=(k // 2) * d, dilation=d)


@st.composite
def merges(draw, ndim: int):
    n = draw(st.integers(2, 3))
    branches = [draw(same_shape_ops(ndim)) for _ in range(n)]
    if sum(isinstance(b, rf.Identity) for b in branches) > 1:
        branches = [b for b in branches if not isinstance(b, rf.Identity)] + [rf.Identity()]
    if draw(st.booleans()) and len(branches) >= 2:
        # a strided pair that still agrees: conv3 s2 p1 and conv1 s2
        branches = [rf.Conv(3, stride=2, padding=1), rf.Conv(1, stride=2)]
    cls = draw(st.sampled_from([rf.Add, rf.Concat, "res"]))
    if cls == "res":
        return rf.Residual(rf.Sequential(*branches[:-1]), branches[-1])
    return cls(*branches)


@st.composite
def dense_block(draw, ndim: int):
    """DenseNet-like reuse of an earlier tensor through ``Ref`` (a DAG that is not a tree)."""
    first = rf.Conv(draw(st.sampled_from([1, 3])), padding="same", name="r0")
    middle = draw(same_shape_ops(ndim))
    cls = draw(st.sampled_from([rf.Add, rf.Concat]))
    return rf.Sequential(first, middle, cls(rf.Identity(), rf.Ref("r0")), name=draw(st.sampled_from(["d1", "d2"])))


@st.composite
def networks(draw, ndim: int = 1, max_ops: int = 4, *, upsample_linear: bool = True, extended: bool = False):
    """Random networks; ``extended`` mixes in the index-map ops, gates and spatial concatenation."""
    n = draw(st.integers(1, max_ops))
    ops = []
    for _ in range(n):
        choice = draw(st.integers(0, 10 if extended else 7))
        if choice <= 1:
            ops.append(draw(merges(ndim)))
        elif choice == 2:
            ops.append(draw(dense_block(ndim)))
        elif choice <= 7:
            ops.append(draw(leaf_ops(ndim, upsample_linear=upsample_linear)))
        elif choice <= 9:
            ops.append(draw(index_ops(ndim)))
        else:
            ops.append(draw(gated(ndim)))
    return rf.Sequential(*ops)


@st.composite
def local_networks(draw, ndim: int = 1, max_ops: int = 5):
    """Networks whose periodic receptive-field arithmetic is exact away from the borders:
    convolutions, pools, transposed convolutions, up-sampling, scale resizes, pixel
    (un)shuffles, adaptive pools, flips, token mixers, same-stride merges and gates."""
    ops = []
    for _ in range(draw(st.integers(1, max_ops))):
        choice = draw(st.integers(0, 6))
        if choice == 0:
            ops.append(draw(merges(ndim)))
        elif choice == 1:
            ops.append(rf.Add(draw(same_shape_ops(ndim)), rf.Sequential(rf.GlobalPool(), rf.Conv(1))))
        elif choice <= 3:
            ops.append(draw(index_ops(ndim, local=True)))
        else:
            op = draw(leaf_ops(ndim))
            ops.append(rf.Conv(3) if isinstance(op, rf.Crop) else op)
    return rf.Sequential(*ops)


@st.composite
def cases(
    draw,
    ndim: int = 1,
    max_ops: int = 4,
    max_size: int = 10,
    *,
    upsample_linear: bool = True,
    extended: bool = False,
    dilated_window: bool = False,
):
    """(network, input_shape, target) where the network is valid for the shape; with
    ``dilated_window`` a dilated :class:`~rfgraph.WindowMix` between two random networks."""
    net = draw(networks(ndim, max_ops, upsample_linear=upsample_linear, extended=extended))
    if dilated_window:
        net = rf.Sequential(net, draw(dilated_windows()), draw(networks(ndim, max_ops, extended=extended)))
    shape = tuple(draw(st.integers(3, max_size)) for _ in range(ndim))
    try:
        plan = rf.build_plan(net, shape)
    except rf.RFGraphError:
        from hypothesis import reject

        reject()
    target = tuple(draw(st.integers(0, n - 1)) for n in plan.output.shape)
    # The reference enumerates every path: keep the examples where that stays cheap.
    from hypothesis import assume

    assume(plan.num_nodes <= 600 and rf.contribution_map(net, shape, "paths", target).sum() <= 20_000)
    return net, shape, target
