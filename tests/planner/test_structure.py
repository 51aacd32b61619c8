"""planner/ keeps its import graph acyclic: every import of every module (also those inside functions) counts."""

from __future__ import annotations

import ast
from pathlib import Path

PLANNER = Path(__file__).resolve().parents[2] / "planner"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PLANNER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PLANNER.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """planner modules that `name` imports anywhere in its body (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from planner.x import y` imports planner.x.y when y is a module, else planner.x.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_planner_has_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_checker_sees_a_cycle_and_function_level_imports() -> None:
    # The old five planner/setcover*.py modules hid their loop behind an import inside solve().
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    source = PLANNER / "setcover" / "pipeline.py"
    found = _imports("planner.setcover.pipeline", source, set(_modules()))
    assert "planner.setcover.problem" in found and "planner.setcover" not in found


def test_setcover_layers_import_only_downwards() -> None:
    layers = ["problem", "core", "reduce", "rwls", "heuristics", "engines", "pipeline"]
    graph = _graph()
    for rank, layer in enumerate(layers):
        above = {f"planner.setcover.{name}" for name in layers[rank + 1 :]} | {"planner.setcover"}
        assert not graph[f"planner.setcover.{layer}"] & above, layer


def test_research_modules_stay_off_the_product_path() -> None:
    graph = _graph()
    research = {name for name in graph if name.startswith("planner.research")}
    # Only the research package itself and the research CLI commands may import it.
    allowed = research | {"planner.commands.scp", "planner.commands.agp"}
    users = {name for name, deps in graph.items() if deps & research}
    assert users <= allowed, sorted(users - allowed)


def test_plan_layers_import_only_downwards() -> None:
    layers = ["options", "candidates", "witnesses", "prepare", "exact", "certificate", "explain", "loop"]
    graph = _graph()
    for rank, layer in enumerate(layers):
        above = {f"planner.plan.{name}" for name in layers[rank + 1 :]} | {"planner.plan"}
        # explain is imported by the certificate when a run asks for explanations.
        if layer == "certificate":
            above.discard("planner.plan.explain")
        assert not graph[f"planner.plan.{layer}"] & above, layer


def test_one_geometry_engine_under_every_planner_user() -> None:
    graph = _graph()
    for user in ("planner.plan.prepare", "planner.verify", "planner.overlays", "planner.tradeoff"):
        reach, todo = set(), [user]
        while todo:
            for dep in graph[todo.pop()] - reach:
                reach.add(dep)
                todo.append(dep)
        assert "planner.coverage" in reach, user
    # No second view engine: visibility polygons are built only by planner.coverage (and the art gallery).
    builders = {name for name, path in _modules().items() if "visibility_polygon(" in path.read_text()}
    assert builders <= {"planner.visibility", "planner.coverage", "planner.research.agp"}, sorted(builders)
