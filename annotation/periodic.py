"""Celery beat tasks of the library: tasks whose work is to schedule other tasks.

They live apart from ``annotation.tasks`` so that the import graph stays a line — periodic tasks ->
``annotation.services.scheduling`` -> ``annotation.tasks`` -> work modules — with no circle (the
scheduling module imports the tasks it queues). ``webapp/celery.py`` discovers this module next to
the apps' ``tasks`` modules.
"""

from __future__ import annotations

from celery import shared_task

from annotation.services import scheduling


@shared_task(name="annotation.periodic.requeue_stale_renders_task", acks_late=True)
def requeue_stale_renders_task() -> dict:
    """Periodic (celery beat): re-queue renders whose worker died (their heartbeat went stale)."""
    outcome = scheduling.requeue_stale_renders()
    return {"pairings": outcome.pairings, "clips": outcome.clips, "excerpts": outcome.excerpts}
