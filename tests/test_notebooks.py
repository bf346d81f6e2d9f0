"""Execute every notebook in notebooks/ top to bottom (nbclient); check that they are
committed without outputs, built from notebooks/build_notebooks.py, show their figures
inline and speak plainly.  (How long they take is not asserted here: no timed tests.)"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OPTIONAL = ("torch", "torchvision", "onnx", "ipywidgets")  # a notebook importing one is skipped without it


def _kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel inherits this process's environment and this rfgraph; matplotlib is left to
    the notebook (inline, as a reader sees it)."""
    monkeypatch.delenv("MPLBACKEND", raising=False)
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in [str(ROOT), path] if p))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not stripped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in OPTIONAL:
        if re.search(rf"^\s*(import|from)\s+{name}\b", code, re.M) and importlib.util.find_spec(name) is None:
            pytest.skip(f"{path.name} needs {name}")
    _kernel_env(monkeypatch)
    # "python3" is ipykernel's own spec; jupyter_client starts it with sys.executable,
    # so the kernel runs in this interpreter's environment (also in a fresh CI venv).
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} shows no inline figure"
    _keep_for_the_site(path, nb)


def _keep_for_the_site(path: Path, nb: object) -> None:
    """The documentation site renders executed notebooks (docs/_notebook_cache.py): keep this run,
    so that ``mkdocs build`` after the tests runs nothing again.  Never fails the test."""
    spec = importlib.util.spec_from_file_location("_notebook_cache", ROOT / "docs" / "_notebook_cache.py")
    if spec is None or spec.loader is None:
        return
    cache = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cache)
    target = cache.cache_path(path, cache.code_key())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        nbformat.write(nb, tmp)
        tmp.replace(target)
    except OSError:
        pass


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_reads_plainly(path):
    """Figures inline (no forced backend), and no internal labels such as "seed 003"."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "matplotlib.use(" not in code and "MPLBACKEND" not in code
    assert all(
        line.strip() == "%matplotlib inline" for line in code.splitlines() if line.strip().startswith("%matplotlib")
    )
    text = "\n".join(c.source for c in nb.cells)
    assert not re.search(r"\bseeds? ?0\d\d\b", text, re.I), f"{path.name} speaks of seed labels"
    assert "seed" not in path.name


def test_notebooks_are_built_from_the_script():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "notebooks" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for name, cells in module.NOTEBOOKS.items():
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert [c.source for c in nb.cells] == [src for _, src in cells], f"{name}: rerun notebooks/build_notebooks.py"


def test_one_notebook_has_a_target_slider():
    sources = ["\n".join(c.source for c in nbformat.read(p, as_version=4).cells) for p in NOTEBOOKS]
    assert any("ipywidgets" in s and "IntSlider" in s for s in sources)
