"""The hand-written SQL of the worker API names no table or column literally, and the read side imports no service."""

from __future__ import annotations

import ast
import inspect
from unittest import mock

from django.apps import apps

from experiments.models import Assignment, Response
from experiments.selectors import worker as worker_selectors
from experiments.services import fastpath

HOT_MODULES = (fastpath, worker_selectors)


def string_literals(module) -> list[str]:
    tree = ast.parse(inspect.getsource(module))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_table_name_is_written_into_the_hot_modules():
    tables = {model._meta.db_table for model in apps.get_models()}
    for module in HOT_MODULES:
        for text in string_literals(module):
            assert not any(table in text for table in tables), (module.__name__, text)


def test_the_statements_follow_the_models_metadata():
    response_field = Response._meta.get_field("rt_ms")
    with (
        mock.patch.object(Response._meta, "db_table", "renamed_answers"),
        mock.patch.object(Assignment._meta, "db_table", "renamed_assignments"),
        mock.patch.object(response_field, "column", "reaction_ms"),
    ):
        statements = fastpath._Statements()
        store = fastpath._Store(("assignment", "trial", "rt_ms"))
        trial_request = worker_selectors._trial_request_sql.__wrapped__()
    assert '"renamed_assignments" a' in statements.lock_current_assignment
    assert '"renamed_answers" r' in statements.lock_current_assignment
    # On PostgreSQL (the suite's database) the insert and the count are one statement.
    assert store.merged
    assert store.sql.startswith(
        'WITH stored AS (INSERT INTO "renamed_answers" ("assignment_id", "trial_id", "reaction_ms")'
    )
    assert 'UPDATE "renamed_assignments" SET' in store.sql
    assert '"renamed_assignments" a' in trial_request
    assert "experiments_assignment" not in statements.lock_current_assignment + trial_request + store.sql


def test_the_worker_selectors_import_no_service():
    tree = ast.parse(inspect.getsource(worker_selectors))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if ".services" in name or name.endswith("services")], imported
