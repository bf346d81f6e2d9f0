"""Doctests that need an optional extra are skipped (not failed) when it is absent."""

from __future__ import annotations

import importlib.util

import pytest

# doctest item names (module or function) that run torch code
_TORCH_DOCTESTS = (
    "importers.",
    "erf.images",
    "erf.trained",
    "erf.side_by_side",
    "levels_from_torch",
    "empirical_erf",
    "compare_empirical",
)


# Helper modules of the tests that import an optional extra at module level: without the
# extra, --doctest-modules would fail to import them (the tests that use them skip).
collect_ignore = [] if importlib.util.find_spec("torch") is not None else ["tests/torch_models.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [name for name in ("torch", "onnx") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"optional extra not installed: {', '.join(missing)}")
    for item in items:
        if isinstance(item, pytest.DoctestItem) and any(part in item.name for part in _TORCH_DOCTESTS):
            item.add_marker(skip)
