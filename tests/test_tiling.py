"""Tiled inference (SPEC section 8): exact halo, and tiles that stitch back to the whole-image output."""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.answers import borders
from rfgraph.answers.tiling import alignment


def test_halo_examples() -> None:
    assert rf.halo(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(5, dilation=2, padding=4)), (32,)) == ((5, 5),)
    assert rf.halo(rf.Conv(4, padding=((1, 2),)), (16,)) == ((1, 2),)
    assert rf.halo(rf.Sequential(rf.Conv(3, stride=2, padding=1), rf.Upsample(2)), (32,)) == ((2, 1),)
    assert rf.halo(rf.Sequential(rf.Conv(3, stride=2, padding=1), rf.Upsample(2)), (32, 32)) == ((2, 1),) * 2


def test_halo_per_axis_and_valid() -> None:
    net = rf.Sequential(rf.Conv((3, 5), padding=((1, 1), (0, 4))), rf.Conv(3))
    assert rf.halo(net, (20, 24)) == ((1, 3), (0, 6))


def test_halo_refuses_global_context_and_small_inputs() -> None:
    with pytest.raises(rf.RFGraphError, match="global context"):
        rf.halo(rf.Sequential(rf.Conv(3), rf.GlobalPool()), (16,))
    # An image smaller than the field: measured on a wider image of the same phase.
    assert rf.halo(rf.Sequential(*[rf.Conv(3, padding=1)] * 4), (5,)) == ((4, 4),)
    assert rf.halo(rf.zoo.build("unet_same"), (64, 48)) == rf.halo(rf.zoo.build("unet_same"), (256, 240))


def _brute_halo(net: rf.Op, n: int) -> tuple[int, int]:
    """From rf.reach on a 1-D input: the widest extent of interior fields around floor(o * S)."""
    plan = rf.build_plan(net, (n,))
    stride = borders.axis_fields(plan)[0].stride
    assert stride is not None
    out_n = plan.output.shape[0]
    left = right = None
    for o in range(out_n):
        field = np.flatnonzero(rf.reach(net, (n,), (o,)))
        pos = o * stride.numerator // stride.denominator
        # Interior: the same output in an input larger on both sides has the same field, shifted.
        if field.size == 0 or field[0] == 0 or field[-1] == n - 1:
            continue
        lft, rgt = pos - int(field[0]), int(field[-1]) - pos
        left = lft if left is None else max(left, lft)
        right = rgt if right is None else max(right, rgt)
    assert left is not None and right is not None
    return left, right


@pytest.mark.parametrize(
    "net",
    [
        rf.Sequential(rf.Conv(3, padding=1), rf.Conv(5, dilation=2, padding=4)),
        rf.Sequential(rf.Conv(3, stride=2, padding=1), rf.Upsample(2)),
        rf.Sequential(rf.Conv(4, stride=2, padding=1), rf.Conv(3, padding=1), rf.ConvTranspose(4, stride=2, padding=1)),
        rf.Sequential(
            rf.Conv(3, padding=1), rf.Pool(2), rf.Conv(3, padding=2, dilation=2), rf.Upsample(2, mode="linear")
        ),
        rf.Residual(rf.Sequential(rf.Conv(5, padding=2), rf.Conv(3, padding=1))),
        rf.Sequential(rf.Conv(3, stride=3, padding=1), rf.Conv(3, padding=1), rf.Upsample(2)),
    ],
)
def test_halo_matches_reach(net: rf.Op) -> None:
    assert rf.halo(net, (60,)) == (_brute_halo(net, 60),)


def test_tiles_cover_output_once_and_stay_inside() -> None:
    net = rf.zoo.build("unet_same")
    shape = (256, 192)
    plan_out = rf.build_plan(net, shape).output.shape
    count = np.zeros(plan_out, dtype=int)
    for t in rf.tiles(net, shape, (64, 64)):
        count[t.output] += 1
        for s, n, a in zip(t.input, shape, alignment(net, shape)):
            assert 0 <= s.start < s.stop <= n and s.start % a == 0
        crop_shape = tuple(c.stop - c.start for c in t.crop)
        assert crop_shape == tuple(o.stop - o.start for o in t.output)
    assert (count == 1).all()


def test_tile_shape_rounds_down_to_the_alignment_grid() -> None:
    net = rf.zoo.build("unet_same")
    assert rf.tiles(net, (256, 256), 100) == rf.tiles(net, (256, 256), 96)
    assert rf.tiles(net, (256, 256), (5, 40)) == rf.tiles(net, (256, 256), (16, 32))
    for bad in (0, (16,), "16", (16, 16.5)):
        with pytest.raises(rf.RFGraphError, match="tile_shape"):
            rf.tiles(net, (256, 256), bad)


# --------------------------------------------------------------------------- real torch models


def _stitch(model, image, tiles):  # type: ignore[no-untyped-def]
    import torch

    with torch.no_grad():
        whole = model(image)
        out = torch.full_like(whole, float("nan"))
        for t in tiles:
            part = model(image[(..., *t.input)])
            out[(..., *t.output)] = part[(..., *t.crop)]
    return whole, out


CASES = [
    ("PaddedUNet", (96, 112), (32, 48)),
    ("ValidUNet", (76, 92), (16, 24)),
    ("DilatedFCN", (64, 72), (24, 20)),
    ("ResNetFCN", (96, 112), (32, 40)),
]


