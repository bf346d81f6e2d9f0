"""The package layout stays readable: no import cycles, small modules, light imports.

These are the rules of issue "A layout for the next 20,000 lines": each concept in one
file named after it, no module over ~600 lines, no import cycle between modules, and
importers that never reach into the engine's internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rfgraph as rf

PACKAGE = Path(rf.__file__).parent
MAX_LINES = 650  # "about 600"; a module above it must be one thing and listed here with the reason
ONE_THING: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _module_level_imports(name: str, path: Path, known: set[str], deep: bool = False) -> set[str]:
    """rfgraph modules imported at module level (not inside functions or TYPE_CHECKING blocks).

    With ``deep``, imports inside functions count too (lazy imports are still dependencies).
    """
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("rfgraph"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if not mod.startswith("rfgraph"):
                    continue
                for alias in node.names:
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if sub in known else mod)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(node.orelse)

    if deep:
        visit([n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)])  # type: ignore[misc]
    else:
        visit(tree.body)
    return {m for m in found if m in known and m != name}


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: _module_level_imports(name, path, known) for name, path in modules.items()}
    # A package importing its own submodules (re-exports) is fine; a submodule importing its
    # parent package back while the parent imports it would be a cycle, and so is any other loop.
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            dfs(name)


def test_no_module_over_about_600_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES and name not in ONE_THING
    }
    assert not long, f"split these modules (or list them in ONE_THING with the reason): {long}"


CORE = ("ops", "geometry", "plan", "arithmetic", "engine", "_kernels", "graph", "reference", "errors")


def test_core_has_no_loop_even_through_lazy_imports() -> None:
    modules = _modules()
    known = set(modules)
    core = {f"rfgraph.{c}" for c in CORE}
    graph = {c: _module_level_imports(c, modules[c], known, deep=True) & core for c in core}

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return any(n == b or (n not in seen and reaches(n, b, seen | {n})) for n in graph[a])

    loops = sorted(c for c in core if reaches(c, c, {c}))
    assert not loops, f"core modules that import themselves through others: {loops}"


def test_core_pipeline_is_flat_and_first() -> None:
    for name in ("ops", "geometry", "plan", "arithmetic", "engine", "_kernels", "graph", "reference", "errors", "spec"):
        assert (PACKAGE / f"{name}.py").is_file(), name
    for name in ("importers", "erf", "zoo", "plot", "cli"):
        assert (PACKAGE / name / "__init__.py").is_file(), name


def test_core_does_not_import_the_edges() -> None:
    # The core pipeline must not depend on importers, ERF tools, plots, the zoo or the CLI.
    modules = _modules()
    known = set(modules)
    edges = ("rfgraph.importers", "rfgraph.erf", "rfgraph.plot", "rfgraph.zoo", "rfgraph.cli", "rfgraph.web")
    for core in CORE:
        name = f"rfgraph.{core}"
        imported = _module_level_imports(name, modules[name], known, deep=True)
        assert not [m for m in imported if m.startswith(edges)], (name, imported)
