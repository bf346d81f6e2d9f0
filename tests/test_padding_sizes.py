"""valid_region, padding_share, min_input_shape, field_sizes: against brute force from their definitions."""

from __future__ import annotations

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.answers import borders
from rfgraph.answers.sizes import field_sizes, unproductive_layers
from rfgraph.answers.tiling import alignment

CHAINS = [
    rf.Sequential(rf.Conv(3, padding=1), rf.Conv(5, dilation=2, padding=4)),
    rf.Sequential(rf.Conv(3), rf.Pool(2), rf.Conv(3, padding=1)),
    rf.Sequential(rf.Conv(4, stride=2, padding=((1, 2),)), rf.Conv(3, padding=1), rf.Upsample(2, mode="linear")),
    rf.Sequential(
        rf.Conv(3, padding=1), rf.Pool(3, stride=2, ceil_mode=True), rf.ConvTranspose(4, stride=2, padding=1)
    ),
    rf.Residual(rf.Sequential(rf.Conv(5, padding=2), rf.Conv(3, stride=2, padding=1), rf.Upsample(2))),
    rf.Sequential(rf.Conv(7, stride=2, padding=3), rf.Pool(3, stride=2, padding=1), rf.Conv(3, padding="same")),
]


def _canvas(
    net: rf.Op, shape: tuple[int, ...], endpoint: str | None = None
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """An input wide enough that every image output is interior: canvas shape, margins, output offsets."""
    align = alignment(net, shape, endpoint=endpoint)
    margins = tuple(a * max(1, 256 // a) for a in align)
    canvas = tuple(n + 2 * m for n, m in zip(shape, margins))
    fields = borders.axis_fields(rf.build_plan(net, canvas, endpoint))
    offsets = []
    for f, m in zip(fields, margins):
        assert f.stride is not None
        offsets.append(m * f.stride.denominator // f.stride.numerator)
    return canvas, margins, tuple(offsets)


def _brute_valid(net: rf.Op, n: int) -> np.ndarray:
    """valid[o]: the field of o in an image extended on both sides lies inside the image."""
    canvas, (m,), (off,) = _canvas(net, (n,))
    out_n = rf.build_plan(net, (n,)).output.shape[0]
    valid = np.zeros(out_n, dtype=bool)
    for o in range(out_n):
        field = np.flatnonzero(rf.reach(net, canvas, (o + off,)))
        valid[o] = field.size == 0 or (field[0] >= m and field[-1] < m + n)
    return valid


@pytest.mark.parametrize("net", CHAINS)
@pytest.mark.parametrize("n", [24, 40])
def test_valid_region_matches_definition_on_chains(net: rf.Op, n: int) -> None:
    assert rf.valid_region(net, (n,)).tolist() == _brute_valid(net, n).tolist()


@pytest.mark.parametrize(
    "name,shape,endpoint",
    [("unet_same", (240, 256), None), ("resnet18", (256, 240), "layer3"), ("vgg11", (96, 96), "pool4")],
)
def test_valid_region_matches_definition_on_zoo(name: str, shape: tuple[int, int], endpoint: str | None) -> None:
    net = rf.zoo.build(name)
    valid = rf.valid_region(net, shape, endpoint=endpoint)
    assert valid.shape == rf.build_plan(net, shape, endpoint).output.shape
    assert 0 < valid.sum() < valid.size or name == "vgg11"
    canvas, margins, offsets = _canvas(net, shape, endpoint)
    # The region is a product of per-axis sets: check a diagonal and the first row against reach.
    positions = {(i * valid.shape[0] // 7, i * valid.shape[1] // 7) for i in range(7)}
    positions |= {(0, j) for j in range(0, valid.shape[1], max(1, valid.shape[1] // 6))}
    for o in positions:
        field = np.argwhere(rf.reach(net, canvas, tuple(p + d for p, d in zip(o, offsets)), endpoint=endpoint))
        inside = all(
            field[:, a].min() >= m and field[:, a].max() < m + n for a, (m, n) in enumerate(zip(margins, shape))
        )
        assert valid[o] == inside, o


@pytest.mark.parametrize("net", CHAINS[:5])
def test_padding_share_matches_paths_on_canvas(net: rf.Op) -> None:
    n = 24
    share = rf.padding_share(net, (n,))
    canvas, (m,), (off,) = _canvas(net, (n,))
    for o in range(share.size):
        paths = rf.contribution_map(net, canvas, "paths", (o + off,))
        total = paths.sum()
        expected = 0.0 if total == 0 else 1.0 - paths[m : m + n].sum() / total
        assert share[o] == pytest.approx(expected, abs=1e-12)
    assert ((share == 0) == rf.valid_region(net, (n,))).all()


def test_padding_share_2d_and_plot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from rfgraph.answers.exposure import plot_padding_share

    net = rf.zoo.build("unet_same")
    share = rf.padding_share(net, (64, 48))
    assert share.shape == (64, 48) and 0 < share.max() < 1
    assert ((share == 0) == rf.valid_region(net, (64, 48))).all()
    ax = plot_padding_share(net, (64, 48))
    ax.figure.savefig(tmp_path / "share.png")
    assert (tmp_path / "share.png").stat().st_size > 1000


def _brute_min(net: rf.Op, ndim: int) -> tuple[int, ...]:
    def ok(shape: tuple[int, ...]) -> bool:
        try:
            rf.receptive_field(net, shape)
        except rf.RFGraphError:
            return False
        return True

    common = next(n for n in range(1, 1000) if ok((n,) * ndim))
    out = []
    for axis in range(ndim):
        shape = [common] * ndim
        out.append(next(k for k in range(1, common + 1) if ok(tuple(shape[:axis] + [k] + shape[axis + 1 :]))))
    return tuple(out)


@pytest.mark.parametrize("net", CHAINS)
def test_min_input_shape_on_chains(net: rf.Op) -> None:
    assert rf.min_input_shape(net, ndim=1) == _brute_min(net, 1)
    (n,) = rf.min_input_shape(net, ndim=1)
    rf.receptive_field(net, (n,))
    if n > 1:
        with pytest.raises(rf.RFGraphError):
            rf.receptive_field(net, (n - 1,))


@pytest.mark.parametrize("name,expected", [("vgg16", (32, 32)), ("unet", (188, 188)), ("unet_same", (16, 16))])
def test_min_input_shape_on_zoo(name: str, expected: tuple[int, int]) -> None:
    net = rf.zoo.build(name)
    assert rf.min_input_shape(net) == expected == _brute_min(net, 2)


def test_min_input_shape_per_axis_tuples() -> None:
    net = rf.Sequential(rf.Conv((3, 7)), rf.Pool((2, 1)))
    assert rf.min_input_shape(net) == (4, 7)
    with pytest.raises(rf.RFGraphError, match="ndim"):
        rf.min_input_shape(net, ndim=4)


def test_field_sizes_smallest_path_and_unproductive() -> None:
    net = rf.zoo.build("resnet18")
    rows = field_sizes(net, (64, 64))
    table = rf.receptive_field(net, (64, 64))
    assert [r.size for r in rows] == [r.size for r in table]
    assert all(r.min_size <= r.size for r in rows)
    assert rows[-1].min_size < rows[-1].size  # the identity shortcuts keep a small path open
    # A plain chain has one path: smallest == largest.
    chain = rf.Sequential(rf.Conv(3), rf.Pool(2), rf.Conv(3, dilation=2))
    assert all(r.min_size == r.size for r in field_sizes(chain, (40,)))
    names = unproductive_layers(net, (32, 32))
    assert names and all(r.min_size[0] > 32 for r in rows if r.name in names)
