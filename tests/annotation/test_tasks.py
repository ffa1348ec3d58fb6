"""Render tasks: Celery's own retry options for transient errors, FAILED on give-up, and the reaper that
re-queues renders of dead workers (their heartbeat went stale)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from annotation import periodic, tasks
from annotation.models import Pairing, RenderState
from annotation.services import imports, rendering, scheduling
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
from webapp.celery import app as celery_app


def _pairing(**fields) -> Pairing:
    return Pairing.objects.create(clip=VideoClipFactory(), excerpt=MusicExcerptFactory(), **fields)


@pytest.fixture
def flaky_render(monkeypatch):
    """Make ``render_pairings`` raise the given errors in turn, then succeed; count the calls.

    Eager runs that do not propagate errors let Celery run its retries in place (without the countdown).
    """
    previous, celery_app.conf.task_eager_propagates = celery_app.conf.task_eager_propagates, False
    calls = []

    def install(*errors: Exception):
        def render_pairings(*, pairing_ids):
            calls.append(list(pairing_ids))
            if len(calls) <= len(errors):
                raise errors[len(calls) - 1]
            Pairing.objects.filter(pk__in=pairing_ids).update(state=RenderState.READY)
            return rendering.RenderOutcome(rendered=list(pairing_ids))

        monkeypatch.setattr(rendering, "render_pairings", render_pairings)
        return calls

    yield install
    celery_app.conf.task_eager_propagates = previous


@pytest.mark.django_db
def test_render_tasks_retry_transient_errors_with_celerys_own_options():
    for task in (tasks.render_pairings_task, tasks.prepare_clip_task, tasks.prepare_excerpt_task):
        assert task.autoretry_for == (tasks.TransientError,)
        assert task.max_retries == tasks.MAX_RETRIES and task.retry_jitter and task.retry_backoff
        assert task.soft_time_limit < task.time_limit
        assert task.acks_late and task.reject_on_worker_lost


@pytest.mark.django_db
def test_a_transient_error_is_retried_and_the_render_finishes(flaky_render):
    pairing = _pairing()
    calls = flaky_render(OperationalError("server closed the connection"), ConnectionResetError("reset"))

    result = tasks.render_pairings_task.apply(args=[[pairing.pk]])

    assert result.successful() and len(calls) == 3
    pairing.refresh_from_db()
    assert pairing.state == RenderState.READY


@pytest.mark.django_db
def test_giving_up_after_the_last_retry_marks_the_rows_failed(flaky_render):
    pairing = _pairing()
    calls = flaky_render(*[OperationalError("database is down")] * (tasks.MAX_RETRIES + 1))

    result = tasks.render_pairings_task.apply(args=[[pairing.pk]])

    assert result.failed() and isinstance(result.result, tasks.TransientError)
    assert len(calls) == tasks.MAX_RETRIES + 1
    pairing.refresh_from_db()
    assert pairing.state == RenderState.FAILED
    assert pairing.error == "gave up: TransientError: OperationalError: database is down"


@pytest.mark.django_db
def test_a_permanent_error_is_not_retried_and_marks_the_rows_failed(flaky_render):
    pairing = _pairing()
    calls = flaky_render(ValueError("a bug"))

    result = tasks.render_pairings_task.apply(args=[[pairing.pk]])

    assert result.failed() and isinstance(result.result, ValueError)
    assert len(calls) == 1
    pairing.refresh_from_db()
    assert (pairing.state, pairing.error) == (RenderState.FAILED, "gave up: ValueError: a bug")


@pytest.mark.django_db
def test_run_eagerly_with_errors_propagating_a_transient_error_reaches_the_caller_at_once(monkeypatch):
    pairing = _pairing()
    calls = []

    def render_pairings(*, pairing_ids):
        calls.append(pairing_ids)
        raise OperationalError("database is locked")

    monkeypatch.setattr(rendering, "render_pairings", render_pairings)
    with pytest.raises(OperationalError):
        tasks.render_pairings_task.delay([pairing.pk])  # the embedded demo's way: eager, propagating

    assert len(calls) == 1  # no retry loop inside the caller; `render` reschedules what is not ready


@pytest.mark.django_db
def test_the_reaper_requeues_only_renders_whose_heartbeat_went_stale(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.MVFIT_RENDER_STALE_AFTER_S = 60
    settings.MVFIT_RENDER_MAX_ATTEMPTS = 3
    now = timezone.now()
    stale = _pairing(state=RenderState.RENDERING, attempts=1, heartbeat_at=now - timedelta(seconds=61))
    legacy = _pairing(state=RenderState.RENDERING, attempts=1, heartbeat_at=None)  # claimed before heartbeats
    alive = _pairing(state=RenderState.RENDERING, attempts=1, heartbeat_at=now - timedelta(seconds=30))
    hopeless = _pairing(state=RenderState.RENDERING, attempts=3, heartbeat_at=now - timedelta(seconds=600))
    done = _pairing(state=RenderState.READY, attempts=1, heartbeat_at=now - timedelta(seconds=600))
    clip = VideoClipFactory(state=RenderState.RENDERING, heartbeat_at=now - timedelta(seconds=90))
    dispatched = []
    monkeypatch.setattr(scheduling, "_dispatch_render", dispatched.append)
    monkeypatch.setattr(tasks.prepare_clip_task, "delay", lambda pk: dispatched.append(("clip", pk)))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = periodic.requeue_stale_renders_task.apply().get()

    assert sorted(outcome["pairings"]) == sorted([stale.pk, legacy.pk])
    assert outcome["clips"] == [clip.pk]
    assert sorted(pk for batch in dispatched if isinstance(batch, list) for pk in batch) == sorted(
        [stale.pk, legacy.pk]
    )
    assert ("clip", clip.pk) in dispatched
    states = dict(Pairing.objects.values_list("pk", "state"))
    assert states[stale.pk] == states[legacy.pk] == RenderState.PENDING
    assert states[alive.pk] == RenderState.RENDERING and states[done.pk] == RenderState.READY
    hopeless.refresh_from_db()
    assert hopeless.state == RenderState.FAILED and "worker was lost" in hopeless.error

    with django_capture_on_commit_callbacks(execute=True):
        again = periodic.requeue_stale_renders_task.apply().get()
    assert again == {"pairings": [], "clips": [], "excerpts": []}  # idempotent: nothing dispatched twice


@pytest.mark.django_db(transaction=True)
def test_a_running_render_keeps_its_rows_heartbeat_fresh_until_it_ends():
    pairing = _pairing()
    long_ago = timezone.now() - timedelta(hours=1)

    def heartbeat() -> timezone.datetime:
        return Pairing.objects.values_list("heartbeat_at", flat=True).get(pk=pairing.pk)

    with rendering.keep_alive(every_s=0.05):
        rendering._start(Pairing, [pairing.pk])  # what prepare/render do when they claim rows
        Pairing.objects.filter(pk=pairing.pk).update(heartbeat_at=long_ago)
        deadline = time.monotonic() + 10
        while heartbeat() == long_ago and time.monotonic() < deadline:
            time.sleep(0.02)
        assert heartbeat() > long_ago + timedelta(minutes=59)

    Pairing.objects.filter(pk=pairing.pk).update(heartbeat_at=long_ago)
    time.sleep(0.2)  # several heartbeat periods: none comes once the render has ended
    assert heartbeat() == long_ago


@pytest.mark.django_db
def test_an_import_batch_is_retried_after_a_database_blip_with_celerys_own_options(monkeypatch):
    task = tasks.run_import_batch_task
    assert task.autoretry_for == (OperationalError, InterfaceError)
    assert task.max_retries == tasks.MAX_RETRIES and task.retry_backoff and task.retry_jitter
    calls = []

    def run_batch(*, batch_id):
        calls.append(batch_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection")

    monkeypatch.setattr(imports, "run_batch", run_batch)
    previous, celery_app.conf.task_eager_propagates = celery_app.conf.task_eager_propagates, False
    try:
        result = task.apply(args=[7])
    finally:
        celery_app.conf.task_eager_propagates = previous
    assert result.successful() and calls == [7, 7]


def test_every_beat_scheduled_task_is_discovered_by_the_worker():
    # The reaper moved to annotation.periodic (it schedules tasks, so it may not live among them): in a
    # fresh interpreter, as a worker starts, discovery must find it and every other task beat names.
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from webapp.celery import app\n"
        "app.loader.import_default_modules()\n"
        "scheduled = {entry['task'] for entry in settings.CELERY_BEAT_SCHEDULE.values()}\n"
        "assert 'annotation.periodic.requeue_stale_renders_task' in scheduled, scheduled\n"
        "assert scheduled <= set(app.tasks), scheduled - set(app.tasks)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
