"""rf.from_torch: torchvision architectures against the zoo, and every supported construct."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rfgraph as rf
from rfgraph import zoo

from .plan_compare import assert_same_graph, plans_equivalent

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")
nn = torch.nn
F = torch.nn.functional


# zoo name -> (torchvision constructor, keyword arguments, input shape)
TORCHVISION: dict[str, tuple[Any, dict[str, Any], tuple[int, int]]] = {
    "alexnet": (tvm.alexnet, {}, (224, 224)),
    "vgg11": (tvm.vgg11, {}, (224, 224)),
    "vgg13": (tvm.vgg13, {}, (224, 224)),
    "vgg16": (tvm.vgg16, {}, (224, 224)),
    "vgg19": (tvm.vgg19, {}, (224, 224)),
    "resnet18": (tvm.resnet18, {}, (224, 224)),
    "resnet34": (tvm.resnet34, {}, (224, 224)),
    "resnet50": (tvm.resnet50, {}, (224, 224)),
    "resnet101": (tvm.resnet101, {}, (224, 224)),
    "resnet152": (tvm.resnet152, {}, (224, 224)),
    "inception_v3": (tvm.inception_v3, {"aux_logits": False, "init_weights": False}, (299, 299)),
    "densenet121": (tvm.densenet121, {}, (224, 224)),
    "mobilenet_v2": (tvm.mobilenet_v2, {}, (224, 224)),
}


def _meta(constructor: Any, **kwargs: Any) -> Any:
    """A torchvision model on the meta device: no memory, no initialisation cost, no weights."""
    with torch.device("meta"):
        return constructor(weights=None, **kwargs)


def _table(net: rf.Op, shape: tuple[int, ...]) -> dict[str, tuple[Any, ...]]:
    return {r.name: (r.shape, r.size, r.stride, r.padding, r.center, r.aligned) for r in rf.receptive_field(net, shape)}


def test_every_torchvision_network_of_the_zoo_is_covered() -> None:
    assert set(TORCHVISION) == set(zoo.names("torchvision"))


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_from_torch_equals_the_zoo(name: str) -> None:
    constructor, kwargs, shape = TORCHVISION[name]
    imported = rf.from_torch(_meta(constructor, **kwargs), shape)
    built = zoo.build(name)
    assert_same_graph(rf.build_plan(imported, shape), rf.build_plan(built, shape), by_name=True)
    assert _table(imported, shape) == _table(built, shape)


def test_deeplabv3_from_torch_equals_the_zoo() -> None:
    model = _meta(tvm.segmentation.deeplabv3_resnet50, weights_backbone=None)
    imported = rf.from_torch(model, (512, 512))  # the dict output: "out" is followed
    built = zoo.build("deeplabv3_resnet50", input_size=512, upsample=True)
    assert_same_graph(rf.build_plan(imported, (512, 512)), rf.build_plan(built, (512, 512)), by_name=True)
    # a non-integer resize back to the input size is a Resize with torch's index formula (issue 10)
    odd = rf.from_torch(model, (513, 513))
    assert odd.ops[-1] == rf.Resize(size=513, mode="bilinear", name="interpolate")


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_from_torch_and_zoo_give_identical_maps(name: str) -> None:
    constructor, kwargs, shape = TORCHVISION[name]
    imported = rf.from_torch(_meta(constructor, **kwargs), shape)
    built = zoo.build(name)
    for metric in ("edges", "paths"):
        np.testing.assert_array_equal(
            rf.contribution_map(imported, shape, metric=metric), rf.contribution_map(built, shape, metric=metric)
        )


def test_endpoints_follow_module_paths() -> None:
    net = rf.from_torch(_meta(tvm.resnet50), (224, 224))
    plan = rf.build_plan(net, (224, 224))
    assert plan.tensor("layer4").name == "layer4.2"  # a module's output is an end-point
    assert plan.tensor("layer1.0.downsample").name == "layer1.0.downsample.0"
    last = rf.receptive_field(net, (224, 224), endpoint="layer3")[-1]
    assert last.name == "layer3" or last.name == "layer3.5"
    assert last.stride == (16, 16)


def test_real_weights_on_cpu_and_train_mode_is_restored() -> None:
    model = tvm.resnet18(weights=None)  # real (CPU) parameters: shapes run on fake tensors
    model.train()
    net = rf.from_torch(model, (64, 64))
    assert model.training and all(m.training for m in model.modules())
    assert rf.build_plan(net, (64, 64)).output.name == "fc"


# --- constructs ------------------------------------------------------------------------------


def _same(module: Any, shape: tuple[int, ...], expected: rf.Op, **options: Any) -> rf.Op:
    net = rf.from_torch(module, shape, **options)
    assert plans_equivalent(rf.build_plan(net, shape), rf.build_plan(expected, shape)), net
    return net


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_convolutions_in_1d_and_3d_with_groups() -> None:
    m1 = nn.Sequential(nn.Conv1d(4, 8, 5, stride=2, padding=2, groups=4), nn.ReLU(), nn.Conv1d(8, 8, 3, dilation=2))
    _same(m1, (31,), rf.Sequential(rf.Conv(5, stride=2, padding=2), rf.Conv(3, dilation=2)))
    m3 = nn.Sequential(nn.Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(4), nn.MaxPool3d(2))
    _same(m3, (4, 8, 8), rf.Sequential(rf.Conv((1, 3, 3), padding=(0, 1, 1)), rf.Pool(2)))
    same = nn.Sequential(nn.Conv2d(1, 1, 4, padding="same"), nn.Conv2d(1, 1, 3, padding="valid"))
    _same(same, (9, 9), rf.Sequential(rf.Conv(4, padding="same"), rf.Conv(3)))


def test_pools_transposed_convolutions_and_upsampling() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
            self.avg = nn.AvgPool2d(2)
            self.up = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)
            self.near = nn.Upsample(scale_factor=2)

        def forward(self, x: Any) -> Any:
            x = self.avg(self.pool(x))
            x = self.near(self.up(x))
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            return F.max_pool2d(x, 1)  # a one-pixel window is pointwise

    expected = rf.Sequential(
        rf.Pool(3, stride=2, padding=1, ceil_mode=True),
        rf.Pool(2),
        rf.ConvTranspose(4, stride=2, padding=1),
        rf.Upsample(2),
        rf.Upsample(2, mode="linear"),
    )
    net = _same(Net(), (13, 13), expected)
    assert [t.name for t in rf.build_plan(net, (13, 13)).tensors][1:] == ["pool", "avg", "up", "near", "interpolate"]


def test_conv_transpose_with_output_size() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)

        def forward(self, x: Any) -> Any:
            return self.up(self.down(x), output_size=x.shape[-2:])

    net = rf.from_torch(Net(), (10, 10), method="hooks")
    assert rf.build_plan(net, (10, 10)).output.shape == (10, 10)


def test_adaptive_pooling_is_resolved_for_the_input_size() -> None:
    def single(size: Any, n: int) -> rf.Op:
        return rf.from_torch(nn.Sequential(nn.Conv2d(1, 1, 1), nn.AdaptiveAvgPool2d(size)), (n, n))

    assert single(1, 9).ops[-1] == rf.GlobalPool(name="1")
    assert single(3, 12).ops[-1] == rf.Pool(4, name="1")  # regular windows
    assert single(3, 4).ops[-1] == rf.Pool(2, stride=1, name="1")  # overlapping, still regular
    assert single(6, 3).ops[-1] == rf.Upsample(2, name="1")  # enlargement: nearest
    assert len(single(7, 7).ops) == 1  # same size: pointwise
    assert single(3, 5).ops[-1] == rf.AdaptivePool(3, name="1")  # uneven windows: torch's own
    assert single(7, 3).ops[-1] == rf.AdaptivePool(7, name="1")  # VGG's head on a small input


def test_residual_concat_and_dense_merges() -> None:
    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1)
            self.b = nn.Conv2d(2, 1, 3, padding=1)
            self.c = nn.Conv2d(3, 1, 1)

        def forward(self, x: Any) -> Any:
            a = self.a(x)
            b = self.b(torch.cat([x, a], 1))
            y = torch.cat([x, a, b], dim=1)  # x and a are shared by two merges: no tree of merges
            return self.c(y) + x * 2

    expected = rf.Sequential(
        rf.Conv(3, padding=1, name="a"),
        rf.Concat(rf.Ref("input"), rf.Ref("a"), name="c1"),
        rf.Conv(3, padding=1, name="b"),
        rf.Concat(rf.Ref("input"), rf.Ref("a"), rf.Ref("b")),
        rf.Conv(1),
        rf.Add(rf.Identity(), rf.Ref("input")),
    )
    net = _same(Dense(), (8, 8), expected)
    assert [t.name for t in rf.build_plan(net, (8, 8)).tensors] == ["input", "a", "cat", "b", "cat_1", "c", "add"]


def test_heads_flatten_linear_and_mean() -> None:
    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc1 = nn.Linear(4 * 36, 8)
            self.fc2 = nn.Linear(8, 2)

        def forward(self, x: Any) -> Any:
            x = self.conv(x).view(x.size(0), -1)
            return self.fc2(F.dropout(F.relu(self.fc1(x))))

    _same(Head(), (8, 8), rf.Sequential(rf.Conv(3), rf.GlobalPool(), rf.Conv(1)))
    mean = nn.Sequential(nn.Conv2d(3, 4, 3))

    class Mean(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = mean
            self.fc = nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(self.body(x).mean((2, 3)))

    _same(Mean(), (8, 8), rf.Sequential(rf.Conv(3), rf.GlobalPool(), rf.Conv(1)))


def test_crops_by_slicing_and_negative_padding() -> None:
    class Crops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x: Any) -> Any:
            y = self.conv(x)[:, :1, 2:-1, :]  # channel slice (pointwise) and a spatial crop
            return F.pad(y, (-1, -2, 0, 0))

    _same(Crops(), (10, 10), rf.Sequential(rf.Conv(3), rf.Crop(((2, 1), (0, 0))), rf.Crop(((0, 0), (1, 2)))))


def test_pointwise_functions_and_channel_shuffles_vanish() -> None:
    model = tvm.shufflenet_v2_x0_5(weights=None)
    net = rf.from_torch(model, (64, 64))
    assert all(isinstance(op, rf.Op) for op in net.ops)
    assert rf.build_plan(net, (64, 64)).output.name == "fc"


class _Opaque(nn.Module):
    def forward(self, x: Any) -> Any:
        return x * 2


def test_unsupported_modules_are_named_and_can_be_ignored() -> None:
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Sequential(_Opaque()), nn.Conv2d(1, 1, 3))
    with pytest.raises(rf.RFGraphError, match=r"module '1\.0' \(_Opaque\) is not supported.*identity="):
        rf.from_torch(model, (9, 9), leaf_modules=(_Opaque,))
    for identity in ((_Opaque,), ("_Opaque",)):
        net = rf.from_torch(model, (9, 9), identity=identity, leaf_modules=(_Opaque,))
        assert [op.name for op in net.ops if not isinstance(op, rf.Identity)] == ["0", "2"]


class _Rolled(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.roll(x, 3)


def test_unsupported_constructs_raise_clear_errors() -> None:
    with pytest.raises(rf.RFGraphError, match="roll without dims"):
        rf.from_torch(_Rolled(), (8, 8), in_channels=1)
    with pytest.raises(rf.RFGraphError, match="torch.nn.Module"):
        rf.from_torch("resnet50", (8, 8))
    with pytest.raises(rf.RFGraphError, match="method="):
        rf.from_torch(nn.Conv2d(1, 1, 1), (8, 8), method="jit")
    with pytest.raises(rf.RFGraphError, match="input_shape"):
        rf.from_torch(nn.Conv2d(1, 1, 1), (8, 8, 8, 8))


class _Untraceable(nn.Module):
    """Data-dependent control flow: fx cannot trace it; the leaf modules run in sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 9, 5)

    def forward(self, x: Any) -> Any:
        x = self.pool(torch.relu(self.conv1(x)))
        if x.sum() > 0:  # needs values: fx raises a TraceError
            x = x * 1
        return self.fc(x.flatten(1))


