"""Settings: production mode (DATABASE_URL set, DJANGO_DEBUG off) has no secret defaults; embedded runs
generate their keys once into the data dir."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = "import django; django.setup(); from django.conf import settings as s; print(repr(s.MVFIT_PSEUDONYM_KEY))"
PRODUCTION_DB = "postgres://postgres@127.0.0.1:5432/unused"  # never connected to: settings only


def _settings(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    drop = {"DATABASE_URL", "DJANGO_SECRET_KEY", "MVFIT_PSEUDONYM_KEY", "DJANGO_DEBUG"}
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    clean |= {"DJANGO_SETTINGS_MODULE": "webapp.settings", "MVFIT_DATA_DIR": str(data_dir), **env}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _settings(tmp_path, DATABASE_URL=PRODUCTION_DB)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_has_no_pseudonym_key_unless_one_is_given(tmp_path):
    production = {"DATABASE_URL": PRODUCTION_DB, "DJANGO_SECRET_KEY": "x" * 50}
    assert _settings(tmp_path, **production).stdout.strip() == "None"
    assert _settings(tmp_path, **production, MVFIT_PSEUDONYM_KEY="given").stdout.strip() == "'given'"
    assert not (tmp_path / "pseudonym_key").exists()


@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env may configure a database")
def test_embedded_runs_generate_private_keys_once_into_the_data_dir(tmp_path):
    first = _settings(tmp_path)
    assert first.returncode == 0, first.stderr
    keys = {name: (tmp_path / name).read_text() for name in ("secret_key", "pseudonym_key")}
    assert all(len(key) >= 40 for key in keys.values())
    assert all(stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600 for name in keys)
    assert _settings(tmp_path).stdout == first.stdout == f"{keys['pseudonym_key']!r}\n"


def test_render_time_limits_must_stay_below_the_visibility_timeout(tmp_path):
    # Otherwise the broker could redeliver a slow render while its first run is still alive.
    result = _settings(tmp_path, CELERY_VISIBILITY_TIMEOUT="600", MVFIT_RENDER_SOFT_TIME_LIMIT_S="600")
    assert result.returncode != 0 and "must stay below CELERY_VISIBILITY_TIMEOUT" in result.stderr
    result = _settings(tmp_path, MVFIT_RENDER_HEARTBEAT_S="30", MVFIT_RENDER_STALE_AFTER_S="45")
    assert result.returncode != 0 and "at least twice MVFIT_RENDER_HEARTBEAT_S" in result.stderr
    assert _settings(tmp_path, CELERY_VISIBILITY_TIMEOUT="900", MVFIT_RENDER_SOFT_TIME_LIMIT_S="600").returncode == 0


POOL = "import django; django.setup(); from django.conf import settings as s; d = s.DATABASES['default']; " + (
    "print(d['CONN_MAX_AGE'], d['OPTIONS']['pool'])"
)


def _pool_settings(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    production = {"DATABASE_URL": PRODUCTION_DB, "DJANGO_SECRET_KEY": "x" * 50}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    clean |= {"DJANGO_SETTINGS_MODULE": "webapp.settings", "MVFIT_DATA_DIR": str(data_dir), **production, **env}
    return subprocess.run([sys.executable, "-c", POOL], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_a_pool_of_connections_replaces_persistent_ones_and_bad_settings_are_refused(tmp_path):
    pooled = _pool_settings(tmp_path, DJANGO_DB_POOL_SIZE="4", DJANGO_DB_POOL_MAX_LIFETIME="600")
    assert pooled.returncode == 0, pooled.stderr
    assert pooled.stdout.strip() == "0 {'min_size': 4, 'max_size': 4, 'max_lifetime': 600.0, 'timeout': 10.0}"
    both = _pool_settings(tmp_path, DJANGO_DB_POOL_SIZE="4", DJANGO_CONN_MAX_AGE="60")
    assert both.returncode != 0 and "Set DJANGO_DB_POOL_SIZE or DJANGO_CONN_MAX_AGE, not both" in both.stderr
    sqlite = _pool_settings(tmp_path, DJANGO_DB_POOL_SIZE="4", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert sqlite.returncode != 0 and "DJANGO_DB_POOL_SIZE needs PostgreSQL" in sqlite.stderr
    huge = _pool_settings(tmp_path, DJANGO_DB_POOL_SIZE="1000")
    assert huge.returncode != 0 and "must be 1-100 connections per process, not 1000" in huge.stderr


REUSE = """
import django; django.setup()
from django.db import connection
from webapp.db import hot_cursor
seen = []
for request in range(3):
    with hot_cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), (SELECT count(*) FROM pg_prepared_statements)", [])
        seen.append(cursor.fetchone())
    connection.close()  # the end of a request: the connection goes back to the pool, open
