"""README truths (issue 14): every number docs/readme_facts.py knows is the one the code gives."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _facts():
    spec = importlib.util.spec_from_file_location("readme_facts", ROOT / "docs" / "readme_facts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_facts"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


FACTS = _facts()
# The README is the integrator's; a claim known to be stale is marked here until it is updated
# (strict: once the README is right this xfail fails, and the marker must go).
STALE: dict[str, str] = {}


@pytest.mark.parametrize(
    "fact",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=STALE[f.what])) if f.what in STALE else f
        for f in FACTS.FACTS
    ],
    ids=lambda f: f.what,
)
def test_readme_states_what_the_code_computes(fact):
    found = re.search(fact.pattern, (ROOT / "README.md").read_text())
    assert found, f"README no longer states the {fact.what} (pattern {fact.pattern!r}); update docs/readme_facts.py"
    said, computed = found.group(1).strip(), fact.compute()
    assert said == computed, f"{fact.what}: README says {said}, the code computes {computed}"


def test_readme_shows_the_commands_that_make_the_pictures():
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    for command in module.COMMANDS:
        assert command in readme, f"README does not show the command that makes a picture: {command}"
