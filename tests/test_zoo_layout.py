"""The zoo package's layout: a small public face, family modules, cheap and cycle-free imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from rfgraph import zoo

FAMILY_MODULES = {"classic", "densenet", "inception", "mobile", "resnet", "segmentation"}
ZOO_DIR = Path(zoo.__file__).parent


def test_dir_shows_only_the_api_and_the_family_modules() -> None:
    public = {n for n in dir(zoo) if not n.startswith("_")}
    assert public == set(zoo.__all__) | {"FAMILIES"} | FAMILY_MODULES


def test_every_network_is_registered_by_its_family_module() -> None:
    modules = {e.builder.__module__.rsplit(".", 1)[-1] for e in zoo.entries()}
    assert modules == FAMILY_MODULES
    assert all(e.family in zoo.FAMILIES for e in zoo.entries())


def _zoo_imports(path: Path) -> set[str]:
    """The zoo modules that ``path`` imports (relative imports inside the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_zoo_modules_import_each_other_without_a_cycle_and_stay_short() -> None:
    graph = {p.stem: _zoo_imports(p) for p in ZOO_DIR.glob("*.py")}
    assert all(p.read_text().count("\n") <= 600 for p in ZOO_DIR.glob("*.py"))
    # only __init__ imports the package's modules by name; the others import downwards
    assert all("__init__" not in deps for deps in graph.values())
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle {' -> '.join((*path, module))}"
        if module not in done:
            for dep in graph.get(module, ()):
                visit(dep, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


def test_importing_the_zoo_stays_cheap() -> None:
    code = "import sys, rfgraph.zoo; print(sorted({'torch', 'matplotlib', 'onnx', 'timm'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
