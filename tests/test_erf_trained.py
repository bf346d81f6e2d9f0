"""rf.erf.load_model / load_weights / load_images / gradient_erf: the ERF of a user's own model."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import rfgraph as rf  # noqa: E402
from rfgraph import erf  # noqa: E402


def _small_cnn(ndim: int = 2, bn: bool = True) -> nn.Module:
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[ndim]
    norm = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[ndim]
    pool = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[ndim]
    layers = [conv(2, 4, 3, padding=1), norm(4) if bn else nn.Identity(), nn.ReLU(), conv(4, 4, 3, stride=2)]
    return nn.Sequential(
        nn.Sequential(*layers), nn.ReLU(), conv(4, 3, 3, padding=1), pool(1), nn.Flatten(), nn.Linear(3, 2)
    )


def _hand_loop(forward, x: torch.Tensor, reduce: str) -> np.ndarray:
    """Luo's protocol and RepLKNet's visualize_erf.py, one input at a time, written out by hand."""
    maps = []
    for i in range(x.shape[0]):
        sample = x[i : i + 1].clone().requires_grad_(True)
        out = forward(sample)
        centre = tuple(n // 2 for n in out.shape[2:])
        value = out[(slice(None), slice(None), *centre)]
        if reduce == "replknet":
            value = torch.relu(value)
        (grad,) = torch.autograd.grad(value.sum(), sample)
        grad = grad.abs() if reduce == "abs" else torch.relu(grad)
        maps.append(grad.sum((0, 1)).double().numpy())
    return np.mean(maps, axis=0)


# --------------------------------------------------------------------------- gradient_erf


@pytest.mark.parametrize("reduce", ["abs", "replknet"])
def test_equals_hand_loop_on_a_submodule(reduce: str) -> None:
    torch.manual_seed(0)
    model = _small_cnn().eval()
    x = torch.randn(5, 2, 13, 11)
    got = erf.gradient_erf(model, x, output="2", reduce=reduce, batch_size=2)
    want = _hand_loop(lambda s: model[2](model[1](model[0](s))), x, reduce)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)
    assert got.shape == (13, 11) and got.dtype == np.float64


@pytest.mark.parametrize("ndim, shape", [(1, (17,)), (3, (7, 9, 8))])
def test_one_and_three_spatial_axes(ndim: int, shape: tuple[int, ...]) -> None:
    torch.manual_seed(1)
    model = _small_cnn(ndim).eval()
    x = torch.randn(3, 2, *shape)
    got = erf.gradient_erf(model, x, output="0")
    np.testing.assert_allclose(got, _hand_loop(model[0], x, "abs"), rtol=1e-5, atol=1e-9)
    assert got.shape == shape


def test_batch_size_does_not_change_the_result() -> None:
    torch.manual_seed(2)
    model = _small_cnn(bn=False)
    x = torch.randn(7, 2, 12, 12)
    a = erf.gradient_erf(model, x, output="2", batch_size=1)
    b = erf.gradient_erf(model, x, output="2", batch_size=7)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_square_and_target() -> None:
    model = nn.Conv1d(1, 1, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[[1.0, -2.0, 3.0]]]))
    got = erf.gradient_erf(model, torch.zeros(1, 1, 7), target=(0,), reduce="square")
    assert got.tolist() == [1.0, 4.0, 9.0, 0.0, 0.0, 0.0, 0.0]


def test_train_mode_model_with_real_batchnorm_statistics_comes_back_bit_for_bit() -> None:
    torch.manual_seed(3)
    model = _small_cnn()
    model.train()
    for _ in range(3):  # real running statistics, num_batches_tracked = 3
        model(torch.randn(4, 2, 10, 10) * 2 + 1)
    model[0][2].eval()  # a mixed state must come back too
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    grads = [p.grad for p in model.parameters()]
    erf.gradient_erf(model, torch.randn(3, 2, 10, 10), output="2")
    erf.gradient_erf(model, torch.randn(3, 2, 10, 10), output="0", reduce="replknet", batch_size=2)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for k, v in before.items():
        assert torch.equal(v, after[k]) and v.dtype == after[k].dtype, k
    assert int(after["0.1.num_batches_tracked"]) == 3
    assert [m.training for m in model.modules()] == modes
    assert [p.grad for p in model.parameters()] == grads


def test_eval_mode_is_used() -> None:
    # In train mode BatchNorm would mix the inputs of a batch; in eval mode each input is alone.
    torch.manual_seed(4)
    model = _small_cnn()
    model(torch.randn(8, 2, 9, 9))  # running stats
    model.train()
    x = torch.randn(4, 2, 9, 9)
    got = erf.gradient_erf(model, x, output="0", batch_size=4)
    model.eval()
    want = _hand_loop(model[0], x, "abs")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)


def test_dict_and_tuple_outputs() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1, bias=False)
            self.b = nn.Conv2d(1, 1, 5, padding=2, bias=False)

        def forward(self, x):
            return {"small": self.a(x), "out": self.b(x)}

    class Pair(Two):
        def forward(self, x):
            return self.a(x), self.b(x)

    x = torch.ones(1, 1, 9, 9)
    d, p = Two(), Pair()
    p.load_state_dict(d.state_dict())
    big = erf.gradient_erf(d, x)  # "out" by default
    assert np.count_nonzero(big) == 25
    assert np.count_nonzero(erf.gradient_erf(d, x, output="small")) == 9
    np.testing.assert_allclose(erf.gradient_erf(p, x, output=1), big)
    assert np.count_nonzero(erf.gradient_erf(p, x, output=0)) == 9
    with pytest.raises(rf.RFGraphError, match="keys"):
        erf.gradient_erf(d, x, output="nope")


def test_no_spatial_output_names_the_submodules_to_use() -> None:
    model = _small_cnn()
    with pytest.raises(rf.RFGraphError, match=r"spatial axes.*output=.*'2'.*'0'"):
        erf.gradient_erf(model, torch.randn(2, 2, 10, 10))
    names = [n for n, _ in erf.spatial_outputs(model, torch.randn(1, 2, 10, 10))]
    assert names[-1] == "2" and "5" not in names


def test_bad_arguments() -> None:
    model = _small_cnn()
    x = torch.randn(2, 2, 10, 10)
    for kwargs, match in [
        ({"reduce": "max"}, "reduce"),
        ({"batch_size": 0}, "batch_size"),
        ({"output": "2", "target": (9, 9)}, "outside"),
        ({"device": "tpu9"}, "device"),
    ]:
        with pytest.raises(rf.RFGraphError, match=match):
            erf.gradient_erf(model, x, **kwargs)
    with pytest.raises(rf.RFGraphError, match="spatial"):
        erf.gradient_erf(model, torch.randn(2, 10))
    with pytest.raises(rf.RFGraphError, match="failed"):
        erf.gradient_erf(model, torch.randn(2, 5, 10, 10), output="2")
    if not torch.cuda.is_available():
        with pytest.raises(rf.RFGraphError, match="CUDA"):
            erf.gradient_erf(model, x, output="2", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_when_asked() -> None:  # pragma: no cover - no GPU in CI
    model = _small_cnn().eval()
    x = torch.randn(3, 2, 10, 10)
    np.testing.assert_allclose(
        erf.gradient_erf(model, x, output="2", device="cuda"), erf.gradient_erf(model, x, output="2"), rtol=1e-4
    )
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.slow
@pytest.mark.parametrize("reduce", ["abs", "replknet"])
def test_torchvision_resnet18_layer3_equals_hand_loop(reduce: str) -> None:
    pytest.importorskip("torchvision")
    torch.manual_seed(5)
    model = erf.load_model("torchvision:resnet18")
    x = torch.randn(2, 3, 64, 64)

    def forward(s):  # ResNet up to layer3, as RepLKNet's ResNetForERF writes it
        s = model.maxpool(model.relu(model.bn1(model.conv1(s))))
        return model.layer3(model.layer2(model.layer1(s)))

    got = erf.gradient_erf(model, x, output="layer3", reduce=reduce)
    np.testing.assert_allclose(got, _hand_loop(forward, x, reduce), rtol=1e-4, atol=1e-5 * float(got.max()))


@pytest.mark.slow
@pytest.mark.parametrize("reduce", ["abs", "replknet"])
def test_timm_convnext_stage_equals_hand_loop(reduce: str) -> None:
    pytest.importorskip("timm")
    torch.manual_seed(6)
    model = erf.load_model("timm:convnext_atto")
    x = torch.randn(2, 3, 64, 64)
    got = erf.gradient_erf(model, x, output="stages.1", reduce=reduce)
    want = _hand_loop(lambda s: model.stages[1](model.stages[0](model.stem(s))), x, reduce)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(got.max()))


# --------------------------------------------------------------------------- load_model / load_weights


class _Marker:
    """Unpickling this would create a file: the proof that a pickle ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_malicious_checkpoint_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    model = _small_cnn()
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": model.state_dict(), "extra": _Marker(str(marker))}, bad)
    assert not marker.exists()
    with pytest.raises(rf.RFGraphError, match="weights_only"):
        erf.load_model(_small_cnn(), weights=bad)
    assert not marker.exists()
    with pytest.raises(rf.RFGraphError):  # nor as a model file
        erf.load_model(str(bad))
    assert not marker.exists()
    plain = tmp_path / "plain.pkl"  # a bare pickle, not even a torch file
    plain.write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(rf.RFGraphError):
        erf.load_model(_small_cnn(), weights=plain)
    assert not marker.exists()


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model", "module", "both"])
def test_checkpoint_wrappers(tmp_path: Path, wrap: str) -> None:
    torch.manual_seed(7)
    src = _small_cnn()
    sd = src.state_dict()
    if wrap in ("module", "both"):
        sd = {"module." + k: v for k, v in sd.items()}
    ckpt = {"plain": sd, "state_dict": {"state_dict": sd, "epoch": 3}, "model": {"model": sd}}.get(wrap, sd)
    if wrap == "both":
        ckpt = {"model": sd, "optimizer": {"lr": 0.1}}
    path = tmp_path / "w.pth"
    torch.save(ckpt, path)
    dst = erf.load_model(_small_cnn(), weights=path)
    for k, v in src.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k]), k


