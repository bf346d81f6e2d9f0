"""The compiled sweep's window kernel against its CSR kernel, and its bound programs (issue 28).

A window map (output ``v`` reads ``v * stride + offset + j * dilation``, ``j < taps``, inside
the input) is pulled by ``_pull_window`` without reading the CSR arrays; every map it accepts
must give the same rows as ``_pull_rows`` (which reads them), for runs of one (the last axis)
and longer runs, and maps it does not accept must be refused (``taps == 0``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfgraph as rf
from rfgraph.engine import reference
from rfgraph.engine._kernels_sweep import _pull_rows, _pull_window, _pull_window_with
from rfgraph.engine._table import _window
from rfgraph.geometry import AxisMap


def _conv_map(n_in: int, n_out: int, stride: int, dilation: int, offset: int, taps: int) -> AxisMap:
    outs = np.repeat(np.arange(n_out), taps)
    ins = (np.arange(n_out)[:, None] * stride + offset + np.arange(taps)[None, :] * dilation).ravel()
    return AxisMap.from_pairs(n_in, n_out, outs, ins)


def _pull_both(m: AxisMap, params: tuple[int, int, int, int], pre: int, run: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 7, size=pre * m.n_out * run).astype(np.float64)
    base = rng.integers(0, 3, size=pre * m.n_in * run).astype(np.float64)  # pulls add into what is there
    want = base.copy()
    got = base.copy()
    _pull_rows(c, 0, want, 0, pre, m.n_out, m.n_in, run, m.indptr, m.indices, np.ones(m.nnz))
    _pull_window(c, 0, got, 0, pre, m.n_out, m.n_in, run, *params)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(
    n_in=st.integers(1, 20),
    n_out=st.integers(1, 12),
    stride=st.integers(0, 4),
    dilation=st.integers(1, 3),
    offset=st.integers(-6, 6),
    taps=st.integers(1, 7),
    pre=st.integers(1, 3),
    run=st.sampled_from([1, 2, 5]),
    seed=st.integers(0, 2**16),
)
def test_window_kernel_equals_csr_kernel(n_in, n_out, stride, dilation, offset, taps, pre, run, seed):
    m = _conv_map(n_in, n_out, stride, dilation, offset, taps)
    params = _window(m, weighted=False)
    inside = offset >= 0 and (n_out - 1) * stride + offset + (taps - 1) * dilation < n_in
    if params[3] == 0:
        # Clipping can hide the window (every row cut to one tap); an unclipped one is always found.
        assert not inside
        return
    _pull_both(m, params, pre, run, seed)


@pytest.mark.parametrize(
    "ins",
    [
        [[1, 0], [0], [0, 1]],  # reflect-padded taps: not ascending windows
        [[0], [0], [1], [1]],  # nearest up-sampling by 2: half-integer stride
        [[0, 2], [1, 2]],  # no common step
    ],
)
def test_other_maps_are_refused(ins):
    outs = np.concatenate([[v] * len(row) for v, row in enumerate(ins)])
    flat = np.concatenate([np.asarray(row) for row in ins])
    m = AxisMap.from_pairs(3, len(ins), outs, flat)
    assert _window(m, weighted=False)[3] == 0


def test_weighted_maps_keep_the_csr_kernel():
    m = _conv_map(8, 8, 1, 1, -1, 3).with_weights(np.full(22, 1 / 3))
    assert _window(m, weighted=True)[3] == 0
    assert _window(m, weighted=False)[3] == 3


# --------------------------------------------------------------------------- bound programs


RESNETISH = rf.Sequential(
    rf.Conv(7, stride=2, padding=3),
    rf.Pool(3, stride=2, padding=1),
    rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))),
    rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1))),
)


@pytest.mark.parametrize("net", [RESNETISH, rf.Sequential(*[rf.Conv(3)] * 6)], ids=["dag", "chain"])
@pytest.mark.parametrize("target", [None, (3, 2), "all"])
@pytest.mark.parametrize("weights", ["ones", "mean"])
def test_a_repeated_question_gets_the_same_fresh_answer(net, target, weights):
    plan = rf.build_plan(net, (40, 36))
    first = rf.engine.plan_contribution_map(plan, "paths", target, weights=weights)
    again = rf.engine.plan_contribution_map(plan, "paths", target, weights=weights)
    general = rf.engine.plan_contribution_map(
        plan, "paths", list(target) if isinstance(target, tuple) else target, weights=weights
    )
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, general)  # a list target never takes the bound program
    assert again is not first and again.flags.writeable
    again[...] = -1  # the caller owns it: the next answer is untouched
    np.testing.assert_array_equal(rf.engine.plan_contribution_map(plan, "paths", target, weights=weights), first)


def test_a_bound_program_hands_back_what_it_cannot_answer(monkeypatch):
    from rfgraph import engine

    deep = rf.Sequential(*[rf.Conv(9, padding=4) for _ in range(20)])
    for _ in range(2):  # beyond 2**53: exact ints every time with exact=None, rounded floats with False
        assert isinstance(rf.contribution_map(deep, (41,), "paths", exact=None)[20], int)
        rounded = rf.contribution_map(deep, (41,), "paths")
        assert rounded.dtype == np.float64 and rounded[20] > 2**53
    net = rf.Sequential(rf.Conv(3), rf.Conv(3))
    rf.contribution_map(net, (4000, 4000), "paths")
    monkeypatch.setattr(engine, "_available_memory", lambda: 1 << 20)
    with pytest.raises(rf.RFGraphError, match="try a smaller input such as"):
        rf.contribution_map(net, (4000, 4000), "paths")  # refused on the second asking too


@pytest.mark.parametrize("target", [(True, 1), (1.0, 1), (1, 1, 1)])
def test_look_alike_targets_are_not_the_bound_question(target):
    net = rf.Sequential(rf.Conv(3), rf.Conv(3))
    rf.contribution_map(net, (9, 9), "paths", target=(1, 1))
    with pytest.raises(rf.RFGraphError):
        rf.contribution_map(net, (9, 9), "paths", target=target)


@pytest.mark.parametrize("shape", [(23,), (17, 12), (13, 11, 12)])
@pytest.mark.parametrize("where", ["centre", "corner", "all"])
def test_a_chain_map_written_whole_equals_the_python_sweep(shape, where):
    # The chain kernel writes every value of the uncropped map (zeros outside the field's window).
    net = rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2, stride=2), rf.Conv(3, dilation=2), rf.Upsample(2))
    plan = rf.build_plan(net, shape)
    target = {"centre": None, "corner": tuple(0 for _ in shape), "all": "all"}[where]
    fast = rf.engine.plan_contribution_map(plan, "paths", target)
    python = rf.engine.plan_contribution_map(plan, "paths", target, method="separable")
    np.testing.assert_array_equal(fast, python)
    assert (fast == 0).any() or where == "all"


def test_the_last_question_answers_only_itself():
    # The last question is matched by identity alone: alternating networks, metrics, exactness
    # and endpoints with the same shape and target objects each get their own answer.
    a = rf.Sequential(rf.Conv(3, name="c1"), rf.Conv(3, name="c2"))
    b = rf.Sequential(rf.Conv(5, name="c1"), rf.Conv(3, name="c2"))
    shape, target = (11, 11), (2, 2)
    want_a = rf.engine.reference.contribution_map(a, shape, "paths", target)
    want_b = rf.engine.reference.contribution_map(b, shape, "paths", target)
    for _ in range(2):
        np.testing.assert_array_equal(rf.contribution_map(a, shape, "paths", target), want_a)
        np.testing.assert_array_equal(rf.contribution_map(b, shape, "paths", target), want_b)
        assert rf.contribution_map(b, shape, "paths", target, exact=True).dtype == object
        assert rf.contribution_map(b, shape, "edges", target).dtype == np.int64
        assert rf.contribution_map(b, shape, "paths", (0, 0), endpoint="c1").shape == shape
    del b
    c = rf.Sequential(rf.Conv(7, name="c1"), rf.Conv(3, name="c2"))  # perhaps at b's address
    np.testing.assert_array_equal(
        rf.contribution_map(c, shape, "paths", target), rf.engine.reference.contribution_map(c, shape, "paths", target)
    )


def test_the_same_objects_again_reach_the_bound_program_and_nothing_else():
    from rfgraph import engine
    from rfgraph.geometry import limits

    net = rf.Sequential(rf.Conv(3), rf.Conv(3))
    shape, target = (9, 9), (1, 1)
    first = rf.contribution_map(net, shape, "paths", target=target)
    assert any(entry[0]() is net for entry in engine._recent.RECENT.values())
    assert engine._recent.last[-2]() is net
    np.testing.assert_array_equal(rf.contribution_map(net, shape, "paths", target=target), first)
    with pytest.raises(rf.RFGraphError):  # equal to (1, 1) but a different object: the full path decides
        rf.contribution_map(net, shape, "paths", target=(True, 1))
    with pytest.raises(rf.RFGraphError):
        rf.contribution_map(net, (9.0, 9), "paths", target=target)
    old = limits.MAX_OPS
    try:
        limits.MAX_OPS = 1  # the limits are part of the question
        with pytest.raises(rf.RFGraphError, match="MAX_OPS"):
            rf.contribution_map(net, shape, "paths", target=target)
    finally:
        limits.MAX_OPS = old
    np.testing.assert_array_equal(rf.contribution_map(net, shape, "paths", target=target), first)


@pytest.mark.parametrize("kernel", [3, (3, 5), (5, 3)])
def test_a_square_chain_reuses_an_axis_only_when_its_maps_are_the_same(kernel):
    net = rf.Sequential(rf.Conv(kernel), rf.Pool(2, stride=2), rf.Conv(3))
    plan = rf.build_plan(net, (20, 20))
    fast = rf.engine.plan_contribution_map(plan, "paths", (2, 3))
    np.testing.assert_array_equal(fast, rf.engine.plan_contribution_map(plan, "paths", (2, 3), method="separable"))
    assert not (fast == fast.T).all()  # the target (2, 3) is off the diagonal: the axes' vectors differ


@pytest.mark.parametrize(
    ("net", "shape", "target"),
    [
        (rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2, stride=2), rf.Conv(3, padding=1)), (16, 16), None),
        (rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (15, 15), (1, 1)),  # both axes clipped alike
        # The same sizes along both axes, but the first link's taps start one apart (axis 0 clips
        # at the top border, axis 1 at the bottom): a shared vector would be wrong.
        (rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (15, 15), (0, 14)),
        (rf.Sequential(rf.Conv(3, padding=1), rf.Flip(0), rf.Conv(3, padding=1)), (16, 16), (3, 3)),
    ],
)
def test_a_square_chain_shares_a_vector_between_axes_only_when_their_geometry_agrees(net, shape, target):
    # Importers build one map per axis, so equal geometry is recognised by value, not by identity.
    plan = rf.build_plan(net, shape)
    fast = rf.engine.plan_contribution_map(plan, "paths", target)
    np.testing.assert_array_equal(fast, rf.engine.plan_contribution_map(plan, "paths", target, method="separable"))


@pytest.mark.parametrize("shape", [(40, 36), (90, 90)])  # the union window is the whole input / a part
def test_a_list_swept_one_column_at_a_time_equals_the_single_maps(monkeypatch, shape):
    from rfgraph.engine import _sweep

    monkeypatch.setattr(_sweep, "_BATCH_ROWS", 1)  # one seed column per sweep, as on large plans
    plan = rf.build_plan(RESNETISH, shape)
    targets = [(0, 0), (2, 3), (5, 4), (9, 8)]
    many = rf.engine.plan_contribution_map(plan, "paths", targets)
    for got, t in zip(many, targets):
        np.testing.assert_array_equal(got, rf.engine.plan_contribution_map(plan, "paths", t))


BIG_2D = rf.Sequential(
    rf.Conv(7, stride=2, padding=3),
    rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(5, padding=4, dilation=2))),
    rf.Conv(3, stride=2),
    rf.Residual(rf.Conv(3, padding=1)),
    rf.Conv(5, stride=2),
    rf.Residual(rf.Sequential(rf.Conv(5, padding=2), rf.Conv(5, padding=2))),
)


@pytest.mark.parametrize("shape", [(150, 131), (97, 260)])
def test_large_2d_links_swept_in_bands_equal_the_python_sweep(shape):
    # A list whose fields cover the input sweeps the whole plan (the compiled dense sweep, one
    # seed column each); its large links are x-pulled band by band of destination rows
    # (rfgraph.engine._kernels_sweep._BAND_VALUES): strides, dilation, clipping at the borders.
    plan = rf.build_plan(BIG_2D, shape)
    h, w = plan.output.shape
    targets = [(0, 0), (h - 1, w - 1), (h // 2, w // 3), (0, w - 1)]
    fast = rf.engine.plan_contribution_map(plan, "paths", targets)
    from rfgraph.engine import _sweep

    union = _sweep._union_crop(plan, tuple(targets))
    assert union is not None and union[0].tensors[1].size * 2 > 4096  # one crop, larger than a band
    for got, t in zip(fast, targets):
        np.testing.assert_array_equal(got, rf.engine.plan_contribution_map(plan, "paths", t, method="separable"))


_REPEATED = [
    pytest.param(rf.Sequential(*[rf.Conv(3) for _ in range(5)]), (15, 15), id="chain"),
    # The target's field is the whole input (the sweep's own map is returned) or a part of it.
    pytest.param(rf.Sequential(rf.Conv(3), rf.Residual(rf.Conv(3, padding=1)), rf.Conv(3)), (7, 7), id="dense"),
    pytest.param(rf.Sequential(rf.Conv(3), rf.Residual(rf.Conv(3, padding=1)), rf.Conv(3)), (20, 20), id="cropped"),
]


@pytest.mark.parametrize("net, shape", _REPEATED)
def test_a_held_answer_is_never_written_again(net, shape):
    # A bound program hands its last map's memory out again only once nothing refers to it.
    first = rf.contribution_map(net, shape, "paths")
    expected = first.copy()
    view = rf.contribution_map(net, shape, "paths")[1:]
    exported = memoryview(rf.contribution_map(net, shape, "paths"))
    later = [rf.contribution_map(net, shape, "paths") for _ in range(3)]
    assert np.array_equal(first, expected) and np.array_equal(view, expected[1:])
    assert np.array_equal(np.asarray(exported), expected)
    for arr in later:
        assert np.array_equal(arr, expected)
        assert not np.shares_memory(arr, first) and not np.shares_memory(arr, view)
        assert not np.shares_memory(arr, np.asarray(exported))
    assert len({arr.ctypes.data for arr in later}) == 3
    first[...] = -1.0  # the caller owns what it holds
    assert np.array_equal(rf.contribution_map(net, shape, "paths"), expected)


@pytest.mark.parametrize("net, shape", _REPEATED)
def test_a_released_answer_s_memory_serves_the_next_one(net, shape):
    rf.contribution_map(net, shape, "paths")
    addresses = {rf.contribution_map(net, shape, "paths").ctypes.data for _ in range(4)}
    assert len(addresses) == 1


@pytest.mark.parametrize("net, shape", _REPEATED)
def test_threads_asking_one_bound_question_get_their_own_answers(net, shape):
    import threading

    expected = reference.contribution_map(net, shape, "paths")
    rf.contribution_map(net, shape, "paths")
    wrong: list[int] = []

    def ask() -> None:
        for _ in range(200):
            if not np.array_equal(rf.contribution_map(net, shape, "paths"), expected):
                wrong.append(1)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


@pytest.mark.parametrize("zero", [True, False])
def test_three_tap_stride_two_rows_equal_the_taps_summed_one_by_one(zero):
    # The one-pass kernel of stems and downsampling convolutions, every clipping of both ends.
    work = np.empty(64, dtype=np.int64)
    rng = np.random.default_rng(3)
    for n_out in range(1, 9):
        for n_in in range(1, 21):
            for offset in range(-4, 4):
                pre = 2
                c = rng.integers(0, 5, size=pre * n_out).astype(np.float64)
                got = rng.integers(0, 3, size=pre * n_in).astype(np.float64)
                expected = np.zeros_like(got) if zero else got.copy()
                for p in range(pre):
                    for v in range(n_out):
                        for j in range(3):
                            if 0 <= 2 * v + offset + j < n_in:
                                expected[p * n_in + 2 * v + offset + j] += c[p * n_out + v]
                _pull_window_with(c, 0, got, 0, pre, n_out, n_in, 1, 2, 1, offset, 3, zero, work)
                assert np.array_equal(got, expected), (n_out, n_in, offset)


@pytest.mark.parametrize("taps", [3, 5, 7])
@pytest.mark.parametrize("zero", [True, False])
def test_three_five_and_seven_tap_stride_one_rows_equal_the_taps_summed_one_by_one(taps, zero):
    # The one-pass kernel of depthwise convolutions (7 taps: ConvNeXt), every clipping of both ends.
    work = np.empty(64, dtype=np.int64)
    rng = np.random.default_rng(5)
    for n_out in range(1, 9):
        for n_in in range(1, 16):
            for offset in range(-taps - 1, 4):
                c = rng.integers(0, 5, size=2 * n_out).astype(np.float64)
                got = rng.integers(0, 3, size=2 * n_in).astype(np.float64)
                expected = np.zeros_like(got) if zero else got.copy()
                for p in range(2):
                    for v in range(n_out):
                        for j in range(taps):
                            if 0 <= v + offset + j < n_in:
                                expected[p * n_in + v + offset + j] += c[p * n_out + v]
                _pull_window_with(c, 0, got, 0, 2, n_out, n_in, 1, 1, 1, offset, taps, zero, work)
                assert np.array_equal(got, expected), (n_out, n_in, offset)


def test_the_peak_of_a_map_is_its_largest_magnitude():
    from rfgraph.engine._kernels_rows import _peak

    rng = np.random.default_rng(7)
    for n in (0, 1, 3, 4, 5, 17, 1000):
        x = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n)
        assert _peak(x) == (np.abs(x).max() if n else 0.0)
    assert _peak(np.array([-0.0, 5e-324])) == 5e-324 and _peak(np.array([2.0, -np.inf])) == np.inf


def test_a_bound_dense_program_hands_back_counts_beyond_float_exactness():
    from rfgraph.engine import _sweep
    from rfgraph.engine._questions import _cropped

    net = rf.Sequential(*[rf.Residual(rf.Conv(9, padding=4)) for _ in range(20)], rf.Conv(3))
    plan = rf.build_plan(net, (61, 7))
    assert _sweep._kind(_cropped(plan, (29, 2))[0]) == "dense"
    for _ in range(2):  # the bound program's peak (from its kernel) sends exact=None to exact ints
        exact = rf.contribution_map(net, (61, 7), "paths", exact=None)
        assert exact.dtype == object and max(exact.ravel()) > 2**53
        rounded = rf.contribution_map(net, (61, 7), "paths")
        assert rounded.dtype == np.float64 and rounded.max() > 2**53
        assert np.allclose(rounded, exact.astype(np.float64), rtol=1e-12, atol=0)  # rounded, not exact


@pytest.mark.parametrize("taps", [3, 5, 7])
def test_same_length_rows_swept_as_one_run_equal_the_taps_summed_one_by_one(taps):
    # Assigning several rows of one length at once: the ends each row's neighbours spoil are written again.
    work = np.empty(64, dtype=np.int64)
    rng = np.random.default_rng(11)
    for n in range(1, 12):
        for pre in (2, 3, 7):
            for offset in range(-taps - 1, 4):
                c = rng.integers(0, 5, size=pre * n).astype(np.float64)
                got = np.full(pre * n, np.nan)
                expected = np.zeros(pre * n)
                for p in range(pre):
                    for v in range(n):
                        for j in range(taps):
                            if 0 <= v + offset + j < n:
                                expected[p * n + v + offset + j] += c[p * n + v]
                _pull_window_with(c, 0, got, 0, pre, n, n, 1, 1, 1, offset, taps, True, work)
                assert np.array_equal(got, expected), (n, pre, offset)
