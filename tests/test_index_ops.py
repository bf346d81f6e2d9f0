"""Index-map ops (Pad, Resize, AdaptivePool, PixelShuffle/Unshuffle, Slice, Flip, Roll,
GlobalMix, WindowMix, broadcast and spatial merges): output sizes and edge sets equal
the support of torch's Jacobian."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.plan import build_plan

torch = pytest.importorskip("torch")
F = torch.nn.functional

MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def relation(net, shape):
    """The network's input -> output reach relation as a bool matrix (out_size, in_size)."""
    plan = build_plan(net, shape)
    n_in = int(np.prod(shape))
    rows = []
    for target in itertools.product(*(range(n) for n in plan.output.shape)):
        rows.append(rf.reach(net, shape, target).reshape(n_in))
    return np.array(rows), plan.output.shape


def leaf_relation(op, shape):
    """The op's own edges: Kronecker product of its per-axis maps."""
    plan = build_plan(rf.Sequential(op), shape)
    (link,) = plan.tensors[1].links
    dense = np.ones((1, 1), dtype=bool)
    for m in link.maps:
        dense = np.kron(dense, m.dense())
    return dense, plan.output.shape


def jacobian_support(fn, shape, channels=1, dtype=torch.float32):
    """Support of d fn(x) / d x over spatial positions (channels collapsed), x > 0."""
    x = torch.rand((1, channels, *shape), dtype=dtype) + 0.5

    def flat(v):
        return fn(v.reshape(1, channels, *shape)).reshape(-1)

    jac = torch.autograd.functional.jacobian(flat, x.reshape(-1))
    out = fn(x)
    out_shape = tuple(out.shape[2:])
    j = jac.reshape(out.shape[1], int(np.prod(out_shape)), channels, int(np.prod(shape)))
    return (j != 0).any(dim=2).any(dim=0).numpy(), out_shape


def assert_same(op, fn, shape, channels=1):
    expected, t_shape = jacobian_support(fn, shape, channels)
    got, r_shape = leaf_relation(op, shape)
    assert r_shape == t_shape, (op, shape)
    assert np.array_equal(got, expected), (op, shape, got.astype(int), expected.astype(int))


def _torch_pads(pairs):
    return tuple(v for pair in reversed(pairs) for v in pair)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("shape", [(5,), (1,), (4, 3)])
def test_pad_matches_f_pad(mode, shape):
    for pads in [1, 2, 3, 5] + ([(0, 2)] if len(shape) == 1 else [((1, 0), (2, 1))]):
        pairs = tuple(
            (p, p) if isinstance(p, int) else p
            for p in (pads if isinstance(pads, tuple) and len(shape) > 1 else [pads] * len(shape))
        )
        if len(shape) == 1 and isinstance(pads, tuple):
            pairs = (pads,)
        op = rf.Pad(pairs, mode=mode)
        limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 10**9)
        if any(max(p) > limit(n) for p, n in zip(pairs, shape)):
            with pytest.raises(rf.RFGraphError, match="torch needs"):
                build_plan(op, shape)
            continue
        if mode != "zeros" and len(shape) == 1 and shape[0] == 1 and mode == "reflect":
            continue
        assert_same(op, lambda x, pairs=pairs: F.pad(x, _torch_pads(pairs), mode=MODES[mode]), shape)


def test_negative_zero_pad_is_a_crop():
    assert_same(rf.Pad(((-1, 2),)), lambda x: F.pad(x, (-1, 2)), (6,))
    with pytest.raises(rf.RFGraphError, match="only mode='zeros'"):
        rf.Pad(-1, mode="reflect")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("k, s, p, d", [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 1), (3, 1, 2, 2), (4, 3, 2, 1)])
def test_conv_padding_mode_matches_torch(mode, k, s, p, d):
    for shape in [(7,), (6, 5)]:
        conv = (torch.nn.Conv1d if len(shape) == 1 else torch.nn.Conv2d)(
            1, 1, k, stride=s, padding=p, dilation=d, padding_mode=mode, bias=False
        )
        torch.nn.init.constant_(conv.weight, 1.0)
        assert_same(rf.Conv(k, stride=s, padding=p, dilation=d, padding_mode=mode), conv, shape)


def test_conv_padding_mode_validation():
    with pytest.raises(rf.RFGraphError, match="padding_mode='mirror' is unknown.*'reflect'"):
        rf.Conv(3, padding_mode="mirror")
    with pytest.raises(rf.RFGraphError, match="torch needs"):
        build_plan(rf.Conv(5, padding=3, padding_mode="reflect"), (3,))


def _interp(size, scale, mode, ac, rsf, ndim):
    kw = {}
    if mode in ("linear", "cubic"):
        kw["align_corners"] = ac
    if rsf:
        kw["recompute_scale_factor"] = True
    torch_mode = {"linear": ["linear", "bilinear", "trilinear"][ndim - 1], "cubic": "bicubic"}.get(mode, mode)
    return lambda x: F.interpolate(x, size=size, scale_factor=scale, mode=torch_mode, **kw)