@pytest.mark.parametrize("name,shape,tile", CASES)
def test_stitched_tiles_equal_whole_image(name: str, shape: tuple[int, int], tile: tuple[int, int]) -> None:
    torch = pytest.importorskip("torch")
    from tests import torch_models

    model = torch_models.prepare(getattr(torch_models, name)())
    net = rf.from_torch(model, shape)
    image = torch.rand(1, 1, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    plan = rf.tiles(net, shape, tile)
    assert len(plan) > 4
    whole, stitched = _stitch(model, image, plan)
    assert not torch.isnan(stitched).any()  # every output written ...
    count = torch.zeros(whole.shape[2:], dtype=torch.int64)
    for t in plan:
        count[t.output] += 1
    assert (count == 1).all()  # ... exactly once
    assert float((stitched - whole).abs().max()) < 1e-9


@pytest.mark.parametrize("name,shape,tile", CASES)
def test_halo_is_minimal_on_torch_models(name: str, shape: tuple[int, int], tile: tuple[int, int]) -> None:
    """Pixels beyond the halo of an interior output never change it; the pixel at the halo's edge does."""
    torch = pytest.importorskip("torch")
    from tests import torch_models

    model = torch_models.linearize(torch_models.prepare(getattr(torch_models, name)()))
    net = rf.from_torch(model, shape)
    (left, right), _ = rf.halo(net, shape)
    f = borders.axis_fields(rf.build_plan(net, shape))[0]
    assert f.stride is not None
    clean = np.flatnonzero(f.clean)
    pos = clean * f.stride.numerator // f.stride.denominator
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(1, 1, *shape, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        base = model(image)
        for side, reach in (("left", pos - f.lo[clean]), ("right", f.hi[clean] - pos)):
            worst = int(np.argmax(reach))
            o, p = int(clean[worst]), int(pos[worst])
            edge = p - left if side == "left" else p + right
            assert int(reach[worst]) == (left if side == "left" else right)
            # Everything outside [p - left, p + right] along axis 0 replaced: output row o unchanged.
            noisy = torch.rand(image.shape, dtype=torch.float64, generator=gen)
            outside = image.clone()
            lo = max(p - left, 0)
            outside[:, :, :lo] = noisy[:, :, :lo]
            outside[:, :, p + right + 1 :] = noisy[:, :, p + right + 1 :]
            assert float((model(outside)[:, :, o] - base[:, :, o]).abs().max()) < 1e-9
            # One pixel less context: changing the row at the halo's edge changes output row o.
            edged = image.clone()
            edged[:, :, edge] += 1.0
            assert float((model(edged)[:, :, o] - base[:, :, o]).abs().max()) > 1e-9


def test_one_pixel_less_context_breaks_a_tile() -> None:
    torch = pytest.importorskip("torch")
    from tests import torch_models

    model = torch_models.linearize(torch_models.prepare(torch_models.DilatedFCN()))
    shape = (64, 72)
    net = rf.from_torch(model, shape)
    assert alignment(net, shape) == (1, 1)
    image = torch.rand(1, 1, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    interior = [t for t in rf.tiles(net, shape, (24, 24)) if t.input[0].start > 0 and t.input[1].start > 0]
    assert interior
    t = interior[0]
    with torch.no_grad():
        whole = model(image)
        # The same tile with one pixel less context on the left of axis 0 (its crop shifts by one).
        short = (slice(t.input[0].start + 1, t.input[0].stop), t.input[1])
        crop = (slice(t.crop[0].start - 1, t.crop[0].stop - 1), t.crop[1])
        part = model(image[(..., *short)])[(..., *crop)]
    assert float((part - whole[(..., *t.output)]).abs().max()) > 1e-9


# --------------------------------------------------------------------------- rfgraph networks through to_torch

RF_NETS = [
    # TF-style "same" padding with stride: the pads depend on the input size modulo the stride.
    rf.Sequential(rf.Conv(3, stride=2, padding="same"), rf.Conv(3, padding=1), rf.Upsample(2, mode="linear")),
    # ceil_mode pooling, a transposed convolution, a residual merge.
    rf.Sequential(
        rf.Conv(3, padding=1),
        rf.Pool(3, stride=2, ceil_mode=True),
        rf.Residual(rf.Conv(3, padding=2, dilation=2)),
        rf.ConvTranspose(4, stride=2, padding=1),
    ),
    # Valid convolutions, asymmetric padding, an output at stride 3.
    rf.Sequential(rf.Conv(4, padding=((1, 2), (2, 1))), rf.Conv(3, stride=3), rf.Conv(3)),
]


@pytest.mark.parametrize("net", RF_NETS)
def test_stitched_tiles_of_rfgraph_networks(net: rf.Op) -> None:
    """Each tile runs its own to_torch module (same seed, so the same weights) built for its shape."""
    torch = pytest.importorskip("torch")
    from rfgraph.importers.to_torch import to_torch

    shape = (54, 66)
    image = torch.rand(1, 2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    modules: dict[tuple[int, ...], object] = {}

    def run(x):  # type: ignore[no-untyped-def]
        key = tuple(x.shape[2:])
        if key not in modules:
            modules[key] = to_torch(net, key, channels=2, relu=True, seed=0)
        return modules[key](x)  # type: ignore[operator]

    plan = rf.tiles(net, shape, tuple(6 * a for a in alignment(net, shape)))
    assert len(plan) > 4
    with torch.no_grad():
        whole = run(image)
        out = torch.full_like(whole, float("nan"))
        for t in plan:
            out[(..., *t.output)] = run(image[(..., *t.input)])[(..., *t.crop)]
    assert not torch.isnan(out).any()
    assert float((out - whole).abs().max()) < 1e-9