def test_mismatched_weights_name_keys(tmp_path: Path) -> None:
    sd = _small_cnn().state_dict()
    del sd["2.weight"]
    sd["extra.weight"] = torch.zeros(1)
    sd["5.bias"] = torch.zeros(7)
    with pytest.raises(rf.RFGraphError, match=r"missing: '2.weight'.*unexpected: 'extra.weight'.*'5.bias'"):
        erf.load_weights(_small_cnn(), sd)
    with pytest.raises(rf.RFGraphError, match="does not exist"):
        erf.load_weights(_small_cnn(), tmp_path / "nope.pth")


def test_torchscript_and_export_files_load(tmp_path: Path) -> None:
    torch.manual_seed(8)
    model = _small_cnn().eval()
    x = torch.randn(2, 2, 10, 10)
    ts = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(model), ts)
    loaded = erf.load_model(ts)
    assert isinstance(loaded, torch.jit.ScriptModule)
    torch.testing.assert_close(loaded(x), model(x))
    ep = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (x,)), ep)
    exported = erf.load_model(ep)
    torch.testing.assert_close(exported(x), model(x))
    with pytest.raises(rf.RFGraphError, match="one graph"):  # an exported graph has no submodule calls
        erf.gradient_erf(exported, x, output="2")
    head = torch.nn.Sequential(*model[:3])
    torch.export.save(torch.export.export(head, (x,)), ep2 := tmp_path / "head.pt2")
    got = erf.gradient_erf(erf.load_model(ep2), x)
    np.testing.assert_allclose(got, _hand_loop(head, x, "abs"), rtol=1e-5)
    torch.jit.save(torch.jit.script(head), ts2 := tmp_path / "head.pt")
    np.testing.assert_allclose(erf.gradient_erf(erf.load_model(ts2), x), got, rtol=1e-5)
    ckpt = tmp_path / "sd.pth"
    torch.save(model.state_dict(), ckpt)
    with pytest.raises(rf.RFGraphError, match="weights="):
        erf.load_model(ckpt)