def test_untraceable_models_raise_unless_hooks_are_asked_for() -> None:
    # auto never falls back to hooks silently: they would miss merges written in forward (issue 19)
    with pytest.raises(rf.RFGraphError, match="torch.fx cannot trace _Untraceable.*torch.export.*method='hooks'"):
        rf.from_torch(_Untraceable(), (14, 14))
    expected = rf.Sequential(rf.Conv(3, stride=2), rf.Pool(2), rf.GlobalPool())
    net = _same(_Untraceable(), (14, 14), expected, method="hooks")
    assert [op.name for op in net.ops] == ["conv1", "pool", "fc"]
    with pytest.raises(rf.RFGraphError, match="torch.fx cannot trace.*method='hooks'"):
        rf.from_torch(_Untraceable(), (14, 14), method="fx")


class _Guarded(nn.Module):
    """A residual merge behind data-dependent control flow (issue 19): hooks would drop the merge."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 1, 3, padding=1)
        self.c2 = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        if torch.isfinite(x).all():
            x = self.c1(x) + x
        return self.c2(x)


class _ShapeBranch(nn.Module):
    """Control flow on shapes: fx cannot trace it, torch.export specialises it for the input."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3)
        self.c2 = nn.Conv2d(2, 2, 3)

    def forward(self, x: Any) -> Any:
        y = self.c1(x)
        if y.shape[-1] % 2:
            y = F.pad(y, (0, 1, 0, 1))
        return self.c2(y) + y[..., 1:-1, 1:-1]