print(seen)
"""


def _run_pooled(script: str, data_dir: Path, *, pool_size: int) -> subprocess.CompletedProcess:
    """``script`` in a process of its own with a pool of ``pool_size`` connections to the tests' database."""
    from django.db import connection

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "MVFIT_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_DB_POOL_SIZE": str(pool_size),
    }
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.django_db
def test_pooled_connections_are_reused_with_their_prepared_statements(tmp_path):
    result = _run_pooled(REUSE, tmp_path, pool_size=1)
    assert result.returncode == 0, result.stderr
    (pid, prepared), *later = ast.literal_eval(result.stdout)
    # One backend for all three "requests", and what the first prepared is still prepared (not again).
    assert prepared >= 1 and later == [(pid, prepared), (pid, prepared)]


WARM = """
import django; django.setup()
from django.db import connection
from webapp.wsgi import application, warm_up
warm_up(application)
pool = connection.pool
taken = [pool.getconn() for _ in range(pool.max_size)]
print([
    (c.info.backend_pid, sorted(" ".join(r[0].split())[:40] for r in c.execute("SELECT statement FROM pg_prepared_statements")))
    for c in taken
])
"""


@pytest.mark.django_db
def test_a_web_process_prepares_the_worker_api_on_every_pooled_connection_before_its_first_request(tmp_path):
    from experiments.selectors import worker
    from experiments.services import allocation, fastpath
    from webapp.db import warm_pool

    assert warm_pool() == 0  # no pool here (the tests' persistent connection): nothing to warm
    result = _run_pooled(WARM, tmp_path, pool_size=3)
    assert result.returncode == 0, result.stderr
    connections = ast.literal_eval(result.stdout)
    assert len({pid for pid, _ in connections}) == 3
    sql = allocation._statements()
    expected = sorted(
        " ".join(text.replace("%s", "$").split())[:40]
        for text in (
            sql.lock_by_token,
            sql.claim,
            sql.claim_unseen,
            fastpath._statements().lock_current_assignment,
            worker._trial_request_sql(),
            worker._state_sql(),
        )
    )
    for _, prepared in connections:
        # The texts as psycopg sends them ($1 for %s): the join's, the answer's first and the trial fetch's
        # and state's -- on every connection, so no request is the first to load or plan them.
        assert [text.split("$")[0] for text in prepared] == [text.split("$")[0] for text in expected]


WARM_FAILS = """
import django; django.setup()
from django.db import connection
from webapp import db
from webapp.wsgi import application, warm_up
db.warms_connections(lambda cursor: cursor.execute("SELECT * FROM no_such_table", []))  # as if not migrated
warm_up(application)  # must not raise: the process still starts
pool = connection.pool
taken = [pool.getconn() for _ in range(pool.max_size)]
print([c.execute("SELECT 1").fetchone()[0] for c in taken])
"""


@pytest.mark.django_db
def test_a_web_process_starts_when_its_connections_cannot_be_warmed(tmp_path):
    result = _run_pooled(WARM_FAILS, tmp_path, pool_size=2)
    assert result.returncode == 0, result.stderr
    assert ast.literal_eval(result.stdout) == [1, 1]  # every connection went back to the pool, usable
    assert "Pooled connections not warmed" in result.stderr and "no_such_table" in result.stderr
