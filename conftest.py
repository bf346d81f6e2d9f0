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
collect_ignore = (
    [] if importlib.util.find_spec("torch") is not None else ["tests/torch_models.py", "tests/blockwise_models.py"]
)

# doctest item names that run dask (the `dask` extra)
_DASK_DOCTESTS = ("answers.distributed",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [name for name in ("torch", "onnx") if importlib.util.find_spec(name) is None]
    no_dask = importlib.util.find_spec("dask") is None
    if not missing and not no_dask:
        return
    skip = pytest.mark.skip(reason=f"optional extra not installed: {', '.join(missing)}")
    skip_dask = pytest.mark.skip(reason="optional extra not installed: dask")
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        if missing and any(part in item.name for part in _TORCH_DOCTESTS):
            item.add_marker(skip)
        elif no_dask and any(part in item.name for part in _DASK_DOCTESTS):
            item.add_marker(skip_dask)
