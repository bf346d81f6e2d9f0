"""Spec strings and JSON round trips of the index-map ops."""

from __future__ import annotations

import json

import pytest

import rfgraph as rf
from rfgraph.spec import GRAMMAR, network_from_dict, network_to_dict, parse_spec

FORMS = {
    "conv3p1reflect": rf.Conv(3, padding=1, padding_mode="reflect"),
    "pad2": rf.Pad(2),
    "pad1x2circular": rf.Pad((1, 2), mode="circular"),
    "resize17": rf.Resize(size=17),
    "resize17x9linear": rf.Resize(size=(17, 9), mode="linear"),
    "resize0.5": rf.Resize(scale_factor=0.5),
    "resize2.0bilinear": rf.Resize(scale_factor=2.0, mode="linear"),
    "resize1.5cubicacrs": rf.Resize(scale_factor=1.5, mode="cubic", align_corners=True, recompute_scale_factor=True),
    "resize3exact": rf.Resize(size=3, mode="nearest-exact"),
    "resize3area": rf.Resize(size=3, mode="area"),
    "apool7": rf.AdaptivePool(7),
    "apool7x5": rf.AdaptivePool((7, 5)),
    "shuffle2": rf.PixelShuffle(2),
    "unshuffle2": rf.PixelUnshuffle(2),
    "slice0x1s2": rf.Slice(start=(0, 1), step=2),
    "slice1to-1": rf.Slice(1, -1),
    "slice-3": rf.Slice(-3),
    "flip": rf.Flip(),
    "flip1": rf.Flip(1),
    "roll3x-3": rf.Roll((3, -3)),
    "gmix": rf.GlobalMix(),
    "wmix7": rf.WindowMix(7),
    "wmix7s3": rf.WindowMix(7, shift=3),
    "wmix7d2": rf.WindowMix(7, dilation=2),
    "wmix7s3d2": rf.WindowMix(7, shift=3, dilation=2),
    "wmix4x2d2x1": rf.WindowMix((4, 2), dilation=(2, 1)),
    "cat1(id|pool2)": rf.Concat(rf.Identity(), rf.Pool(2), axis=1),
    "cat(id|conv1)": rf.Concat(rf.Identity(), rf.Conv(1)),
    "slice0s2:focus": rf.Slice(step=2, name="focus"),
}


@pytest.mark.parametrize("text", list(FORMS))
def test_spec_forms(text):
    assert parse_spec(text) == rf.Sequential(FORMS[text])


def test_json_round_trip_of_every_new_op():
    net = rf.Sequential(*FORMS.values())
    assert network_from_dict(json.loads(json.dumps(network_to_dict(net)))) == net
    data = [{"type": "window_mix", "window": 4, "shift": 2}, {"type": "adaptive_pool", "output_size": [3, None]}]
    assert network_from_dict(data) == rf.Sequential(rf.WindowMix(4, shift=2), rf.AdaptivePool((3, None)))


def test_grammar_lists_the_new_forms():
    for word in ("pad1x2reflect", "resize0.5", "apool7", "shuffle2", "slice0x1s2", "flip", "roll3", "gmix", "wmix7s3"):
        assert word in GRAMMAR
    assert "cat1(" in GRAMMAR and "wmix7s3d2" in GRAMMAR


@pytest.mark.parametrize(
    "text, message",
    [
        ("resize2rs", "rs .recompute_scale_factor. needs a scale"),
        ("resize2ac", "align_corners=True needs mode"),
        ("wmix", "cannot read layer"),
        ("roll3s2", "cannot read layer"),
        ("roll3d2", "cannot read layer"),
        ("wmix4d0", "dilation=0 must be >= 1"),
        ("pad1mirror", "cannot read layer"),
        ("apool0", "output_size=0"),
        ("resizefoo", "cannot read layer"),
    ],
)
def test_bad_forms(text, message):
    with pytest.raises(rf.RFGraphError, match=message):
        parse_spec(text)