RESIZE_CASES = [
    (mode, ac)
    for mode in ("nearest", "nearest-exact", "linear", "cubic", "area")
    for ac in ((False, True) if mode in ("linear", "cubic") else (False,))
]


@pytest.mark.parametrize("mode, ac", RESIZE_CASES)
def test_resize_by_size_matches_interpolate(mode, ac):
    ndim = 2 if mode == "cubic" else 1  # torch has bicubic only in 2-D
    for n in (1, 2, 3, 5, 7, 13):
        for m in (1, 2, 3, 4, 6, 9, 14, 17, 26):
            shape = (n,) if ndim == 1 else (2, n)
            size = m if ndim == 1 else (3, m)
            assert_same(
                rf.Resize(size=size, mode=mode, align_corners=ac), _interp(size, None, mode, ac, False, ndim), shape
            )


@pytest.mark.parametrize("mode, ac", RESIZE_CASES)
def test_resize_by_scale_matches_interpolate(mode, ac):
    ndim = 2 if mode == "cubic" else 1
    for n in (1, 2, 3, 5, 7, 10):
        for scale in (0.3, 0.5, 0.7, 1.0, 1.5, 1.7, 2.0, 2.5, 3.0):
            for rsf in (False, True):
                if math.floor(n * scale) < 1:
                    with pytest.raises(rf.RFGraphError, match="scale_factor"):
                        build_plan(rf.Resize(scale_factor=scale, mode=mode), (n,))
                    continue
                shape = (n,) if ndim == 1 else (3, n)
                sf = scale if ndim == 1 else (1.5, scale)
                op = rf.Resize(scale_factor=sf, mode=mode, align_corners=ac, recompute_scale_factor=rsf)
                assert_same(op, _interp(None, sf, mode, ac, rsf, ndim), shape)


def test_bilinear_2d_and_trilinear_3d():
    for shape, size in [((3, 5), (7, 9)), ((6, 4), (4, 11)), ((2, 3, 4), (3, 5, 2))]:
        for ac in (False, True):
            op = rf.Resize(size=size, mode="linear", align_corners=ac)
            assert_same(op, _interp(size, None, "linear", ac, False, len(shape)), shape)


def test_resize_validation():
    with pytest.raises(rf.RFGraphError, match="mode='bilinearr' is unknown.*'nearest-exact'"):
        rf.Resize(size=4, mode="bilinearr")
    with pytest.raises(rf.RFGraphError, match="exactly one of size= and scale_factor="):
        rf.Resize()
    with pytest.raises(rf.RFGraphError, match="exactly one"):
        rf.Resize(size=3, scale_factor=2)
    with pytest.raises(rf.RFGraphError, match="align_corners=True needs"):
        rf.Resize(size=3, align_corners=True)
    with pytest.raises(rf.RFGraphError, match="positive number"):
        rf.Resize(scale_factor=-1.0)
    with pytest.raises(rf.RFGraphError, match="above rfgraph's limits"):
        build_plan(rf.Resize(scale_factor=1e9), (5,))


def test_adaptive_pool_matches_torch():
    for n in range(1, 12):
        for m in range(1, 14):
            assert_same(rf.AdaptivePool(m), lambda x, m=m: F.adaptive_avg_pool1d(x, m), (n,))
    assert_same(rf.AdaptivePool((3, None)), lambda x: F.adaptive_avg_pool2d(x, (3, None)), (7, 5))
    with pytest.raises(rf.RFGraphError, match="output_size=0"):
        rf.AdaptivePool(0)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_pixel_shuffle_and_unshuffle(r):
    for shape in [(2, 3), (4, 1)]:
        assert_same(rf.PixelShuffle(r), torch.nn.PixelShuffle(r), shape, channels=r * r)
        big = (shape[0] * r, shape[1] * r)
        assert_same(rf.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), big)
    if r > 1:
        with pytest.raises(rf.RFGraphError, match="not divisible by factor"):
            build_plan(rf.PixelUnshuffle(r), (r + 1, r))


def test_slice_flip_roll_match_torch():
    for n in (1, 4, 7):
        for start, stop, step in [(0, None, 2), (1, None, 2), (-3, None, 1), (1, -1, 1), (2, 100, 3), (-100, 2, 1)]:
            if not len(range(n)[slice(start, stop, step)]):
                with pytest.raises(rf.RFGraphError, match="is empty"):
                    build_plan(rf.Slice(start, stop, step), (n,))
                continue
            assert_same(rf.Slice(start, stop, step), lambda x, s=slice(start, stop, step): x[..., s], (n,))
    focus = rf.Slice(start=(0, 1), step=2)
    assert_same(focus, lambda x: x[..., 0::2, 1::2], (5, 6))
    assert_same(rf.Flip(), lambda x: torch.flip(x, (2, 3)), (3, 4))
    assert_same(rf.Flip(axes=-1), lambda x: torch.flip(x, (3,)), (3, 4))
    for shift in (0, 1, -2, 9):
        assert_same(rf.Roll(shift), lambda x, s=shift: torch.roll(x, s, 2), (5,))
    assert_same(rf.Roll((1, -3)), lambda x: torch.roll(x, (1, -3), (2, 3)), (3, 4))
    with pytest.raises(rf.RFGraphError, match="names axis 2"):
        build_plan(rf.Flip(axes=2), (3, 4))
    with pytest.raises(rf.RFGraphError, match="step=0"):
        rf.Slice(step=0)