def test_names_and_factories() -> None:
    pytest.importorskip("torchvision")
    m = erf.load_model("torchvision:resnet18", num_classes=3)
    assert m.fc.out_features == 3 and not m.training
    f = erf.load_model("torch.nn:Conv2d", in_channels=1, out_channels=2, kernel_size=3)
    assert isinstance(f, nn.Conv2d)
    for bad, match in [
        ("torchvision:nope", "no model"),
        ("timm:nope_net", "timm"),
        ("no_such_pkg_xyz:f", "cannot import"),
        ("torch.nn:Nope", "has no"),
        ("resnet18", "no such file"),
        ("math:pi", "not a torch.nn.Module"),
    ]:
        with pytest.raises(rf.RFGraphError, match=match):
            erf.load_model(bad)


# --------------------------------------------------------------------------- load_images


def test_folder_of_pngs_loads_as_nchw(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for i, size in enumerate([(20, 30), (16, 16), (40, 12)]):
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        image.fromarray(pixels).save(tmp_path / f"img{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    x = erf.load_images(tmp_path, (24, 24))
    assert tuple(x.shape) == (3, 3, 24, 24) and x.dtype == torch.float32
    raw = erf.load_images(str(tmp_path / "*.png"), 24, normalize=None, fit="crop", limit=2)
    assert tuple(raw.shape) == (2, 3, 24, 24) and float(raw.min()) >= 0 and float(raw.max()) <= 1
    grey = erf.load_images(tmp_path / "img1.png", (16, 16), channels=1, normalize=None)
    assert tuple(grey.shape) == (1, 1, 16, 16)
    same = np.asarray(image.open(tmp_path / "img1.png").convert("L"), dtype=np.float32) / 255
    np.testing.assert_allclose(grey[0, 0].numpy(), same, atol=1e-6)


def test_images_from_arrays_and_noise(tmp_path: Path) -> None:
    arr = np.full((2, 3, 8, 8), 255, dtype=np.uint8)
    x = erf.load_images(arr, (8, 8))
    np.testing.assert_allclose(x[0, :, 0, 0].numpy(), (1 - np.array(erf.IMAGENET_MEAN)) / erf.IMAGENET_STD, rtol=1e-6)
    np.save(tmp_path / "a.npy", np.zeros((4, 1, 10), dtype=np.float32))
    assert tuple(erf.load_images(tmp_path / "a.npy", 20, channels=1, normalize=None).shape) == (4, 1, 20)
    n = erf.load_images("noise:6", (5, 6, 7), channels=2)
    assert tuple(n.shape) == (6, 2, 5, 6, 7)
    for bad, match in [
        (tmp_path / "missing", "no such"),
        ("noise:x", "noise:N"),
        (np.zeros((2, 4, 8, 8)), "channels"),
        (np.full((1, 3, 8, 8), np.nan), "NaN"),
    ]:
        with pytest.raises(rf.RFGraphError, match=match):
            erf.load_images(bad, (8, 8))
    os.mkdir(tmp_path / "empty")
    with pytest.raises(rf.RFGraphError, match="no image files"):
        erf.load_images(tmp_path / "empty", (8, 8))


# --------------------------------------------------------------------------- compare_trained


def _two_convs() -> nn.Module:
    torch.manual_seed(9)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 3, 3, stride=2), nn.ReLU(), nn.Conv2d(3, 2, 3)
    )


