"""rf.from_torch on the constructs of issues 10 and 19, each checked against torch autograd.

Every small model here is imported and ``rf.reach`` of the centre output is compared with the
support of the input gradient of its linearised float64 copy (``rfgraph.importers._support``);
the expected op is asserted where the translation itself matters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rfgraph as rf

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _exact(module: Any, shape: tuple[int, ...] = (15, 15), **options: Any) -> rf.Op:
    from rfgraph.importers._support import compare_reach

    (check,) = compare_reach(module, shape, **options)
    assert check.equal, check.describe()
    return check.network


def _kinds(net: rf.Op) -> list[str]:
    return [type(op).__name__ for op in net.ops]


class _SE(nn.Module):
    """Squeeze-and-excitation: x * sigmoid(fc(relu(fc(mean(x)))))."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, c, 3, padding=1)
        self.fc1 = nn.Conv2d(c, 2, 1)
        self.fc2 = nn.Conv2d(2, c, 1)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
        return y * s


class _ECA(nn.Module):
    """ECA: a conv1d across channels of the pooled vector (squeeze, transpose, unsqueeze)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.eca = nn.Conv1d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        g = F.adaptive_avg_pool2d(y, 1)
        g = self.eca(g.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return y * g.sigmoid().expand_as(y)


class _CBAM(nn.Module):
    """CBAM: a channel gate from avg and max pooling, then a spatial gate: a real 7x7 conv on pooled maps."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 4))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        gate = self.mlp(F.adaptive_avg_pool2d(y, 1)) + self.mlp(F.adaptive_max_pool2d(y, 1))
        y = y * torch.sigmoid(gate).view(1, 4, 1, 1)
        pooled = torch.cat([y.mean(1, keepdim=True), y.amax(1, keepdim=True)], dim=1)
        return y * torch.sigmoid(self.spatial(pooled))


def test_gating_is_a_broadcast_merge_reaching_every_pixel() -> None:
    for model in (_SE(), _ECA(), _CBAM()):
        net = _exact(model)
        assert rf.reach(net, (15, 15)).all()
        assert rf.receptive_field(net, (15, 15))[-1].global_context


def test_cbam_spatial_gate_is_a_convolution() -> None:
    net = rf.from_torch(_CBAM(), (15, 15))
    assert rf.Conv(7, padding=3, name="spatial") in net.ops


class _ConvNeXtBlock(nn.Module):
    """Channels-last MLP with LayerNorm, GRN-style stats over channels, LayerScale and DropPath."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 7, padding=3, groups=4)
        self.norm = nn.LayerNorm(4)
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 4)
        self.gamma = nn.Parameter(torch.ones(4))

    def forward(self, x: Any) -> Any:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(F.gelu(self.fc1(self.norm(y))))
        y = self.gamma * y
        from torchvision.ops import stochastic_depth

        return x + stochastic_depth(y.permute(0, 3, 1, 2), 0.1, "row", training=False)


def test_channels_last_blocks_layer_scale_and_stochastic_depth() -> None:
    pytest.importorskip("torchvision")
    model = nn.Sequential(nn.Conv2d(1, 4, 3), _ConvNeXtBlock())
    net = _exact(model)
    assert _kinds(net) == ["Conv", "Conv", "Add"]


def test_spatial_norms_are_global_context_unless_ignored() -> None:
    for norm in (nn.GroupNorm(2, 4), nn.InstanceNorm2d(4), nn.LayerNorm([4, 11, 11])):
        model = nn.Sequential(nn.Conv2d(1, 4, 3), norm, nn.Conv2d(4, 4, 3))
        net = _exact(model, (13, 13))  # global: autograd sees every pixel
        assert rf.reach(net, (13, 13)).all()
        assert rf.receptive_field(net, (13, 13))[-1].global_context
        local = rf.from_torch(model, (13, 13), norm_stats="ignore")
        assert int(rf.reach(local, (13, 13)).sum()) == 25
    with pytest.raises(rf.RFGraphError, match="norm_stats='sometimes' is unknown"):
        rf.from_torch(model, (13, 13), norm_stats="sometimes")


def test_layer_norm_over_channels_and_batch_norm_stay_pointwise() -> None:
    class LN2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.norm = nn.LayerNorm(4)

        def forward(self, x: Any) -> Any:
            return self.norm(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    assert _kinds(_exact(LN2d())) == ["Conv"]
    assert _kinds(_exact(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))) == ["Conv"]


class _Functional(nn.Module):
    """Functional conv, F.pad in every mode, odd interpolation, pixel shuffle, strided slices."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 1, 3, 3))
        self.reflect = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")

    def forward(self, x: Any) -> Any:
        y = F.conv2d(F.pad(x, (1, 0, 1, 0)), self.weight, stride=2)
        y = self.reflect(F.pad(y, (1, 1, 2, 0), mode="replicate"))
        y = F.interpolate(y, size=(13, 11), mode="bilinear", align_corners=True)
        y = F.pixel_shuffle(y, 2)[..., ::2, 1::2]
        return torch.roll(torch.flip(F.pad(y, (1, 1, 1, 1), mode="circular"), dims=(-1,)), 2, dims=-2)


def test_functional_ops_and_index_maps() -> None:
    net = _exact(_Functional(), in_channels=1)
    kinds = _kinds(net)
    assert kinds[:2] == ["Conv", "Pad"]  # the zero F.pad folded into the conv, replicate is a layer
    assert net.ops[2] == rf.Conv(3, padding=1, padding_mode="reflect", name="reflect")
    assert {"Resize", "PixelShuffle", "Slice", "Flip", "Roll"} <= set(kinds)


def test_timm_same_padding_modules() -> None:
    timm_layers = pytest.importorskip("timm.layers")
    from timm.layers.pool2d_same import MaxPool2dSame

    model = nn.Sequential(
        timm_layers.Conv2dSame(1, 2, 3, stride=2),
        MaxPool2dSame(3, stride=2),
        timm_layers.create_conv2d(2, 2, 5, stride=2, padding="same"),
    )
    net = _exact(model, (17, 17))
    assert [op.padding for op in net.ops] == ["same", "same", "same"]


def test_identity_for_functions() -> None:
    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x: Any) -> Any:
            return torch.special.erfcx(self.conv(x))

    with pytest.raises(rf.RFGraphError, match="identity=\\('special_erfcx',\\)"):
        rf.from_torch(Custom(), (9, 9))
    assert _kinds(rf.from_torch(Custom(), (9, 9), identity=("special_erfcx",))) == ["Conv"]


def test_onnx_shares_the_table_for_gates_and_norms() -> None:
    onnx = pytest.importorskip("onnx")
    import io
    import warnings

    model = nn.Sequential(_SE(), nn.GroupNorm(2, 4)).eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 15, 15),), f, dynamo=False)
    from_onnx = rf.from_onnx(onnx.load_from_string(f.getvalue()))
    np.testing.assert_array_equal(rf.reach(from_onnx, (15, 15)), rf.reach(rf.from_torch(model, (15, 15)), (15, 15)))
    assert rf.receptive_field(from_onnx, (15, 15))[-1].global_context
