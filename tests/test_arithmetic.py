"""Receptive-field arithmetic: seed 001's AlexNet table, VGG sizes, per-axis, multi-path."""

from __future__ import annotations

from fractions import Fraction

import pytest

import rfgraph as rf

from .nets import resnet_like, vgg16_like

ALEXNET = [
    [11, 4, 0],
    [3, 2, 0],
    [5, 1, 2],
    [3, 2, 0],
    [3, 1, 1],
    [3, 1, 1],
    [3, 1, 1],
    [3, 2, 0],
    [6, 1, 0],
    [1, 1, 0],
]
NAMES = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6-conv", "fc7-conv"]
# n, jump, size, start of every layer, from seed 001's program run on 227x227
SEED_TABLE = {
    "conv1": (55, 4, 11, 5.5),
    "pool1": (27, 8, 19, 9.5),
    "conv2": (27, 8, 51, 9.5),
    "pool2": (13, 16, 67, 17.5),
    "conv3": (13, 16, 99, 17.5),
    "conv4": (13, 16, 131, 17.5),
    "conv5": (13, 16, 163, 17.5),
    "pool5": (6, 32, 195, 33.5),
    "fc6-conv": (1, 32, 355, 113.5),
    "fc7-conv": (1, 32, 355, 113.5),
}


def seed_alexnet() -> rf.Sequential:
    layers = []
    for (k, s, p), name in zip(ALEXNET, NAMES):
        cls = rf.Pool if name.startswith("pool") else rf.Conv
        layers.append(cls(k, stride=s, padding=p, name=name))
    return rf.Sequential(*layers)


def seed001_program(convnet, imsize):
    """Seed 001's recurrences, restated: n, jump, size, start per layer."""
    n, j, r, start = imsize, 1, 1, 0.5
    out = []
    for k, s, p in convnet:
        n_out = (n - k + 2 * p) // s + 1
        actual_p = (n_out - 1) * s - n + k
        p_left = actual_p // 2
        n, j, r, start = n_out, j * s, r + (k - 1) * j, start + ((k - 1) / 2 - p_left) * j
        out.append((n, j, r, start))
    return out


def test_seed001_alexnet_table():
    records = rf.receptive_field(seed_alexnet(), (227, 227))
    assert [r.name for r in records] == ["input", *NAMES]
    for rec in records[1:]:
        n, jump, size, start = SEED_TABLE[rec.name]
        assert rec.shape == (n, n) and rec.stride == (jump, jump) and rec.size == (size, size)
        assert rec.start == (start, start)
        assert rec.center == (start - 0.5, start - 0.5) and rec.aligned
    assert [SEED_TABLE[name] for name in NAMES] == seed001_program(ALEXNET, 227)


def _vgg(blocks):
    ops = []
    for n in blocks:
        ops += [rf.Conv(3, padding=1)] * n + [rf.Pool(2)]
    return rf.Sequential(*ops, rf.Conv(7, name="fc6"))


@pytest.mark.parametrize(
    "blocks, pool5, fc6",
    [
        ((2, 2, 2, 2, 2), 156, 348),  # VGG-13; seed 003 quotes 348
        ((2, 2, 3, 3, 3), 212, 404),  # VGG-16
        ((2, 2, 4, 4, 4), 268, 460),  # VGG-19: 268 + 6 * 32 (the 444 does not follow from the arithmetic)
    ],
    ids=["vgg13", "vgg16", "vgg19"],
)
def test_vgg_sizes(blocks, pool5, fc6):
    records = rf.receptive_field(_vgg(blocks), (224, 224))
    assert records[-2].size == (pool5, pool5) and records[-1].size == (fc6, fc6)
    assert records[-1].stride == (32, 32)


def test_per_axis_parameters():
    net = rf.Sequential(rf.Conv((3, 5), stride=2), rf.Conv((3, 1), stride=2))
    last = rf.receptive_field(net, (32, 32))[-1]
    assert last.size == (7, 5) and last.stride == (4, 4)


def test_misaligned_two_branch_network():
    net = rf.Add(rf.Conv(2, padding=((0, 1),)), rf.Conv(2, padding=((1, 0),)))
    records = rf.receptive_field(net, (10,))
    assert records[1].aligned and records[2].aligned
    assert not records[-1].aligned and records[-1].size == (3,)
    # and the flag propagates downstream
    assert not rf.receptive_field(rf.Sequential(net, rf.Conv(3)), (10,))[-1].aligned


def test_aligned_residual_network_takes_union():
    records = rf.receptive_field(resnet_like((3, 4, 6, 3)), (224, 224))
    last = records[-1]
    assert last.aligned and last.stride == (32, 32)
    assert last.size == (427, 427)  # torchvision ResNet-50's classic figure
    # union over paths: a residual block is as large as its body
    block = rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)))
    assert rf.receptive_field(block, (9,))[-1].size == (5,)


def test_dilation_uses_effective_kernel():
    rec = rf.receptive_field(rf.Sequential(rf.Conv(3), rf.Conv(3, dilation=2)), (32,))[-1]
    assert rec.size == (7,)  # 3 + (5 - 1)


def test_transposed_convolution_fractional_stride():
    net = rf.Sequential(rf.Conv(3, stride=2, padding=1), rf.ConvTranspose(4, stride=2, padding=1))
    records = rf.receptive_field(net, (16,))
    assert records[1].stride == (2,) and records[2].stride == (1,)
    up = rf.receptive_field(rf.Sequential(rf.Conv(3), rf.Upsample(2)), (8,))[-1]
    assert up.stride == (Fraction(1, 2),) and up.size == (3,)
    deconv = rf.receptive_field(rf.ConvTranspose(4, stride=2, padding=1), (8,))[-1]
    assert deconv.stride == (Fraction(1, 2),) and deconv.size == (2,)


def test_records_agree_with_the_exact_reach():
    # the classic field of the centre target contains the exact reach (equal away from borders)
    net = vgg16_like()
    rec = rf.receptive_field(net, (224, 224))[-1]
    mask = rf.reach(net, (224, 224))
    rows = mask.any(axis=1).nonzero()[0]
    centre = rec.shape[0] // 2
    lo = centre * rec.stride[0] - rec.padding[0]
    assert rows[0] == max(lo, 0) and rows[-1] == min(lo + rec.size[0] - 1, 223)


def test_different_branch_strides_give_a_record():
    # SPEC section 5 (issue 10): the table never refuses; such merges are not uniform.
    net = rf.Add(rf.Conv(1, stride=2), rf.Conv(1))  # both give one output from one input
    rec = rf.receptive_field(net, (1,))[-1]
    assert rec.shape == (1,) and rec.size == (1,)
    # pool3 then a resize back to 8: stride 3/4 against the identity's 1
    rec = rf.receptive_field(rf.Add(rf.Identity(), rf.Sequential(rf.Pool(3), rf.Resize(size=8))), (8,))[-1]
    assert not rec.uniform and not rec.global_context and rec.size == (5,)  # output 7 sees 3..7


def test_table_text_and_dict():
    text = rf.format_table(rf.receptive_field(seed_alexnet(), (227, 227)))
    assert "fc6-conv" in text and "113.5" in text and "355" in text
    assert rf.receptive_field(rf.Conv(3), (5,))[-1].as_dict()["size"] == [3]