class _SizePad(nn.Module):
    """Pad and crop amounts computed from the input size: symbolic in fx, constants in torch.export."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(1, 2, 4, stride=4)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        y = self.c(F.pad(x, (0, (4 - w % 4) % 4, 0, (4 - h % 4) % 4)))
        return y[:, :, : h // 4, : w // 4]


def test_sizes_computed_in_forward_import_through_torch_export() -> None:
    net = rf.from_torch(_SizePad(), (9, 10))
    assert net.ops[0] == rf.Conv(4, stride=4, padding=((0, 3), (0, 2)), name="c")
    with pytest.raises(rf.RFGraphError, match="computed in forward from tensor sizes"):
        rf.from_torch(_SizePad(), (9, 10), method="fx")


def test_shape_dependent_control_flow_imports_through_torch_export() -> None:
    with pytest.raises(rf.RFGraphError, match="torch.fx cannot trace _Guarded"):
        rf.from_torch(_Guarded(), (9, 9))
    net = rf.from_torch(_ShapeBranch(), (9, 9))
    expected = rf.Sequential(rf.Conv(3), rf.Add(rf.Conv(3, padding=((0, 1), (0, 1))), rf.Crop(((1, 0), (1, 0)))))
    # torch.export slices one axis at a time: two one-to-one crops, the same paths
    np.testing.assert_array_equal(
        rf.contribution_map(net, (9, 9), metric="paths"), rf.contribution_map(expected, (9, 9), metric="paths")
    )


def test_hooks_refuse_non_sequential_models() -> None:
    with pytest.raises(rf.RFGraphError, match="not sequential"):
        rf.from_torch(_meta(tvm.resnet18), (64, 64), method="hooks")


def test_tuple_outputs_and_output_choice() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3)
            self.b = nn.Conv2d(1, 1, 5)

        def forward(self, x: Any) -> Any:
            return self.a(x), self.b(x)

    assert rf.from_torch(Two(), (9, 9)).ops[-1].name == "a"
    assert rf.from_torch(Two(), (9, 9), output=1).ops[-1].name == "b"
    with pytest.raises(rf.RFGraphError, match="returns 2 values"):
        rf.from_torch(Two(), (9, 9), output=2)


def test_childless_user_module_is_traced_and_shape_errors_name_the_cause():
    class Up(nn.Module):
        def forward(self, x):
            return F.interpolate(F.max_pool2d(x, 2), scale_factor=2)

    net = rf.from_torch(Up(), (6, 6), in_channels=1)
    assert [type(op).__name__ for op in net.ops] == ["Pool", "Upsample"]
    with pytest.raises(rf.RFGraphError, match="expected input.*to have 2 channels"):
        rf.from_torch(nn.Sequential(nn.Conv2d(2, 2, 3)), (8, 8), in_channels=3)


def test_translation_cached_by_module_structure() -> None:
    """A repeated import is the same object; a changed setting, shape or submodule is imported again."""
    from rfgraph.importers.torch import clear_cache

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    first = rf.from_torch(model, (16, 16))
    assert rf.from_torch(model, (16, 16)) is first
    assert rf.from_torch(model, (17, 16)) is not first  # another input shape
    model[2].stride = (2, 2)
    strided = rf.from_torch(model, (16, 16))
    assert strided != first and strided.ops[1] == rf.Conv(3, stride=2, name="2")
    model[1] = nn.MaxPool2d(2)
    pooled = rf.from_torch(model, (16, 16))
    assert pooled.ops[1] == rf.Pool(2, name="1")
    clear_cache()
    assert rf.from_torch(model, (16, 16)) == pooled


def test_sizes_computed_in_forward_read_as_this_input_gives_them() -> None:
    """fx traces the sizes symbolically; the meta run gives their values (as torch.export would)."""
    net = rf.from_torch(_SizePad(), (13, 7))
    assert net.ops[0] == rf.Conv(4, stride=4, padding=((0, 3), (0, 1)), name="c")
    shape = (13, 7)
    x = torch.zeros((1, 1) + shape, requires_grad=True)
    _SizePad()(x)[0, 0, 1, 0].backward()
    assert x.grad is not None
    np.testing.assert_array_equal(rf.reach(net, shape, (1, 0)), x.grad[0, 0].numpy() != 0)
