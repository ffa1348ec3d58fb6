"""The import plan (docs/architecture.md): no circles, and dependencies only in the allowed directions.

Read statically, function-level imports included (tests/support/import_graph.py), so a circle cannot hide
behind an import inside a function; and checked dynamically, by importing every module in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.import_graph import PACKAGES, ROOT, cycles, graph

# Which apps each app must never import (directly or inside a function). The order of the apps is
# annotation → experiments → mturk → workspace → demo: each may import the ones before it, never those
# after (recruitment and mturk sit side by side).
FORBIDDEN = {
    "annotation": ("experiments", "mturk", "recruitment", "demo", "workspace"),
    "experiments": ("mturk", "recruitment", "demo", "workspace"),
    "mturk": ("recruitment", "demo", "workspace"),
    "recruitment": ("mturk", "demo", "workspace"),
    "workspace": ("demo",),
}


@pytest.fixture(scope="module")
def edges():
    return graph()


def test_there_is_no_import_circle(edges):
    found = cycles(edges)
    described = []
    for component in found:
        members = set(component)
        links = [f"{i.source} → {i.target} (line {i.line})" for m in component for i in edges[m] if i.target in members]
        described.append("\n    ".join(links))
    assert not found, "import circles:\n  " + "\n  ".join(described)


def test_the_circle_finder_finds_a_circle_hidden_in_a_function(tmp_path):
    # The check above can fail: two modules that import each other, one of them inside a function.
    from tests.support import import_graph

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def later():\n    from pkg.a import thing\n")
    modules = {"pkg": package / "__init__.py", "pkg.a": package / "a.py", "pkg.b": package / "b.py"}
    original = import_graph.ROOT
    import_graph.ROOT = tmp_path
    try:
        found = import_graph.cycles({m: import_graph.imports_of(m, modules) for m in modules})
    finally:
        import_graph.ROOT = original
    assert found == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_apps_import_only_in_the_allowed_direction(edges, app):
    banned = FORBIDDEN[app]
    offending = [
        f"{i.source} imports {i.target} (line {i.line})"
        for module, imports in edges.items()
        if module == app or module.startswith(app + ".")
        for i in imports
        if i.target.split(".")[0] in banned
    ]
    assert not offending, "\n".join(offending)


# Celery tasks: tasks import the work modules; only the scheduling module imports the tasks (periodic tasks
# that queue others go through it), so no module both queues a task and does the work the task calls.
SCHEDULERS = {
    "annotation": {"annotation.services.scheduling"},
    "mturk": {"mturk.services.scheduling"},
    "workspace": {"workspace.services.scheduling"},
}


@pytest.mark.parametrize("app", sorted(SCHEDULERS))
def test_only_the_scheduling_modules_queue_the_apps_tasks(edges, app):
    queuing = {m for m, imports in edges.items() if any(i.target == f"{app}.tasks" for i in imports)}
    assert queuing == SCHEDULERS[app]
    work = {i.target for i in edges[f"{app}.tasks"]}
    assert work and not work & SCHEDULERS[app], "tasks import work modules, never the scheduling module"


def test_mturk_has_no_function_level_imports_of_its_own_modules(edges):
    lazy = [
        f"{i.source} -> {i.target} (line {i.line})"
        for module, imports in edges.items()
        if module.startswith("mturk")
        for i in imports
        if i.lazy and i.target.startswith("mturk")
    ]
    assert not lazy


def test_every_module_imports_in_a_fresh_interpreter():
    code = (
        "import importlib, pkgutil, django\n"
        "django.setup()\n"
        f"packages = {[p for p in PACKAGES if (ROOT / p).is_dir()]!r}\n"
        "failed = []\n"
        "for name in packages:\n"
        "    package = importlib.import_module(name)\n"
        "    for module in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        if module.name.endswith('__main__'):\n"
        "            continue\n"
        "        try:\n"
        "            importlib.import_module(module.name)\n"
        "        except Exception as error:\n"
        "            failed.append(f'{module.name}: {error!r}')\n"
        "assert not failed, '\\n'.join(failed)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
