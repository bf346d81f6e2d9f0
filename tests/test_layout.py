"""The package layout shows the architecture: description -> plan -> engine -> answers.

The rules (issues "A layout for the next 20,000 lines" and "A house whose core you can
see"): a package per concept, at most 16 entries at the top of ``rfgraph/``, no module over
~600 lines, no import cycle anywhere (imports inside functions count), no compatibility
shims, the core imports nothing from the edges, and the engine keeps no legacy path.
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


def _import_graph(deep: bool) -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _module_level_imports(name, path, known, deep=deep) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := dfs(name)):
            return found
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(_import_graph(deep=False))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    # A lazy import is still a dependency: a loop through one means the two modules are one
    # concept cut in two, or one of them is in the wrong room.
    cycle = find_cycle(_import_graph(deep=True))
    assert cycle is None, "import cycle (imports inside functions included): " + " -> ".join(cycle or [])


def test_cycle_finder_sees_a_lazy_cycle() -> None:
    # The check above is only worth something if it fails when a circle is put back.
    graph = _import_graph(deep=True)
    graph["rfgraph.ops"] = graph["rfgraph.ops"] | {"rfgraph.engine"}
    assert find_cycle(graph) is not None


def test_no_module_over_about_600_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES and name not in ONE_THING
    }
    assert not long, f"split these modules (or list them in ONE_THING with the reason): {long}"


# The core, in the order data flows through it: description -> plan -> engine -> answers.
DESCRIPTION = ("ops", "spec", "geometry")
CORE = (*DESCRIPTION, "plan", "arithmetic", "engine", "graph", "errors")
ANSWERS = "answers"
EDGES = ("importers", "erf", "zoo", "plot", "cli", "web")
MAX_TOP_LEVEL = 16


def _top_level() -> list[str]:
    return sorted(
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").is_file())
    )


def test_top_level_is_small_and_names_the_rooms() -> None:
    top = _top_level()
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} modules at the top of rfgraph/ (at most {MAX_TOP_LEVEL}): {top}"
    for name in (*CORE, ANSWERS, *EDGES):
        assert name in top, name
    for name in ("engine", "ops", "geometry", "arithmetic", "graph", ANSWERS, *EDGES):
        assert (PACKAGE / name / "__init__.py").is_file(), f"rfgraph/{name} should be a package"
    private = [n for n in top if n.startswith("_")]
    assert not private, f"private modules belong inside the package that uses them: {private}"


def _is_shim(path: Path) -> bool:
    """A module whose body only re-exports another module (imports, ``__all__``, a docstring)."""
    body = ast.parse(path.read_text()).body
    if path.name == "__init__.py" or not body:
        return False
    kinds = []
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            continue
        kinds.append(isinstance(node, ast.Import | ast.ImportFrom))
    return bool(kinds) and all(kinds)


def test_no_compatibility_shims() -> None:
    shims = sorted(name for name, path in _modules().items() if _is_shim(path))
    assert not shims, f"modules that only re-export another module (0.x keeps no old paths): {shims}"
    for old in ("torch_import", "onnx_import", "torch_export"):
        assert not (PACKAGE / f"{old}.py").exists(), old


def test_shim_detector_sees_a_shim(tmp_path: Path) -> None:
    shim = tmp_path / "torch_import.py"
    shim.write_text('"""Old path."""\nfrom .importers.torch import *  # noqa\n__all__ = ["from_torch"]\n')
    assert _is_shim(shim)
    assert not _is_shim(PACKAGE / "plan.py")


def test_engine_keeps_no_legacy_path() -> None:
    from rfgraph import engine

    names = {*engine.METHODS, *engine._PRIVATE_METHODS}
    assert "legacy" not in names
    assert not [n for n in dir(engine) if "legacy" in n.lower()]


def test_core_does_not_import_the_edges() -> None:
    # The core pipeline must not depend on importers, ERF tools, plots, the zoo or the CLI,
    # not even through an import inside a function.
    modules = _modules()
    known = set(modules)
    edges = tuple(f"rfgraph.{e}" for e in EDGES)
    core = [m for m in modules if m.split(".")[1:2] and m.split(".")[1] in CORE]
    assert len(core) > len(CORE)
    for name in core:
        imported = _module_level_imports(name, modules[name], known, deep=True)
        assert not [m for m in imported if m.startswith(edges)], (name, imported)


def test_description_comes_first() -> None:
    # ops, spec and geometry describe a network: they know nothing of plans, engines or answers.
    modules = _modules()
    known = set(modules)
    later = tuple(f"rfgraph.{r}" for r in ("plan", "arithmetic", "engine", "graph", ANSWERS))
    for name in modules:
        if name.split(".")[1:2] and name.split(".")[1] in DESCRIPTION and not name.startswith("rfgraph.spec"):
            imported = _module_level_imports(name, modules[name], known, deep=True)
            assert not [m for m in imported if m.startswith(later)], (name, imported)