def test_compare_trained_numbers() -> None:
    model = _two_convs()
    x = torch.randn(6, 1, 17, 17)
    c = erf.compare_trained(model, x, output="4")
    assert set(c.maps) == {"trained", "untrained", "paths", "edges"}
    net = rf.from_torch(model, (17, 17))
    paths = rf.contribution_map(net, (17, 17), "paths", endpoint="3")  # the ReLU "4" acts on "3"
    np.testing.assert_array_equal(c.maps["paths"], paths)
    assert any("'3'" in n for n in c.notes)
    np.testing.assert_allclose(c.maps["trained"], erf.gradient_erf(model, x, output="4"))
    # The gradient lives inside the exact support: all of its mass is inside the field.
    assert c.box == ((6, 10), (6, 10)) and c.target == (3, 3)
    assert c.inside["trained"] == pytest.approx(1.0) and c.inside["untrained"] == pytest.approx(1.0)
    assert -1 <= c.correlation["trained"]["paths"] <= 1
    assert set(c.stats["trained"].replknet_area_ratio) == {0.2, 0.3, 0.5, 0.99}
    assert not np.allclose(c.maps["untrained"], c.maps["trained"])
    assert "corr paths" in c.summary() and c.as_dict()["inputs"] == 6


def test_compare_trained_without_exact_maps_says_why() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            return torch.fft.fft2(self.conv(x)).real  # not importable: no exact graph

    c = erf.compare_trained(Odd(), torch.randn(2, 1, 9, 9), untrained=False)
    assert set(c.maps) == {"trained"} and any("exact maps" in n for n in c.notes)
    # With output= the submodule before the part that does not import, the exact maps are there.
    c = erf.compare_trained(Odd(), torch.randn(2, 1, 9, 9), "conv", untrained=False)
    assert set(c.maps) == {"trained", "paths", "edges"} and any("up to 'conv'" in n for n in c.notes)
    assert c.box == ((3, 5), (3, 5))


