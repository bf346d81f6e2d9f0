"""The one model loader (SPEC section 12): every source, every command, the page.

``rf.load_network`` reads specs, zoo names, JSON/YAML and ONNX files, and torch models
(``torchvision:``, ``timm:``, ``pkg.module:factory``, TorchScript/.pt2 files, modules) with
``weights=`` loaded safely; the CLI's network commands and the page go through it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import rfgraph as rf
from rfgraph.importers.load import is_torch_source

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from rfgraph.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def small_net() -> torch.nn.Module:
    """A factory for ``tests.test_loader:small_net``: two 3x3 convolutions."""
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Conv2d(2, 1, 3, stride=2))


def test_what_is_a_torch_source() -> None:
    assert is_torch_source("torchvision:resnet18") and is_torch_source("timm:vit_tiny_patch16_224")
    assert is_torch_source("pkg.models:net") and is_torch_source("model.pt2") and is_torch_source(small_net())
    # a spec may name a layer after a colon: still a spec
    assert not is_torch_source("conv3p1:conv1_1") and not is_torch_source("conv3*5")
    assert rf.load_network("conv3p1:conv1_1") == rf.parse_spec("conv3p1:conv1_1")


def test_the_old_sources_still_load(tmp_path: Path) -> None:
    net = rf.Sequential(rf.Conv(3, name="a"), rf.Pool(2, name="b"))
    assert rf.load_network("conv3,conv3") == rf.Sequential(rf.Conv(3), rf.Conv(3))
    assert rf.load_network(net) is net
    assert rf.load_network("vgg16") == rf.zoo.build("vgg16")
    path = tmp_path / "n.json"
    path.write_text(json.dumps([{"type": "conv", "kernel_size": 3}]))
    assert rf.load_network(str(path)) == rf.Sequential(rf.Conv(3))
    with pytest.raises(rf.RFGraphError, match="torch models"):
        rf.load_network("conv3", weights="ckpt.pth")


def test_torch_sources_equal_from_torch(tmp_path: Path) -> None:
    shape = (32, 32)
    direct = rf.from_torch(torchvision.models.resnet18(weights=None), shape)
    loaded = rf.load_network("torchvision:resnet18", shape)
    assert rf.receptive_field(loaded, shape) == rf.receptive_field(direct, shape)
    # one size is a square of the model's dimensionality; a dotted factory is a source too
    assert rf.receptive_field(rf.load_network("torchvision.models:resnet18", (32,)), shape) == rf.receptive_field(
        direct, shape
    )
    # a module and weights (weights_only): the same graph
    ckpt = tmp_path / "small.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in small_net().state_dict().items()}}, ckpt)
    net = rf.load_network("tests.test_loader:small_net", (9, 9), weights=str(ckpt))
    assert rf.receptive_field(net, (9, 9))[-1].size == (5, 5)
    assert rf.load_network(small_net(), (9, 9)) == net
    with pytest.raises(rf.RFGraphError, match="do not fit"):
        rf.load_network("torchvision:resnet18", (32, 32), weights=str(ckpt))
    with pytest.raises(rf.RFGraphError, match="input size"):
        rf.load_network("torchvision:resnet18")
    # a TorchScript file (read through ONNX) and a torch.export file: the same graph
    script, exported = tmp_path / "small.pt", tmp_path / "small.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated
        torch.jit.save(torch.jit.script(small_net()), script)
    torch.export.save(torch.export.export(small_net(), (torch.zeros(1, 1, 9, 9),)), exported)
    for path in (script, exported):
        pytest.importorskip("onnx")
        assert rf.receptive_field(rf.load_network(str(path), (9, 9)), (9, 9))[-1].size == (5, 5), path


def test_factories_are_classes_or_functions() -> None:
    with pytest.raises(rf.RFGraphError, match="not a class or a Python function"):
        rf.load_network("os:system", (8, 8))
    with pytest.raises(rf.RFGraphError, match="importable module"):
        rf.load_network("nosuchmodule_xyz:net", (8, 8))
    with pytest.raises(rf.RFGraphError, match="no model"):
        rf.load_network("torchvision:resnet5", (8, 8))


@pytest.mark.slow
def test_a_timm_model_that_breaks_when_built_for_the_size_is_built_as_it_is() -> None:
    # CrossViT built with img_size=64 fails in its own forward (its two patch grids disagree);
    # built as it is, it resizes the input and imports as from_torch of the eager model does.
    timm = pytest.importorskip("timm")
    net = rf.load_network("timm:crossvit_tiny_240", (64, 64))
    eager = rf.from_torch(timm.create_model("crossvit_tiny_240", pretrained=False).eval(), (64, 64))
    assert rf.receptive_field(net, (64, 64))[-1] == rf.receptive_field(eager, (64, 64))[-1]


@pytest.mark.slow
def test_every_network_command_takes_torch_names(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("timm")
    code, out, err = _cli(capsys, "table", "torchvision:resnet18", "--input", "64x64")
    assert code == 0 and "layer4.1" in out, err
    code, out, err = _cli(capsys, "map", "timm:resnet18", "-i", "64", "--json")
    assert code == 0 and json.loads(out)["shape"] == [64, 64], err
    code, out, err = _cli(capsys, "tile", "torchvision:resnet18", "-i", "64x64", "-e", "layer2", "--tile", "32")
    assert code == 0 and "halo axis 1" in out, err
    code, out, err = _cli(capsys, "check", "torchvision:resnet18", "-i", "64x64", "--max-rf", "10")
    assert code == 1 and "above --max-rf 10" in err
    code, out, err = _cli(capsys, "pyramid", "timm:resnet18", "--input", "128x128", "--anchors", "16,32,64,128,256")
    assert code == 0 and "layer4" in out, err
    for command in ("profile", "erf", "coverage", "valid", "sizes"):
        code, out, err = _cli(capsys, command, "tests.test_loader:small_net", "-i", "9x9")
        assert code == 0, (command, err)
    code, out, err = _cli(capsys, "table", "torchvision:resnet18")
    assert code == 2 and "--input" in err and len(err.strip().splitlines()) == 1


def test_the_page_takes_registry_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from rfgraph.importers import load
    from rfgraph.web.api import dispatch

    calls = []
    real = load.load_torch_model
    monkeypatch.setattr(load, "load_torch_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(load, "_CACHE", type(load._CACHE)())
    status, body = dispatch("/api/map", "net=torchvision:resnet18&input=32x32")
    assert status == 200 and body["shape"] == [32, 32]
    status, body = dispatch("/api/view", "net=torchvision:resnet18&input=32x32")
    assert status == 200 and len(calls) == 1  # imported once, cached per (source, shape, weights)
    status, body = dispatch("/api/map", "net=torchvision:resnet5&input=32x32")
    assert status == 400 and "no model" in body["error"]
    status, body = dispatch("/api/map", "net=torchvision:../../etc&input=8")
    assert status == 400 and "not a registry model" in body["error"]


def test_minus_o_means_out_everywhere() -> None:
    from rfgraph.cli import build_parser

    parser = build_parser()
    for command in ("map", "profile", "graph", "coverage", "valid", "erf-model"):
        args = parser.parse_args([command, "x", "-o", "f.png"])
        assert args.out == "f.png", command
    args = parser.parse_args(["erf-model", "x", "-l", "layer3", "-w", "c.pth"])
    assert args.output == "layer3" and args.weights == "c.pth"
    for command in ("table", "map", "tile", "valid", "sizes", "pyramid", "check", "coverage", "erf", "profile"):
        extra = ["--tile", "8"] if command == "tile" else []
        assert parser.parse_args([command, "x", "-w", "c.pth", *extra]).weights == "c.pth", command


def test_doctor_says_what_works(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "doctor", "--json")
    data = json.loads(out)
    names = {p["name"]: p for p in data["packages"]}
    assert code == 0 and names["torch"]["version"] == torch.__version__ and names["numpy"]["version"]
    assert data["torch_build"].startswith(("CPU-only", "CUDA"))
    code, out, _ = _cli(capsys, "doctor")
    assert code == 0 and "torch" in out and "ok:" in out


def test_readme_says_how_to_get_cpu_torch_and_which_extra_brings_what() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme and "rfgraph doctor" in readme
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in ("torch", "timm", "onnx", "notebooks", "all"):
        assert f"`[{extra}]`" in readme and extra in extras
    assert any("torch" in dep for dep in extras["notebooks"])  # notebooks 05, 07, 08 and Luo's layout import it
    # the first screen: exactly two set-up commands
    first = readme.split("\n## ")[0]
    assert first.count("pip install") == 2
