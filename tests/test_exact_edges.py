"""Regression tests of issue 24 (first half): wrong answers at the edges, each checked
against torch or against the exact fields of every position."""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf

torch = pytest.importorskip("torch")

from . import oracle_grid as og  # noqa: E402
from . import oracle_torch as ot  # noqa: E402


def _torch_reach(fn, shape, target, dtype=torch.float32):
    a = ot.jacobian_support(fn, shape, dtype=dtype)
    out = ot.out_shape(fn, shape)
    return a[np.ravel_multi_index(target, out)].reshape(shape)


@pytest.mark.parametrize("f", [3, 5])
def test_upsample_linear_odd_factor_matches_torch(f):
    # torch computes (o + 0.5) / f - 0.5 in float32: 1.49e-08 at o = 1 for f = 3, an edge
    assert rf.reach(rf.Upsample(3, mode="linear"), (4,), (1,)).astype(int).tolist() == [1, 1, 0, 0]
    up = torch.nn.Upsample(scale_factor=f, mode="linear")
    for n in (2, 4, 7):
        a = ot.jacobian_support(up, (n,), dtype=torch.float32)
        _, mine = ot.rf_support(rf.Upsample(f, mode="linear"), (n,))
        assert (a == mine).all()
    up2 = torch.nn.Upsample(scale_factor=f, mode="bilinear")
    a = ot.jacobian_support(up2, (3, 2), dtype=torch.float32)
    _, mine = ot.rf_support(rf.Upsample(f, mode="bilinear"), (3, 2))
    assert (a == mine).all()


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("scale", [0.9, 1.1])
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_resize_records_small_sizes(mode, scale, n):
    # Resize(0.9, linear) on (3,) said size 1, uniform; every output reads 2 pixels
    shape = (n,) if mode == "linear" else (n, n)
    op = rf.Resize(scale_factor=scale, mode=mode)
    fn = og.interp(scale_factor=scale, mode="linear" if mode == "linear" else "bicubic")
    a = ot.jacobian_support(fn, shape, dtype=torch.float32)
    out, mine = ot.rf_support(op, shape)
    assert (a == mine).all()
    rec = rf.receptive_field(op, shape)[-1]
    problems, _ = ot.record_problems(rec, a, shape, (False,) * len(shape), tight=False)
    assert not problems
    if (mode, scale, n) == ("linear", 0.9, 3):
        assert rec.size == (2,) and not rec.uniform


def test_bicubic_copies_only_when_no_axis_changes():
    # torch's bicubic kernel copies when the whole size is unchanged, not per axis
    for shape, scale in [((2, 2), 1.1), ((3, 4), (1.1, 1.5))]:
        fn = og.interp(scale_factor=scale, mode="bicubic")
        a = ot.jacobian_support(fn, shape, dtype=torch.float32)
        _, mine = ot.rf_support(rf.Resize(scale_factor=scale, mode="cubic"), shape)
        assert (a == mine).all()


def test_output_padding_only_then_global_pool_has_a_record():
    # was a bare AssertionError: the only output position is output padding (reads nothing)
    net = rf.Sequential(
        rf.ConvTranspose(1, stride=3, padding=1, output_padding=2), rf.Add(rf.Identity(), rf.GlobalPool())
    )
    recs = rf.receptive_field(net, (1,))
    assert recs[-1].size == (0,) and not recs[-1].global_context
    assert not rf.reach(net, (1,), (0,)).any()


def test_shifted_windows_record_is_measured_cyclically():
    # said 504 px; no position reaches more than 56 (SPEC section 2)
    net = rf.Sequential(
        rf.Conv(4, stride=4),
        rf.Residual(rf.WindowMix(7)),
        rf.Residual(rf.Sequential(rf.Roll(-3), rf.WindowMix(7), rf.Roll(3))),
    )
    rec = rf.receptive_field(net, (448,))[-1]
    assert rec.size == (56,)
    widest = 0
    for o in range(rec.shape[0]):
        hit = np.flatnonzero(rf.reach(net, (448,), (o,)))
        widest = max(widest, ot.cyclic_width(hit, 448))
    assert widest == 56


