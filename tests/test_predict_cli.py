"""rfgraph predict and rfgraph halo (SPEC section 13)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.cli import main
from rfgraph.cli.predict import bioimageio_halo

pytest.importorskip("dask.array")
torch = pytest.importorskip("torch")

from tests import blockwise_models as bm  # noqa: E402

MODEL = "tests.blockwise_models:seeded_unet2d"


@pytest.mark.timeout(300)
def test_predict_writes_what_the_whole_image_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zarr = pytest.importorskip("zarr")
    tifffile = pytest.importorskip("tifffile")
    image = np.random.default_rng(0).random((96, 80))
    whole = bm.whole(bm.seeded_unet2d(), image[None, None])[0]
    np.save(tmp_path / "in.npy", image[None])  # (C, H, W)
    tifffile.imwrite(tmp_path / "in.tif", image)  # (H, W): one channel
    assert main(["predict", MODEL, str(tmp_path / "in.npy"), str(tmp_path / "out.zarr"), "--tile", "32x32"]) == 0
    out = capsys.readouterr().out
    assert "halo axis 0: left 24 px, right 24 px" in out and "per task at most" in out
    assert float(np.abs(np.asarray(zarr.open_array(str(tmp_path / "out.zarr"), mode="r")) - whole).max()) < 1e-9
    argv = ["predict", MODEL, str(tmp_path / "in.tif"), str(tmp_path / "out.npy"), "--tile", "32", "--json"]
    assert main(argv) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["halo"] == [[24, 24], [24, 24]] and info["shape"] == [2, 96, 80]
    assert float(np.abs(np.load(tmp_path / "out.npy") - whole).max()) < 1e-9
    # Never over a file unasked; --force replaces it.
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--force", "--scheduler", "sync"]) == 0
    assert main(["predict", MODEL, str(tmp_path / "missing.npy"), str(tmp_path / "x.zarr"), "--tile", "32"]) == 2
    assert main(["predict", MODEL, str(tmp_path / "in.npy"), str(tmp_path / "x.zarr"), "--tile", "32x"]) == 2


@pytest.mark.timeout(300)
def test_predict_a_torchscript_model_with_its_geometry_from_net(tmp_path: Path) -> None:
    """fx cannot trace TorchScript: --net gives the geometry, the model runs as it is."""
    zarr = pytest.importorskip("zarr")
    from rfgraph.spec import network_to_dict

    model = bm.seeded_unet2d()
    image = np.random.default_rng(4).random((1, 64, 48))
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 32, 32, dtype=torch.float64)), str(tmp_path / "m.ts"))
    (tmp_path / "net.json").write_text(json.dumps(network_to_dict(rf.from_torch(model, (64, 48)))))
    np.save(tmp_path / "in.npy", image)
    argv = ["predict", str(tmp_path / "m.ts"), str(tmp_path / "in.npy"), str(tmp_path / "o.zarr"), "--tile", "16"]
    assert main([*argv, "--net", str(tmp_path / "net.json"), "--no-progress"]) == 0
    got = np.asarray(zarr.open_array(str(tmp_path / "o.zarr"), mode="r"))
    assert float(np.abs(got - bm.whole(model, image[None])[0]).max()) < 1e-9


def test_halo_text_json_and_bioimageio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["halo", "unet_same", "--input", "512x512"]) == 0
    out = capsys.readouterr().out
    assert "left 107 px, right 107 px" in out and "16x16 px grid" in out
    assert main(["halo", "unet", "--input", "572x572", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["bioimageio"] == {"halo": [0, 0], "offset": [-184, -184]}  # valid U-Net: it crops itself
    target = tmp_path / "halo.yaml"
    assert main(["halo", "conv3p1,conv5p2", "--input", "64x64", "--bioimageio", "--out", str(target)]) == 0
    text = target.read_text()
    assert "type: space" in text and "halo: 3" in text and "halo: [0, 0, 3, 3]" in text
    assert main(["halo", "conv3p1", "--input", "64x64", "--bioimageio", "--out", str(target)]) == 2


def test_bioimageio_halo_crops_exactly_the_outputs_a_tile_gets_wrong() -> None:
    """Cropping bioimage.io's halo from a tile's output leaves outputs equal to the whole image's."""
    model = bm.seeded_unet2d()
    tile = (96, 96)
    net = rf.from_torch(model, tile)
    (h, w), _ = bioimageio_halo(net, tile)
    image = np.random.default_rng(3).random((1, 1, 192, 192))
    whole = bm.whole(model, image)
    y0, x0 = 48, 64  # on the 16 px alignment grid
    part = bm.whole(model, np.ascontiguousarray(image[:, :, y0 : y0 + 96, x0 : x0 + 96]))
    kept = part[:, :, h : 96 - h, w : 96 - w]
    assert float(np.abs(kept - whole[:, :, y0 + h : y0 + 96 - h, x0 + w : x0 + 96 - w]).max()) < 1e-9
    # One output pixel less cropped is wrong somewhere.
    wider = part[:, :, h - 1 : 97 - h, w - 1 : 97 - w]
    assert float(np.abs(wider - whole[:, :, y0 + h - 1 : y0 + 97 - h, x0 + w - 1 : x0 + 97 - w]).max()) > 1e-9
