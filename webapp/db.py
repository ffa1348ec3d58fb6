"""Database helpers shared by the hot paths."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection


class HotCursor:
    """A cursor for a few fixed, hand-written statements run thousands of times a minute.

    On PostgreSQL the statements are sent with server-side binding and prepared on first use, so
    each connection parses and plans them once (Django's own psycopg cursors bind client-side and
    never prepare). Elsewhere (the embedded SQLite) it is Django's cursor. Statements use ``%s``
    placeholders, which both accept. Runs inside the caller's transaction, if any.
    """

    def __init__(self, cursor: Any, *, prepare: bool) -> None:
        self._cursor = cursor
        self._prepare = prepare

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        # As in Django's own cursors: driver errors become django.db errors (so IntegrityError is
        # caught where the ORM's would be) and mark the connection for a health check, so a broken
        # persistent connection is closed at the end of the request instead of being reused.
        with connection.wrap_database_errors:
            if self._prepare:
                self._cursor.execute(sql, params, prepare=True)
            else:
                self._cursor.execute(sql, params)

    def fetchone(self) -> tuple | None:
        with connection.wrap_database_errors:
            return self._cursor.fetchone()


@contextmanager
def hot_cursor() -> Iterator[HotCursor]:
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        # Django's execute wrappers (and so CaptureQueriesContext / debug logging) do not see these.
        with psycopg.Cursor(connection.connection) as cursor:
            yield HotCursor(cursor, prepare=True)
    else:
        with connection.cursor() as cursor:
            yield HotCursor(cursor, prepare=False)
