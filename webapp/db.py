"""Database helpers shared by the hot paths: a preparing cursor and SQL names taken from model metadata.

The hand-written statements of the worker API (``experiments.services.fastpath``,
``experiments.selectors.worker``) name no table or column literally: :class:`SqlNames` reads them
from the models' ``_meta`` (``db_table``, each field's ``column``), quoted for the database in use,
so a renamed table, column or model field changes the SQL with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

ONLY_WHEN_ASKED = 2**31 - 1  # psycopg prepares a statement after this many runs, or when asked to


class HotCursor:
    """A cursor for a few fixed, hand-written statements run thousands of times a minute.

    On PostgreSQL the statements are sent with server-side binding and prepared on first use, so
    each connection parses and plans them once (Django's own psycopg cursors bind client-side and
    never prepare). Elsewhere (the embedded SQLite) it is Django's cursor. Statements use ``%s``
    placeholders, which both accept. Runs inside the caller's transaction, if any.
    """

    def __init__(self, cursor: Any, *, prepare: bool, db: BaseDatabaseWrapper) -> None:
        self._cursor = cursor
        self._prepare = prepare
        # The connection wrapper itself, not Django's ``connection`` proxy: each attribute read through
        # the proxy looks the connection up again (asgiref's context-local storage), and the hot paths
        # read it for every value they convert (``field.get_db_prep_save(value, cursor.db)``).
        self.db = db

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        # As in Django's own cursors: driver errors become django.db errors (so IntegrityError is
        # caught where the ORM's would be) and mark the connection for a health check, so a broken
        # persistent connection is closed at the end of the request instead of being reused.
        with self.db.wrap_database_errors:
            if self._prepare:
                self._cursor.execute(sql, params, prepare=True)
            else:
                self._cursor.execute(sql, params)

    def fetchone(self) -> tuple | None:
        with self.db.wrap_database_errors:
            return self._cursor.fetchone()


@contextmanager
def hot_cursor() -> Iterator[HotCursor]:
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        db.ensure_connection()
        # Django's execute wrappers (and so CaptureQueriesContext / debug logging) do not see these.
        with _preparing_cursor(db.connection) as cursor:
            yield HotCursor(cursor, prepare=True, db=db)
    else:
        with db.cursor() as cursor:
            yield HotCursor(cursor, prepare=False, db=db)


def _preparing_cursor(raw: Any) -> Any:
    """A plain psycopg cursor on ``raw`` whose ``prepare=True`` statements are really prepared."""
    import psycopg

    if raw.prepare_threshold is None:
        # Django opens psycopg connections with ``prepare_threshold=None``, which makes psycopg
        # ignore ``prepare=True``: every "prepared" statement was parsed and planned afresh (the
        # planning cost more backend CPU than running it). A threshold no ORM statement reaches
        # turns preparing on for the statements that ask for it, and for them only.
        raw.prepare_threshold = ONLY_WHEN_ASKED
    return psycopg.Cursor(raw)


# --- warming a process's pooled connections before it takes requests --------------------------------

Warmer = Callable[[HotCursor], None]
_WARMERS: list[Warmer] = []
logger = logging.getLogger(__name__)


def warms_connections(warmer: Warmer) -> Warmer:
    """Register ``warmer(cursor)``: it runs its hot statements on a fresh pooled connection with values
    that match no row (see :func:`warm_pool`). Registered from an app's ``ready()``."""
    if warmer not in _WARMERS:
        _WARMERS.append(warmer)
    return warmer


def warm_pool(alias: str = DEFAULT_DB_ALIAS) -> int:
    """Run the registered warmers on every connection of the database's pool; returns how many were warmed.

    A PostgreSQL backend's first run of the join cost about 5 ms of its CPU against 1.2 ms for the next
    ones (measured on the 2-core machine): it loads the catalog entries of every table and index the
    statements touch, and parses and plans them. A web process's pool holds one connection per request
    thread, so the first burst of joins after a start (a deploy, a restart) paid that once per connection,
    while it was queueing. Each warmer runs its statements once on each pooled connection, prepared as
    ``hot_cursor`` prepares them (the same text and parameter types, so the requests reuse them), with
    values that match no row: nothing is read, locked or written.
    The first join on a warmed connection cost 2.0-2.3 ms of PostgreSQL CPU instead of about 5 ms (what is
    left is the first firing of the foreign-key triggers, which only real rows reach).

    Runs in ``webapp.wsgi.warm_up``, before the process takes requests. Without a pool (the embedded
    SQLite, ``DJANGO_CONN_MAX_AGE``, Celery) there is nothing to warm: connections are opened by whichever
    thread needs one. It is an optimisation only: when the database cannot be reached or is not migrated
    yet, it logs a warning and returns 0, and the process starts anyway (its health check then says what
    is wrong), exactly as it did before warming existed.
    """
    import psycopg

    db = connections[alias]
    pool = getattr(db, "pool", None) if db.vendor == "postgresql" else None
    if pool is None or not _WARMERS:
        return 0
    taken: list[Any] = []
    try:
        db.ensure_connection()  # opens the pool, which opens its connections in the background
        db.close()  # and gives this thread's back, so every connection can be taken below
        taken = [pool.getconn() for _ in range(pool.max_size)]
        for raw in taken:
            # Pooled connections are in autocommit: each statement is its own transaction. Not one rolled
            # back: psycopg forgets every statement it prepared on a connection when it sees a ROLLBACK.
            with _preparing_cursor(raw) as cursor:
                hot = HotCursor(cursor, prepare=True, db=db)
                for warmer in _WARMERS:
                    warmer(hot)
    except (DatabaseError, psycopg.Error) as exc:  # psycopg's own: the pool's timeout, a warmer's statement
        logger.warning("Pooled connections not warmed (the process starts anyway): %s", exc)
        return 0
    finally:
        for raw in taken:
            pool.putconn(raw)
    return len(taken)


class SqlNames:
    """Quoted SQL names of one model, from its metadata, for a statement that aliases its table.

    ``a = SqlNames(Assignment, "a")``: ``a.table`` is ``"experiments_assignment" a``, ``a.pk`` and
    ``a["status"]`` are ``a."id"`` and ``a."status"``; a foreign key by its field name
    (``a["participant"]`` is ``a."participant_id"``). ``a.column("status")`` is the bare quoted column
    (for INSERT and UPDATE lists).
    """

    def __init__(self, model: type[Model], alias: str = "") -> None:
        self.model, self.alias = model, alias
        qn = connection.ops.quote_name
        self.table = f"{qn(model._meta.db_table)} {alias}".rstrip()
        self.pk = self[model._meta.pk.name]

    def column(self, field_name: str) -> str:
        return connection.ops.quote_name(self.model._meta.get_field(field_name).column)

    def __getitem__(self, field_name: str) -> str:
        return f"{self.alias}.{self.column(field_name)}" if self.alias else self.column(field_name)
