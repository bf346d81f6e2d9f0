"""rf.blockwise (SPEC section 13): exact-halo blockwise inference on dask equals whole-array inference."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.answers.distributed import plan_blockwise

pytest.importorskip("dask.array")
torch = pytest.importorskip("torch")

from tests import blockwise_models as bm  # noqa: E402

CASES = [
    # model, input (N, C, *spatial), tile
    ("UNet2d", (2, 2, 96, 80), (32, 32)),  # padded, max pooling, nearest + bilinear up-sampling
    ("ValidUNet2d", (1, 1, 124, 108), (16, 24)),  # valid convolutions, center-cropped skips
    ("StridedUNet2d", (1, 1, 64, 72), (16, 16)),  # output at stride 2
    ("DilatedFCN2d", (1, 1, 50, 60), (16, 20)),
    ("UNet3d", (1, 1, 16, 24, 20), (8, 8, 8)),
]


def _case(name: str, shape: tuple[int, ...]) -> tuple[Any, np.ndarray, np.ndarray]:
    model = bm.prepare(getattr(bm, name)(c_in=shape[1]))
    image = np.random.default_rng(1).random(shape)
    return model, image, bm.whole(model, image)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name,shape,tile", CASES)
def test_equals_whole_array_from_numpy_and_dask(name: str, shape: tuple[int, ...], tile: tuple[int, ...]) -> None:
    import dask.array as da

    model, image, whole = _case(name, shape)
    y = rf.blockwise(model, image, tile)
    assert y.shape == whole.shape and y.dtype == np.float64
    assert len(y.tiling.tiles) > 4  # really tiled
    assert float(np.abs(y.compute(scheduler="threads") - whole).max()) < 1e-9
    # A dask input with chunks that match no tile: each task reads the chunks its window meets.
    x = da.from_array(image, chunks=(1, 1, *(13,) * (len(shape) - 2)))
    assert float(np.abs(rf.blockwise(model, x, tile).compute() - whole).max()) < 1e-9
    # (C, *spatial): no batch axis in, none out.
    y1 = rf.blockwise(model, image[0], tile)
    assert y1.shape == whole.shape[1:]
    assert float(np.abs(y1.compute() - whole[0]).max()) < 1e-9


def test_tasks_read_exactly_the_windows_of_rf_tiles() -> None:
    net = rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), rf.Conv(3, padding=1), rf.Upsample(2))
    seen: list[tuple[int, ...]] = []

    def model(x: np.ndarray) -> np.ndarray:  # a plain callable on NumPy arrays; net describes its geometry
        seen.append(x.shape)
        return x[:, :1] * 2.0

    image = np.random.default_rng(0).random((3, 40, 36))
    y = rf.blockwise(model, image, (8, 12), net)
    seen.clear()  # the probe ran once
    y.compute(scheduler="sync")
    windows = sorted((3, *(s.stop - s.start for s in t.input)) for t in rf.tiles(net, (40, 36), (8, 12)))
    assert sorted(s[1:] for s in seen) == windows and all(s[0] == 1 for s in seen)


def test_plain_callable_equals_torch_model() -> None:
    model, image, whole = _case("UNet2d", (1, 2, 64, 48))
    net = rf.from_torch(model, (64, 48))

    def numpy_model(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    y = rf.blockwise(numpy_model, image, 16, net)
    assert float(np.abs(y.compute() - whole).max()) < 1e-9


def test_batches_and_memory_per_task() -> None:
    model, image, whole = _case("DilatedFCN2d", (5, 1, 40, 40))
    y = rf.blockwise(model, image, (16, 16), batch_size=2)
    assert y.chunks[0] == (2, 2, 1)
    assert float(np.abs(y.compute() - whole).max()) < 1e-9
    plan = y.tiling
    assert plan.halo == rf.halo(rf.from_torch(model, (40, 40)), (40, 40))
    window = max(np.prod([s.stop - s.start for s in t.input]) for t in plan.tiles)
    assert plan.input_bytes == 2 * 1 * window * 8
    assert plan.task_bytes == plan.input_bytes + plan.output_bytes + plan.activation_bytes
    assert plan.activation_bytes > plan.input_bytes  # 3 channels per layer
    assert "per task at most" in plan.describe()
    # The memory of a task does not grow with the array.
    big = plan_blockwise(model, np.zeros((5, 1, 400, 400)), (16, 16), batch_size=2)
    assert big.task_bytes == plan.task_bytes and big.tasks > 10 * plan.tasks


def test_zarr_in_and_out(tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    model, image, whole = _case("UNet2d", (2, 2, 64, 48))
    z = zarr.open_array(str(tmp_path / "in.zarr"), mode="w", shape=image.shape, chunks=(1, 2, 20, 20), dtype="f8")
    z[:] = image
    out = tmp_path / "out.zarr"
    y = rf.blockwise(model, z, (16, 16), out=out, progress=False)
    assert float(np.abs(np.asarray(zarr.open_array(str(out), mode="r")) - whole).max()) < 1e-9
    assert float(np.abs(y.compute() - whole).max()) < 1e-9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    with pytest.raises(rf.RFGraphError, match="already exists"):
        rf.blockwise(model, z, (16, 16), out=out)
    link = tmp_path / "link.zarr"
    os.symlink(tmp_path / "elsewhere.zarr", link)
    with pytest.raises(rf.RFGraphError, match="symbolic link"):
        rf.blockwise(model, z, (16, 16), out=link)
    (tmp_path / "folder").mkdir()
    with pytest.raises(rf.RFGraphError, match="no Zarr store"):
        rf.blockwise(model, z, (16, 16), out=tmp_path / "folder", overwrite=True)
    rf.blockwise(model, z, (16, 16), out=link, overwrite=True, progress=False)
    assert not link.is_symlink() and not (tmp_path / "elsewhere.zarr").exists()  # the link replaced, not followed
    # A zarr array given by the caller is written in place.
    target = zarr.open_array(str(tmp_path / "mine.zarr"), mode="w", shape=whole.shape, chunks=(1, 2, 16, 16))
    rf.blockwise(model, image, (16, 16), out=target, progress=False)
    assert float(np.abs(target[:] - whole).max()) < 1e-9


def test_bad_input_is_refused_before_work() -> None:
    model, image, _ = _case("DilatedFCN2d", (1, 1, 32, 32))
    with pytest.raises(rf.RFGraphError, match="needs net="):
        rf.blockwise(lambda x: x, image, 16)
    with pytest.raises(rf.RFGraphError, match="does not describe this model"):
        rf.blockwise(model, image, 16, net=rf.Sequential(rf.Conv(3)))
    with pytest.raises(rf.RFGraphError, match="batch_size"):
        rf.blockwise(model, image, 16, batch_size=0)
    with pytest.raises(rf.RFGraphError, match="spatial_dims"):
        rf.blockwise(lambda x: x, np.zeros((2, 3, 8, 8)), 4, rf.Conv(1), spatial_dims=4)
    with pytest.raises(rf.RFGraphError, match="global context"):
        rf.blockwise(lambda x: x, np.zeros((1, 8, 8)), 4, rf.Sequential(rf.Conv(3), rf.GlobalPool()))
    with pytest.raises(rf.RFGraphError, match="tile_shape"):
        rf.blockwise(model, image, (16,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_device() -> None:
    model, image, whole = _case("UNet2d", (1, 2, 64, 48))
    y = rf.blockwise(model, image, 16, device="cuda")
    assert float(np.abs(y.compute() - whole).max()) < 1e-9


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_on_a_two_process_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import dask.array as da

    model, image, whole = _case("UNet2d", (2, 2, 64, 48))
    model3, image3, whole3 = _case("UNet3d", (1, 1, 16, 24, 20))
    valid, image_v, whole_v = _case("ValidUNet2d", (1, 1, 124, 108))
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        y = rf.blockwise(model, image, (16, 16))
        assert float(np.abs(y.compute() - whole).max()) < 1e-9
        x = da.from_array(image_v, chunks=(1, 1, 30, 30))
        assert float(np.abs(rf.blockwise(valid, x, (16, 24)).compute() - whole_v).max()) < 1e-9
        # Zarr out through the active client, then through the scheduler's address.
        out = rf.blockwise(model3, image3, 8, out=tmp_path / "a.zarr", progress=False)
        assert float(np.abs(out.compute() - whole3).max()) < 1e-9
        address = cluster.scheduler_address
        out = rf.blockwise(model3, image3, 8, out=tmp_path / "b.zarr", scheduler=address, progress=False)
        assert float(np.abs(out.compute(scheduler="threads") - whole3).max()) < 1e-9
        assert len(client.scheduler_info()["workers"]) == 2
