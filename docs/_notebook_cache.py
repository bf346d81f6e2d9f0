"""Where the documentation site keeps executed notebooks (``.cache/docs-notebooks/``).

The key is the notebook's bytes and every ``rfgraph/**/*.py`` file, so an entry is used only
for the very code it ran with.  ``docs/_site_hooks.py`` reads and fills the cache;
``tests/test_notebooks.py`` fills it too after running a notebook, so that CI's
``mkdocs build --strict`` after the tests executes nothing again.  Needs no mkdocs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "docs-notebooks"


def code_key() -> str:
    """A digest of every ``rfgraph/**/*.py`` file (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "rfgraph").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_path(notebook: Path, key: str) -> Path:
    """The cache entry of ``notebook`` run against the code of ``key``."""
    digest = hashlib.sha256(notebook.read_bytes() + key.encode()).hexdigest()[:20]
    return CACHE / f"{notebook.stem}-{digest}.ipynb"