def test_plot_trained(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    c = erf.compare_trained(_two_convs(), torch.randn(3, 1, 17, 17), output="4")
    fig = erf.plot_trained(c, fig=Figure())
    assert len(fig.axes) == 5  # four panels and the colour bar
    fig.savefig(tmp_path / "f.png")


# --------------------------------------------------------------------------- CLI


def _small_classifier() -> nn.Module:
    torch.manual_seed(10)
    return _small_cnn()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from rfgraph.cli import main

    code = main(["erf-model", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_picks_the_last_spatial_tensor_and_writes_safely(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    src = "tests.test_erf_trained:_small_classifier"
    code, out, err = _cli(capsys, src, "--input", "12", "--channels", "2", "--images", "noise:3", "--no-untrained")
    assert code == 0 and "using '2'" in err and "corr paths" in out
    npy = tmp_path / "erf.npy"
    code, out, _ = _cli(capsys, src, "-i", "12", "--channels", "2", "--images", "noise:3", "--out", str(npy), "--json")
    data = json.loads(out)
    assert code == 0 and data["output"] == "2" and "last spatial tensor" in data["notes"][0]
    assert np.load(npy).shape == (12, 12)
    code, _, err = _cli(capsys, src, "-i", "12", "--channels", "2", "--out", str(npy))
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    code, _, err = _cli(capsys, src, "-i", "12", "--channels", "2", "--out", str(link), "--force")
    # --force replaces the link itself (rfgraph.output's rule); nothing is ever written through it
    assert code == 0 and not link.is_symlink() and not (tmp_path / "elsewhere.png").exists()
    code, _, _ = _cli(capsys, src, "-i", "12", "--channels", "2", "--output", "0", "--out", str(npy), "--force")
    assert code == 0 and not list(tmp_path.glob(".erf.npy*"))  # no temporary file left behind


def test_cli_refuses_a_malicious_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.pth"
    torch.save({"model": _Marker(str(marker))}, bad)
    code, _, err = _cli(capsys, "tests.test_erf_trained:_small_classifier", "--weights", str(bad), "-i", "12")
    assert code == 2 and "weights_only" in err and not marker.exists()


def test_cli_help_lists_erf_model(capsys: pytest.CaptureFixture) -> None:
    from rfgraph.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "erf-model" in capsys.readouterr().out


def test_image_files_without_pillow_say_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails
    with pytest.raises(rf.RFGraphError, match="pip install pillow"):
        erf.load_images(tmp_path, (8, 8))
    assert tuple(erf.load_images(np.zeros((1, 3, 8, 8)), (8, 8)).shape) == (1, 3, 8, 8)  # arrays need no Pillow


def test_float64_model_and_crop_of_arrays() -> None:
    torch.manual_seed(11)
    model = _small_cnn().double().eval()
    arrays = np.random.default_rng(0).normal(size=(4, 2, 24, 12))
    x = erf.load_images(arrays, (12, 12), channels=2, fit="crop", normalize=None)
    assert tuple(x.shape) == (4, 2, 12, 12)
    got = erf.gradient_erf(model, x, output="2")
    np.testing.assert_allclose(got, _hand_loop(lambda s: model[2](model[1](model[0](s))), x.double(), "abs"))
    assert got.max() > 0
    with pytest.raises(rf.RFGraphError, match="'2'"):
        erf.gradient_erf(model, x)
