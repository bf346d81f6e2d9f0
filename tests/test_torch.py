"""Path counts equal torch autograd on the all-ones linear network; output sizes equal torch's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import rfgraph as rf
from rfgraph.importers.to_torch import paths_by_autograd

from .nets import resnet_like, vgg16_like
from .strategies import cases

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "name, net, shape",
    [
        ("vgg16", vgg16_like(), (224, 224)),
        ("resnet50", resnet_like((3, 4, 6, 3)), (224, 224)),
        ("resnet18-1d", resnet_like((2, 2, 2, 2), bottleneck=False), (97,)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_paths_equal_autograd_on_real_shapes(name, net, shape):
    ours = rf.contribution_map(net, shape, "paths")
    theirs = paths_by_autograd(net, shape)
    assert ours.max() > 1e6  # big enough to mean something
    assert np.array_equal(ours, theirs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(cases(ndim=2, max_ops=4, max_size=9, upsample_linear=False))
def test_paths_equal_autograd_on_random_networks(case):
    net, shape, target = case
    assert np.array_equal(rf.contribution_map(net, shape, "paths", target), paths_by_autograd(net, shape, target))


def _torch_out(module, n, ndim):
    x = torch.zeros((1, 1) + (n,) * ndim)
    return module(x).shape[2:]


@pytest.mark.parametrize("n", [5, 6, 7, 8, 13, 14])
@pytest.mark.parametrize(
    "k, s, p, d", [(3, 1, 0, 1), (3, 2, 1, 1), (4, 2, 1, 1), (3, 2, 0, 2), (5, 3, 2, 1), (1, 2, 0, 1)]
)
def test_conv_and_pool_sizes_equal_torch(n, k, s, p, d):
    for ndim in (1, 2):
        conv = getattr(torch.nn, f"Conv{ndim}d")(1, 1, k, stride=s, padding=p, dilation=d)
        if (n + 2 * p - d * (k - 1) - 1) < 0:
            with pytest.raises(rf.RFGraphError, match="output size would be"):
                rf.build_plan(rf.Conv(k, stride=s, padding=p, dilation=d), (n,) * ndim)
            continue
        ours = rf.build_plan(rf.Conv(k, stride=s, padding=p, dilation=d), (n,) * ndim).output.shape
        assert ours == tuple(_torch_out(conv, n, ndim))
        if 2 * p <= k:
            for ceil in (False, True):
                pool = getattr(torch.nn, f"MaxPool{ndim}d")(k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
                ours = rf.build_plan(rf.Pool(k, stride=s, padding=p, dilation=d, ceil_mode=ceil), (n,) * ndim)
                assert ours.output.shape == tuple(_torch_out(pool, n, ndim)), ceil


@pytest.mark.parametrize("n", [3, 4, 7])
@pytest.mark.parametrize(
    "k, s, p, d, op", [(3, 1, 0, 1, 0), (4, 2, 1, 1, 0), (3, 2, 1, 1, 1), (3, 3, 0, 2, 1), (2, 2, 0, 1, 0)]
)
def test_conv_transpose_sizes_equal_torch(n, k, s, p, d, op):
    deconv = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, dilation=d, output_padding=op)
    ours = rf.build_plan(rf.ConvTranspose(k, stride=s, padding=p, dilation=d, output_padding=op), (n, n))
    assert ours.output.shape == tuple(_torch_out(deconv, n, 2))


@pytest.mark.parametrize("n", [4, 5, 7])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample_edges_equal_torch_nonzero_weights(n, mode):
    # Linear interpolation: the graph's edges are the non-zero weights of torch's operator, in the
    # float32 arithmetic torch uses by default (issue 24: at odd factors it gives weights of 1.49e-08
    # that float64 coordinates would make exactly 0; torch's gradient reaches through them).
    for f in (2, 3):
        plan = rf.build_plan(rf.Upsample(f, mode=mode), (n,))
        m = plan.output.links[0].maps[0]
        eye = torch.eye(n, dtype=torch.float32).reshape(n, 1, n)
        torch_mode = "linear" if mode == "linear" else "nearest"
        kwargs = {"align_corners": False} if mode == "linear" else {}
        weights = torch.nn.functional.interpolate(eye, scale_factor=f, mode=torch_mode, **kwargs)[:, 0, :]
        assert np.array_equal(m.dense(), (weights.T.numpy() > 0))


def test_same_padding_matches_tensorflow_rule():
    # TF "same": out = ceil(n/s), total pad max((out-1)*s + k - n, 0), extra pad on the right.
    for n in (6, 7):
        plan = rf.build_plan(rf.Conv(3, stride=2, padding="same"), (n,))
        g = plan.output.geometry
        assert plan.output.shape == (-(-n // 2),)
        expected_total = max((-(-n // 2) - 1) * 2 + 3 - n, 0)
        assert sum(g.pads[0]) == expected_total and g.pads[0][1] - g.pads[0][0] in (0, 1)
        # and torch with that explicit padding agrees on the output size
        conv = torch.nn.Conv1d(1, 1, 3, stride=2)
        x = torch.nn.functional.pad(torch.zeros(1, 1, n), g.pads[0])
        assert conv(x).shape[2] == plan.output.shape[0]
