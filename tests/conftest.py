"""Shared fixtures. Run the suite with `scripts/test.sh` (it sets DATABASE_URL, Redis and the browser)."""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings

from tests.support.browser import browser, browser_context, page  # noqa: F401  (shared Chromium fixtures)
from tests.support.celery_worker import start_worker
from webapp.celery import app as celery_app


def pytest_configure(config):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise pytest.UsageError(
            "The test suite runs against real PostgreSQL: run it with scripts/test.sh, or export "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test and CELERY_BROKER_URL=redis://127.0.0.1:6379/0."
        )


@pytest.fixture
def celery_queue(transactional_db, tmp_path_factory):
    """Route tasks dispatched by this test to a fresh queue served by real worker processes.

    Yields a function ``start(**kwargs) -> WorkerHandle``; the test decides how many workers to run
    (and may kill them). Uses ``transactional_db`` so the worker sees committed rows.
    """
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_dir = tmp_path_factory.mktemp("celery-logs")
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    workers = []

    def start(**kwargs):
        # The worker must read and write the same media directory as this test.
        extra_env = {"MVFIT_MEDIA_ROOT": str(settings.MEDIA_ROOT), **kwargs.pop("extra_env", {})}
        handle = start_worker(queue=queue, log_dir=log_dir, extra_env=extra_env, **kwargs)
        workers.append(handle)
        return handle

    try:
        yield start
    finally:
        for handle in workers:
            handle.stop()
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


@pytest.fixture
def celery_worker(celery_queue):
    """One running worker on this test's queue."""
    return celery_queue()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="experimenter", password="correct horse battery", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture(autouse=True)
def _isolated_media_root(settings, tmp_path):
    """Each test writes media under its own directory (worker tests share the session data dir)."""
    if os.environ.get("MVFIT_KEEP_MEDIA_ROOT"):
        return
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": settings.MEDIA_URL},
        },
    }
