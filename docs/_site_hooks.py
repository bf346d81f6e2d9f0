"""mkdocs hooks of the documentation site (``mkdocs build --strict``; see ``mkdocs.yml``).

They add pages that are written from other sources, so that nothing is copied by hand:

* ``index.md`` from ``README.md`` and ``security.md`` from ``SECURITY.md`` (links into
  ``docs/`` rewritten to the site's pages);
* ``cli.md``: the command-line reference, every sub-command's ``--help`` as argparse
  prints it (:func:`rfgraph.cli.build_parser`);
* ``notebooks/*.ipynb``: the notebooks of ``notebooks/`` executed (they are committed
  without outputs), so that mkdocs-jupyter renders them with their figures.  They run in
  parallel, one kernel per core, and are cached in ``.cache/docs-notebooks/`` under a key
  made of the notebook and every ``rfgraph/**/*.py`` file, so a rebuild without changes
  runs nothing (``tests/test_notebooks.py`` fills the same cache, so CI builds after the tests
  run none).  A notebook that needs torch, timm or onnx when it is not installed is
  rendered as it is (no outputs) and the build says so; a notebook that fails fails the
  build.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _notebook_cache import CACHE, cache_path, code_key  # noqa: E402 (docs/ is no package)
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OPTIONAL = ("torch", "torchvision", "timm", "onnx", "ipywidgets")
NOTEBOOK_TIMEOUT = 300
log = logging.getLogger("mkdocs.hooks.rfgraph")


def _readme(text: str) -> str:
    """README.md as the site's home page: links into docs/ become links between pages."""
    text = re.sub(r"\]\(docs/", "](", text)
    text = text.replace("](SECURITY.md)", "](security.md)")
    return text


def _cli_reference() -> str:
    """Every sub-command's help, as ``rfgraph COMMAND --help`` prints it."""
    import argparse

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal width: fix it
    try:
        from rfgraph.cli import COMMANDS, build_parser

        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = [
            "# Command-line reference",
            "",
            "Written from the argument parser of `rfgraph` when the site is built"
            " (`docs/_site_hooks.py`), so it is always the installed command's own `--help`."
            " Bad input prints one line and exits with status 2.",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
        ]
        for name in COMMANDS:
            parts += ["", f"## `rfgraph {name}`", "", COMMANDS[name][1][:1].upper() + COMMANDS[name][1][1:] + ".", ""]
            parts += ["```text", sub.choices[name].format_help().rstrip(), "```"]
        return "\n".join(parts) + "\n"
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _missing(notebook: Path) -> list[str]:
    code = notebook.read_text(encoding="utf-8")
    return [
        name
        for name in OPTIONAL
        if re.search(rf"^\s*\"?\s*(import|from)\s+{name}\b", code, re.M) and importlib.util.find_spec(name) is None
    ]


def _execute(notebook: Path, out_dir: Path, key: str) -> Path:
    """The executed copy of ``notebook`` (from the cache when nothing changed)."""
    cached = cache_path(notebook, key)
    target = out_dir / notebook.name
    missing = _missing(notebook)
    if missing:
        log.info("%s is shown without outputs: it needs %s", notebook.name, ", ".join(missing))
        shutil.copyfile(notebook, target)
        return target
    if not cached.exists():
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the notebooks draw inline, as a reader sees them
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
        tmp = CACHE / f".{notebook.stem}-{os.getpid()}"
        run = subprocess.run(
            [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", f"--output-dir={tmp}"]
            + [f"--ExecutePreprocessor.timeout={NOTEBOOK_TIMEOUT}", "--ExecutePreprocessor.kernel_name=python3"]
            + [str(notebook)],
            cwd=NOTEBOOKS,
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            tail = "\n".join(run.stderr.strip().splitlines()[-15:])
            raise PluginError(f"notebook {notebook.name} failed to run:\n{tail}")
        (tmp / notebook.name).replace(cached)
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.copyfile(cached, target)
    return target


def _executed_notebooks(out_dir: Path) -> list[Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = code_key()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    with ThreadPoolExecutor(max_workers=max(1, min(len(notebooks), os.cpu_count() or 1))) as pool:
        done = list(pool.map(lambda nb: _execute(nb, out_dir, key), notebooks))
    keep = {cache_path(nb, key) for nb in notebooks}
    for old in set(CACHE.glob("*.ipynb")) - keep:  # earlier versions
        old.unlink(missing_ok=True)
    return done


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns the notebooks into pages
def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "index.md", content=_readme((ROOT / "README.md").read_text("utf-8"))))
    files.append(File.generated(config, "security.md", content=(ROOT / "SECURITY.md").read_text("utf-8")))
    files.append(File.generated(config, "cli.md", content=_cli_reference()))
    src = CACHE / "executed"
    shutil.rmtree(src, ignore_errors=True)
    for path in _executed_notebooks(src / "notebooks"):
        files.append(File(f"notebooks/{path.name}", str(src), config["site_dir"], config["use_directory_urls"]))
    return files


_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _role(match: re.Match[str]) -> str:
    short, path, call = match.group(1), match.group(2), match.group(3) or ""
    shown = path.rsplit(".", 1)[-1] if short else path
    return f'<autoref identifier="{path}" optional><code>{shown}{call}</code></autoref>'


def on_page_content(html: str, page, config, files) -> str:
    """Sphinx roles in the numpy docstrings (``:func:`rfgraph.reach```) become links (or code)."""
    return _ROLE.sub(_role, html)
