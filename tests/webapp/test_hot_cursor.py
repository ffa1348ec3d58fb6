"""``webapp.db.hot_cursor`` really prepares its statements on PostgreSQL.

Django opens psycopg connections with ``prepare_threshold=None``, under which psycopg silently ignores
``prepare=True``: the hot statements were parsed and planned on every run (more backend CPU than
running them). The server's own list of prepared statements is the evidence.
"""

from __future__ import annotations

import pytest
from django.db import connection

from webapp.db import hot_cursor

pytestmark = pytest.mark.django_db

STATEMENT = "SELECT %s::int + 1"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_hot_statement_is_prepared_once_and_reused():
    for value in (1, 2, 3):
        with hot_cursor() as cursor:
            cursor.execute(STATEMENT, [value])
            assert cursor.fetchone() == (value + 1,)
    matching = [s for s in prepared_statements() if "::int + 1" in s]
    assert len(matching) == 1, prepared_statements()


def test_the_orm_is_not_prepared_behind_its_back():
    list(connection.introspection.table_names())
    for _ in range(10):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 41 + 1")
    assert not [s for s in prepared_statements() if "41 + 1" in s]
