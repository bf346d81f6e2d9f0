"""rfgraph atlas (SPEC section 13): one task per model, a row each, resumable."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rfgraph as rf
from rfgraph.answers.distributed.sweep import AtlasItem, _timm_options, atlas, atlas_row, read_rows, resolve_patterns
from rfgraph.cli import main


def test_patterns_resolve_globs_after_a_prefix_only() -> None:
    items = resolve_patterns(["zoo:resnet1*", "conv3*5", "unet_same", "zoo:resnet18"])
    assert [i.key for i in items] == ["zoo:resnet101", "zoo:resnet152", "zoo:resnet18", "spec:conv3*5", "zoo:unet_same"]
    with pytest.raises(rf.RFGraphError, match="matches no zoo network"):
        resolve_patterns(["zoo:nothing*"])
    pytest.importorskip("timm")
    timm_items = resolve_patterns(["timm:resnet1*t"])
    assert {"timm:resnet10t", "timm:resnet14t"} <= {i.key for i in timm_items}
    with pytest.raises(rf.RFGraphError, match="matches no timm model"):
        resolve_patterns(["timm:no_such_model_*"])
    # A ViT made for 384 px is built for the sweep's size; a CNN is built as it is.
    options, note = _timm_options(AtlasItem("timm", "deit_base_distilled_patch16_384"), (224, 224))
    assert options == {"img_size": 224} and "default is 384x384" in note
    assert _timm_options(AtlasItem("timm", "resnet18"), (224, 224)) == ({}, "")


def test_rows_say_what_imports_and_why_not() -> None:
    row = atlas_row(AtlasItem("spec", "conv3*5"), (32, 32))
    assert row["status"] == "imports" and row["stride"] == "1" and row["field"] == "11"
    assert row["erf95_side"] == 9 and row["erf_std"] == "1.83" and row["tensor"] == "output"
    bad = atlas_row(AtlasItem("spec", "conv3s2*9"), (32, 32))  # nothing left of a 32 px input
    assert bad["status"] == "fails" and bad["reason"]
    unknown = atlas_row(AtlasItem("spec", "no-such-layer"), (32, 32))
    assert unknown["status"] == "not built" and "no-such-layer" in unknown["reason"]
    # A classifier: the checked tensor is the last spatial one, before the global pooling.
    vgg = atlas_row(AtlasItem("zoo", "vgg11"), (64, 64))
    assert vgg["status"] == "imports" and vgg["stride"] == "32"


def test_resumes_and_writes_csv_and_json(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    seen: list[str] = []
    atlas(["conv3*5", "conv5*2"], (32, 32), out=out, on_row=lambda r: seen.append(r["model"]))
    rows = atlas(["conv3*5", "conv5*2", "conv7"], (32, 32), out=out, on_row=lambda r: seen.append(r["model"]))
    assert seen == ["spec:conv3*5", "spec:conv5*2", "spec:conv7"]  # the second sweep ran conv7 only
    assert [r["model"] for r in rows] == seen
    with out.open(newline="") as f:
        assert [r["model"] for r in csv.DictReader(f)] == seen
    # Another input size is another row.
    atlas(["conv7"], (48, 48), out=out)
    assert len(read_rows(out)) == 4
    js = tmp_path / "a.json"
    atlas(["conv3*5"], (32, 32), out=js)
    data = json.loads(js.read_text())
    assert data[0]["model"] == "spec:conv3*5" and data[0]["field"] == "11"
    assert atlas(["conv3*5"], (32, 32), out=js, fresh=True)[0]["status"] == "imports"


def test_refuses_links_and_unknown_formats(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    os.symlink(tmp_path / "target.csv", link)
    with pytest.raises(rf.RFGraphError, match="symbolic link"):
        atlas(["conv3"], (16,), out=link)
    with pytest.raises(rf.RFGraphError, match=r"\.csv or \.json"):
        atlas(["conv3"], (16,), out=tmp_path / "a.txt")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(rf.RFGraphError, match="pyarrow"):
            atlas(["conv3"], (16,), out=tmp_path / "a.parquet")
    assert not (tmp_path / "target.csv").exists()
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(rf.RFGraphError, match="not an atlas file"):
        atlas(["conv3"], (16,), out=other)
    assert other.read_text() == "a,b\n1,2\n"


def test_cli_prints_rows_and_help_imports_no_dask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["atlas", "conv3*5", "zoo:vgg11", "--input", "64x64", "--out", str(tmp_path / "a.csv")]) == 0
    out = capsys.readouterr().out
    assert "spec:conv3*5" in out and "zoo:vgg11" in out and "2 models, 2 import" in out
    assert main(["atlas", "zoo:nothing*", "--input", "64x64"]) == 2
    code = (
        "import sys\nfrom rfgraph.cli import main\n"
        "for argv in (['--help'], ['atlas', '--help'], ['predict', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "assert not [m for m in sys.modules if m.startswith(('dask', 'distributed', 'zarr', 'torch'))]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_must_show_row_per_model(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    pytest.importorskip("torchvision")
    out = tmp_path / "a.csv"
    argv = ["atlas", "torchvision:resnet18", "timm:mobilenetv3_small_100", "conv3*5", "--input", "96x96"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = read_rows(out)
    assert [r["model"] for r in rows] == ["torchvision:resnet18", "timm:mobilenetv3_small_100", "spec:conv3*5"]
    assert all(r["status"] == "imports" for r in rows)
    assert rows[0]["stride"] == "32" and rows[0]["field"] == "435"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_worker_processes_give_the_same_rows(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    patterns = ["conv3*5", "conv5*3", "zoo:vgg11", "unet_same"]
    local = atlas(patterns, (64, 64))
    spread = atlas(patterns, (64, 64), workers=2, out=tmp_path / "a.json")
    keep = ("model", "status", "stride", "field", "erf_std", "erf95_side")
    assert [{k: r.get(k) for k in keep} for r in spread] == [{k: r.get(k) for k in keep} for r in local]
