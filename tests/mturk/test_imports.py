"""mturk's import graph has no circle, counting imports inside functions too (a lazy import is how a
circle hides): scheduling modules import ``mturk.tasks``, and the work modules that tasks call never do."""

import ast
import subprocess
import sys
from pathlib import Path

import mturk

ROOT = Path(mturk.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.parts}


def _resolve(name: str, current: str, is_package: bool, node: ast.ImportFrom | None) -> str:
    if node is None or not node.level:
        return name
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(module: str) -> dict[str, bool]:
    """mturk modules imported by ``module`` -> whether the import sits inside a function or class."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", module, path.name == "__init__.py", node)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != module:
                found[target] = found.get(target, False) or id(node) not in top_level
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    cycles, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in GRAPH[module]:
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    return cycles


def test_the_graph_sees_the_imports_it_must():
    # The check can fail: these edges are real (a top-level and a relative import).
    assert "mturk.services.scheduling" in GRAPH["mturk.services.entry"]
    assert "mturk.services.budget" in GRAPH["mturk.services.review"]
    assert "mturk.tasks" in GRAPH["mturk.services.scheduling"]


def test_no_import_circle_within_mturk():
    assert _cycles() == []


def test_no_function_level_imports_of_mturk_modules():
    lazy = sorted(
        f"{module} -> {target}" for module, targets in GRAPH.items() for target, inner in targets.items() if inner
    )
    assert lazy == []


def test_only_the_scheduling_module_enqueues_tasks():
    assert sorted(m for m, targets in GRAPH.items() if "mturk.tasks" in targets) == ["mturk.services.scheduling"]


def test_every_mturk_module_imports_in_a_fresh_interpreter():
    code = (
        "import django, importlib\n"
        "django.setup()\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
