"""The one-statement state read gives the ORM's kind of timestamp on every database (the embedded demo
runs SQLite, whose raw cursor returns naive datetimes or text; PostgreSQL's are aware)."""

from __future__ import annotations

from datetime import UTC, datetime

from experiments.selectors.worker import _db_datetime


def test_naive_text_and_aware_timestamps_all_come_back_aware_in_utc():
    aware = datetime(2026, 12, 5, 17, 25, 39, 657675, tzinfo=UTC)
    assert _db_datetime(aware) is aware
    assert _db_datetime(aware.replace(tzinfo=None)) == aware
    assert _db_datetime("2026-12-05 17:25:39.657675") == aware
    assert _db_datetime(None) is None
