"""Execute every notebook in notebooks/ top to bottom (nbclient), and check that they
are committed without outputs and that all of them together stay under two minutes."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OPTIONAL = ("torch", "torchvision", "onnx")  # extras a notebook may import; it is skipped without them
TOTAL_BUDGET_S = 120.0
_elapsed: dict[str, float] = {}


def _kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel inherits this process's environment: headless matplotlib, this rfgraph."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
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
    start = time.perf_counter()
    client.execute()
    _elapsed[path.name] = time.perf_counter() - start


def test_notebooks_total_time():
    if not _elapsed:
        pytest.skip("no notebook was executed in this session")
    total = sum(_elapsed.values())
    print(f"notebooks: {total:.1f} s in all", {k: round(v, 1) for k, v in _elapsed.items()}, file=sys.stderr)
    assert total < TOTAL_BUDGET_S, f"notebooks took {total:.0f} s, over the {TOTAL_BUDGET_S:.0f} s budget"
