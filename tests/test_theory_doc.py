"""docs/theory.md is what docs/make_theory.py computes (issue 26: every number from code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_theory_page_is_generated_by_its_script():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("make_theory", ROOT / "docs" / "make_theory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "theory.md").read_text() == module.generate(), "run python docs/make_theory.py"
