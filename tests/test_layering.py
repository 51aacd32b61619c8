"""Import layering: web modules import downward only, planner/ stands alone, and no package imports in a loop.

Every import counts, including those inside functions: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"tests", "migrations", "static", "templates", "docs", "node_modules"}


def _source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if not (parts[0] in SKIP or parts[0].startswith(".")):
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in _source_files()}
TOP_LEVEL = {name.split(".")[0] for name in MODULES}


def _resolve(name: str) -> str | None:
    """The first-party module an imported name lives in (`a.b.c` -> `a.b` when c is an attribute), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """First-party modules that a module imports, anywhere in its body."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            resolved = _resolve(name)
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _is_entry_point(module: str) -> bool:
    """A module run with `python -m` (it has a __main__ guard): a wsgi/CLI entry point, like gunicorn's."""
    return 'if __name__ == "__main__":' in MODULES[module].read_text(encoding="utf-8")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_scan_sees_the_packages():
    assert {"app", "web", "accounts", "api", "inventory", "planner", "plans", "jobs", "audit"} <= TOP_LEVEL
    assert "accounts.views" in GRAPH and "web" in GRAPH["accounts.views"]
    assert "inventory.models" in GRAPH["inventory.services"]


def test_only_entry_points_import_the_app_factory():
    importers = sorted(m for m, targets in GRAPH.items() if "app" in targets and not _is_entry_point(m))
    assert importers == [], f"these modules import app.py; take what they need from a lower module: {importers}"


def test_web_helpers_import_nothing_of_sightline():
    assert GRAPH["web"] == set()


def test_planner_imports_only_planner():
    outside = sorted((m, t) for m, targets in GRAPH.items() if m.split(".")[0] == "planner"
                     for t in targets if t.split(".")[0] != "planner")
    assert outside == [], f"planner/ is the pure engine; it may not import the app: {outside}"


def _package_of(module: str) -> str:
    """The top-level package, except that an entry point stands alone above the app it starts."""
    return module if _is_entry_point(module) else module.split(".")[0]


def test_no_import_cycle_among_top_level_packages():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        source = _package_of(module)
        packages.setdefault(source, set()).update(_package_of(t) for t in targets if _package_of(t) != source)
    assert _cycles(packages) == []


@pytest.mark.parametrize("package", sorted(TOP_LEVEL))
def test_no_import_cycle_among_modules(package):
    graph = {m: {t for t in targets if t.split(".")[0] == package}
             for m, targets in GRAPH.items() if m.split(".")[0] == package}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
