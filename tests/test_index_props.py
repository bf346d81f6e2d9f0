"""Property tests of the index-map ops: the engine equals the networkx reference on random
networks mixing them, and the receptive-field records (size, uniform, global_context)
agree with the exact fields (rf.reach) of interior positions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import rfgraph as rf
from rfgraph.answers.borders import axis_fields
from rfgraph.arithmetic import _fields, plan_receptive_field

from .strategies import cases, dilated_windows, local_networks
from .test_engine import _check_against_reference

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@settings(max_examples=150, **SETTINGS)
@given(cases(ndim=1, max_ops=5, max_size=12, extended=True))
def test_random_1d_networks_with_index_ops_equal_reference(case):
    _check_against_reference(*case)


@settings(max_examples=60, **SETTINGS)
@given(cases(ndim=2, max_ops=3, max_size=5, extended=True))
def test_random_2d_networks_with_index_ops_equal_reference(case):
    _check_against_reference(*case)


@settings(max_examples=60, **SETTINGS)
@given(cases(ndim=1, max_ops=2, max_size=12, extended=True, dilated_window=True))
def test_random_networks_with_a_dilated_window_equal_reference(case):
    _check_against_reference(*case)


@settings(max_examples=100, **SETTINGS)
@given(local_networks(ndim=1), st.integers(24, 60))
def test_records_agree_with_exact_fields_1d(net, n):
    _records_agree(net, n)


@settings(max_examples=40, **SETTINGS)
@given(local_networks(ndim=1, max_ops=2), dilated_windows(), local_networks(ndim=1, max_ops=2), st.integers(24, 60))
def test_records_agree_with_exact_fields_around_a_dilated_window(before, window, after, n):
    _records_agree(rf.Sequential(before, window, after), n)


def _records_agree(net, n):
    try:
        plan = rf.build_plan(net, (n,))
    except rf.RFGraphError:
        reject()
    if plan.output.size > 80 or plan.num_edges > 40_000:
        reject()
    records = plan_receptive_field(plan)
    rec = records[-1]
    fields, _ = _fields(plan)
    model = fields[-1][0]
    margin = max(r.size[0] for r in records)
    n_out = plan.output.shape[0]
    exact = {}
    for o in range(n_out):
        mask = rf.reach(net, (n,), (o,))
        idx = np.nonzero(mask)[0]
        exact[o] = (mask, (int(idx[0]), int(idx[-1])) if idx.size else None)
    # global_context: every position reaches every input pixel (exact in 1-D)
    assert rec.global_context == all(mask.all() for mask, _ in exact.values()), net
    interior = [o for o in range(n_out) if (iv := model.at(o)) is not None and iv[0] >= margin and iv[1] < n - margin]
    for o in interior:
        assert exact[o][1] == model.at(o), (net, o)
        assert exact[o][1][1] - exact[o][1][0] + 1 <= rec.size[0]
    if rec.uniform and not rec.global_context and interior:
        sizes = {exact[o][1][1] - exact[o][1][0] for o in interior}
        assert sizes == {rec.size[0] - 1}, net
        for o in interior:
            centre = (exact[o][1][0] + exact[o][1][1]) / 2
            assert centre == rec.center[0] + o * rec.stride[0], (net, o)
    holes = any(lo is None for lo in model.lo)  # positions without a field (e.g. stride-2 deconv1)
    if len(interior) >= 2 * max(model.q, 1) + 2 and not rec.uniform and not model.irregular and not holes:
        # a regular window would step by the stride: some interior pair contradicts it
        starts = [exact[o][1] for o in interior]
        spans = {b - a for a, b in starts}
        steps = {(starts[i + 1][0] + starts[i + 1][1]) - (starts[i][0] + starts[i][1]) for i in range(len(starts) - 1)}
        assert len(spans) > 1 or len(steps) > 1, net


@settings(max_examples=40, **SETTINGS)
@given(local_networks(ndim=2, max_ops=4), st.integers(9, 14))
def test_global_context_is_sound_2d(net, n):
    try:
        plan = rf.build_plan(net, (n, n))
    except rf.RFGraphError:
        reject()
    if plan.output.size > 40 or plan.num_edges > 60_000:
        reject()
    rec = plan_receptive_field(plan)[-1]
    out = plan.output.shape
    corners = {(0, 0), (out[0] - 1, out[1] - 1), (out[0] // 2, out[1] // 2)}
    if rec.global_context:
        for target in corners:
            assert rf.reach(net, (n, n), target).all(), net


def test_issue_examples():
    recs = rf.receptive_field(rf.parse_spec("conv3s2p1,deconv4s2p1"), (64,))
    assert not recs[-1].uniform and recs[1].uniform
    centres = []
    for o in range(20, 25):
        idx = np.nonzero(rf.reach(rf.parse_spec("conv3s2p1,deconv4s2p1"), (64,), (o,)))[0]
        centres.append((idx[0] + idx[-1]) / 2)
    assert centres == [19, 21, 21, 23, 23]  # the issue's example: irregular steps
    unet = rf.receptive_field(rf.zoo.build("unet"), (572, 572))[-1]
    assert unet.size == (204, 204) and not unet.uniform
    se = rf.Sequential(rf.Conv(3, padding=1), rf.Add(rf.Identity(), rf.Sequential(rf.GlobalPool(), rf.Conv(1))))
    rec = rf.receptive_field(se, (32, 32))[-1]
    assert rec.global_context and rec.uniform and rec.size == (3, 3) and rec.stride == (1, 1)
    coord = rf.Add(rf.Identity(), rf.AdaptivePool((None, 1)), rf.AdaptivePool((1, None)))
    assert not rf.receptive_field(coord, (6, 6))[-1].global_context  # a plus-shaped field
    assert rf.receptive_field(rf.GlobalMix(), (6, 6))[-1].global_context
    assert not rf.receptive_field(rf.Sequential(rf.Conv(1, stride=2), rf.GlobalPool()), (7,))[-1].global_context


def test_deeplab_table_at_129():
    records = rf.receptive_field(rf.zoo.build("deeplabv3_resnet50", input_size=129), (129, 129))
    cat = next(r for r in records if r.name == "classifier.0.cat")
    assert cat.stride == (8, 8) and cat.global_context
    text = rf.format_table(records)
    assert "uniform" in text and "global" in text
    assert records[-1].as_dict()["global_context"] is True


@pytest.mark.parametrize("shift", [0, 1, 5])
def test_dilated_window_map_matches_its_definition(shift):
    n, w, d = 12, 3, 2
    plan = rf.build_plan(rf.WindowMix(w, shift=shift, dilation=d), (n,))
    (m,), field = plan.tensors[1].links[0].maps, _fields(plan)[0][-1][0]
    borders = axis_fields(plan)[0]
    assert borders.align == w * d and not borders.left.any()

    def key(x):  # in the rolled coordinate: the block of w*d positions and the residue mod d
        y = (x - shift) % n
        return y // (w * d), y % d

    for o in range(n):
        expected = [x for x in range(n) if key(x) == key(o)]
        assert m.inputs_of(o).tolist() == expected, (shift, o)
        # the arithmetic's field (unbounded input) is the hull of the window where it does not wrap
        # a window meets the border when it wraps around (read at x = q + shift - n)
        assert borders.right[o] == any((x - shift) % n + shift >= n for x in expected), (shift, o)
        if expected[-1] - expected[0] < w * d:
            assert field.at(o) == (expected[0], expected[-1]), (shift, o)
    assert rf.build_plan(rf.WindowMix(1, shift=shift, dilation=4), (n,)).tensors[1].links[0].maps[0].nnz == n
    everything = rf.build_plan(rf.WindowMix(n, shift=shift), (n,)).tensors[1].links[0].maps[0]
    assert everything.nnz == n * n