def test_records_never_wider_than_a_wrapping_axis():
    # taps o-2, o, o+2 of a circular axis of 2 all read o: one pixel, not 5 (nor 2)
    rec = rf.receptive_field(rf.Conv(3, padding=2, dilation=2, padding_mode="circular"), (2,))[-1]
    assert rec.size == (1,)
    # two rolls by 1 on 2 positions are the identity
    rec = rf.receptive_field(rf.Residual(rf.Sequential(rf.Roll(1), rf.Roll(1))), (2,))[-1]
    assert rec.size == (1,)
    rec = rf.receptive_field(rf.Sequential(rf.Roll(1), rf.Conv(3, padding=1, padding_mode="circular")), (2,))[-1]
    assert rec.size[0] <= 2


def test_reflect_padding_records_hold_the_pixels_read():
    # a reflected tap reads a pixel off the window: the record is no longer uniform
    for op in (rf.Pad(((0, 2),), mode="reflect"), rf.Conv(1, padding=((1, 0),), padding_mode="replicate")):
        a = ot.rf_support(op, (4,))[1]
        rec = rf.receptive_field(op, (4,))[-1]
        problems, _ = ot.record_problems(rec, a, (4,), (False,), tight=False)
        assert not problems and not rec.uniform
    # 'same' reflect padding stays inside the window: still uniform
    assert rf.receptive_field(rf.Conv(3, padding=1, padding_mode="reflect"), (6,))[-1].uniform


def test_concat_with_a_broadcast_branch_counts_it_when_not_global():
    # item 7, confirmed: a branch pooled to one column reaches every column of row 0 from
    # position (0, 1); the record said 1 wide (uniform); only global merges leave context out
    net = rf.Sequential(rf.Conv(1), rf.Concat(rf.Identity(), rf.Sequential(rf.AdaptivePool((14, 1)))))
    rec = rf.receptive_field(net, (14, 14))[-1]
    hit = np.argwhere(rf.reach(net, (14, 14), (0, 1)))
    assert hit[:, 1].max() - hit[:, 1].min() + 1 == 14
    assert rec.size == (1, 14) and not rec.uniform and not rec.global_context
    # a squeeze-and-excitation gate is global: the numbers stay those of the local part
    se = rf.Sequential(rf.Conv(3), rf.Residual(rf.Sequential(rf.GlobalPool(), rf.Conv(1))))
    rec = rf.receptive_field(se, (14, 14))[-1]
    assert rec.global_context and rec.size == (3, 3)


def test_ref_to_adaptive_pool_record():
    # item 7, the Ref form: Concat of Identity with a Ref to an adaptive pool
    net = rf.Sequential(
        rf.AdaptivePool((7, 1), name="ap"),
        rf.Resize(size=(7, 7), mode="nearest"),
        rf.Concat(rf.Identity(), rf.Ref("ap")),
    )
    shape = (14, 14)
    rec = rf.receptive_field(net, shape)[-1]
    reach = np.stack([rf.reach(net, shape, pos).ravel() for pos in np.ndindex(*rec.shape)])
    problems, widest = ot.record_problems(rec, reach, shape, (False, False), tight=True)
    assert not problems, problems
    assert rec.size == (2, 14)


@pytest.mark.parametrize("target", [np.array(2), np.int64(2), np.array([2])])
def test_numpy_scalar_targets(target):
    net = rf.Conv(3)
    expected = rf.contribution_map(net, (7,), target=(2,))
    assert (rf.contribution_map(net, (7,), target=target) == expected).all()
    assert (rf.reach(net, (7,), target=target) == (expected > 0)).all()


def test_bad_numpy_scalar_targets():
    for target in (np.array(2.5), np.array(True), np.array("2")):
        with pytest.raises(rf.RFGraphError):
            rf.contribution_map(rf.Conv(3), (7,), target=target)


def test_pad_then_two_resizes_3d_is_not_uniform():
    # item 7, the second candidate, confirmed: a zero pad, then linear x3 and x1/3 in 3-D was
    # called uniform while position (0, 0, 0) reads pixel 0, outside its interval [-1, -1]
    net = rf.Sequential(
        rf.Pad(((1, 0),) * 3), rf.Resize(scale_factor=3.0, mode="linear"), rf.Resize(scale_factor=1 / 3, mode="linear")
    )
    shape = (2, 2, 2)
    rec = rf.receptive_field(net, shape)[-1]
    reach = np.stack([rf.reach(net, shape, pos).ravel() for pos in np.ndindex(*rec.shape)])
    problems, _ = ot.record_problems(rec, reach, shape, (False,) * 3, tight=False)
    assert not problems, problems
