"""The documentation site (mkdocs.yml, docs/_site_hooks.py): every page and notebook is in the
navigation, every API entry names an object that exists, the CLI reference covers every command.

The full ``mkdocs build --strict`` (which executes the notebooks) runs in ``.ci/run``; these checks
need neither mkdocs nor a kernel."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def _nav_entries() -> set[str]:
    return set(re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.(?:md|ipynb))\s*$", CONFIG, re.M))


def test_every_page_and_notebook_is_in_the_navigation():
    nav = _nav_entries()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    notebooks = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    generated = {"index.md", "security.md", "cli.md"}  # written by docs/_site_hooks.py
    assert pages | notebooks | generated == nav


def _resolve(path: str) -> object:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


@pytest.mark.parametrize("page", sorted((ROOT / "docs" / "api").glob("*.md")), ids=lambda p: p.name)
def test_api_entries_exist_and_have_docstrings(page):
    entries = re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M)
    assert entries, f"{page.name} documents nothing"
    for path in entries:
        if path.split(".")[:3] in (["rfgraph", "importers", "torch"], ["rfgraph", "importers", "onnx"]):
            pytest.importorskip(path.split(".")[2])
        if path.startswith(("rfgraph.erf.empirical", "rfgraph.erf.trained", "rfgraph.importers.to_torch")):
            pytest.importorskip("torch")
        obj = _resolve(path)
        assert (getattr(obj, "__doc__", None) or "").strip(), f"{path} has no docstring"


def test_cli_reference_covers_every_command(monkeypatch):
    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs" / "_site_hooks.py")
    pytest.importorskip("mkdocs")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    from rfgraph.cli import COMMANDS

    text = hooks._cli_reference()
    for name in COMMANDS:
        assert f"## `rfgraph {name}`" in text
        assert f"usage: rfgraph {name}" in text


def test_readme_says_how_to_build_the_site():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -e '.[docs]'" in readme and "mkdocs build --strict" in readme
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
