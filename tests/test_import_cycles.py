"""No import circles in the library and experiments apps — function-level imports included.

A circle broken only by an import inside a function still ties two modules into one (each needs the
other to work) and hides the dependency from readers. The scan reads every module's source with
``ast`` (every ``import`` statement, at any depth, except under ``if TYPE_CHECKING:``), draws the
first-party import graph and fails on any strongly connected component that holds a module of
``annotation``, ``experiments`` or ``webapp``, naming its modules. The house rule it enforces: scheduling
modules import tasks, tasks import work modules, and no module does both.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("annotation", "experiments", "mturk", "webapp", "exportformat", "mvfit_common")
CHECKED = ("annotation", "experiments", "webapp")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports(ast.Module(body=[child], type_ignores=[])))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # a.b.C (a name in module a.b) -> a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_scan_sees_function_level_imports_and_finds_a_planted_circle():
    source = "import a.b\ndef f():\n    from a import c\n"
    nodes = list(_imports(ast.parse(source)))
    assert [type(n).__name__ for n in nodes] == ["Import", "ImportFrom"]
    assert circles({"a.b": {"a.c"}, "a.c": {"a.d"}, "a.d": {"a.b"}, "x": {"a.b"}}) == [["a.b", "a.c", "a.d"]]
    assert circles({"a.b": {"a.c"}, "a.c": set()}) == []


def test_the_graph_has_the_scheduling_direction():
    graph = import_graph()
    assert "annotation.tasks" in graph["annotation.services.scheduling"]
    assert "annotation.services.rendering" in graph["annotation.tasks"]
    assert "annotation.tasks" not in graph["annotation.services.rendering"]
    assert "annotation.tasks" not in graph["annotation.services.imports"]


def test_no_import_circle_in_the_library_the_experiments_or_the_site():
    found = [c for c in circles(import_graph()) if any(m.split(".")[0] in CHECKED for m in c)]
    assert not found, "import circles (function-level imports included):\n" + "\n".join(" <-> ".join(c) for c in found)