def _attention(tokens):
    # tokens: (L, C) -> softmax(q k^T) v with q = k = v
    return torch.softmax(tokens @ tokens.T, dim=-1) @ tokens


def test_global_mix_is_self_attention():
    def attn(x):
        t = x.reshape(x.shape[1], -1).T
        return _attention(t).T.reshape(x.shape)

    assert_same(rf.GlobalMix(), attn, (3, 4), channels=2)


@pytest.mark.parametrize(
    "shape, window, shift, dilation",
    [
        ((8,), 4, 0, 1),
        ((8,), 4, 2, 1),
        ((6, 4), (3, 2), (1, 1), 1),
        ((6, 6), 3, 0, 1),
        ((12,), 3, 5, 2),  # dilated: windows of 3 positions 2 apart
        ((8, 6), (2, 3), (3, 0), (2, 2)),  # MaxViT grid attention on axis 0, MobileViT-like on 1
    ],
)
def test_window_mix_is_swin_shifted_window_attention(shape, window, shift, dilation):
    nd = len(shape)
    ws, sh, ds = (v if isinstance(v, tuple) else (v,) * nd for v in (window, shift, dilation))
    dims = tuple(range(2, 2 + nd))

    def swin(x):
        x = torch.roll(x, tuple(-s for s in sh), dims)
        c = x.shape[1]
        out = torch.zeros_like(x)
        # every block of w*d positions holds d windows: the positions congruent mod d
        firsts = ([b + r for b in range(0, n, w * d) for r in range(d)] for n, w, d in zip(shape, ws, ds, strict=True))
        for start in itertools.product(*firsts):
            idx = (slice(None), slice(None)) + tuple(slice(a, a + w * d, d) for a, w, d in zip(start, ws, ds))
            block = x[idx]
            t = block.reshape(c, -1).T
            out[idx] = _attention(t).T.reshape(block.shape)
        return torch.roll(out, sh, dims)

    assert_same(rf.WindowMix(window, shift=shift, dilation=dilation), swin, shape, channels=2)
    with pytest.raises(rf.RFGraphError, match="not a multiple of the window"):
        build_plan(rf.WindowMix(5), (8,))
    with pytest.raises(rf.RFGraphError, match=r"WindowMix .*axis 0 .*window \* dilation = 4 \* 2 = 8; pad"):
        build_plan(rf.WindowMix(4, dilation=2), (12,))


def test_broadcast_gate_and_spatial_concat():
    se = rf.Add(rf.Identity(), rf.Sequential(rf.GlobalPool(), rf.Conv(1)))
    expected, out_shape = jacobian_support(lambda x: x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True)), (3, 4))
    got, shape = relation(se, (3, 4))
    assert shape == out_shape and np.array_equal(got, expected)
    half = rf.Add(rf.Identity(), rf.AdaptivePool((None, 1)))  # broadcast on one axis only
    expected, _ = jacobian_support(lambda x: x + x.mean(dim=3, keepdim=True), (3, 4))
    assert np.array_equal(relation(half, (3, 4))[0], expected)
    cat = rf.Concat(rf.Identity(), rf.Pool((1, 2)), rf.Identity(), axis=1)
    expected, out_shape = jacobian_support(lambda x: torch.cat([x, F.avg_pool2d(x, (1, 2)), x], dim=3), (2, 4))
    got, shape = relation(cat, (2, 4))
    assert shape == out_shape == (2, 10) and np.array_equal(got, expected)
    with pytest.raises(rf.RFGraphError, match="or size 1 on an axis"):
        build_plan(rf.Add(rf.Identity(), rf.Pool(2)), (4, 4))
    with pytest.raises(rf.RFGraphError, match="equal sizes on the other axes"):
        build_plan(rf.Concat(rf.Identity(), rf.Pool(2), axis=0), (4, 4))
    with pytest.raises(rf.RFGraphError, match="not a spatial axis"):
        build_plan(rf.Concat(rf.Identity(), axis=2), (4, 4))


def test_new_ops_have_readable_names_and_errors_name_the_op():
    plan = build_plan(rf.Sequential(rf.Pad(1), rf.Resize(size=9), rf.Flip(), rf.Roll(1), rf.GlobalMix()), (5,))
    assert [t.name for t in plan.tensors] == ["input", "pad1", "resize1", "flip1", "roll1", "gmix1"]
    with pytest.raises(rf.RFGraphError, match=r"PixelUnshuffle 'u' .*not divisible"):
        build_plan(rf.Sequential(rf.PixelUnshuffle(2, name="u")), (5,))


def test_huge_maps_are_refused_before_allocation():
    for op, shape in [
        (rf.GlobalMix(), (200_000,)),
        (rf.WindowMix(100_000), (800_000,)),
        (rf.PixelShuffle(1000), (2000,)),
    ]:
        with pytest.raises(rf.RFGraphError, match="above rfgraph's limits|handles at most"):
            build_plan(op, shape)
