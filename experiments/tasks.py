"""Celery tasks: thin wrappers over services. Both are idempotent and safe to re-run.

Retries use Celery's own options, as every task of the platform does (``annotation/tasks.py``):
``autoretry_for`` names the transient errors, with exponential ``retry_backoff``, ``retry_jitter`` and
``max_retries``; delivery guarantees (``acks_late``, ``reject_on_worker_lost``) come from settings.
"""

from celery import shared_task

from annotation.media import MediaError
from experiments.services import allocation, probes


@shared_task(name="experiments.tasks.release_abandoned_assignments")
def release_abandoned_assignments() -> int:
    """Periodic (celery beat): put bundles of idle assignments back on offer."""
    return allocation.release_abandoned_assignments()


@shared_task(
    name="experiments.tasks.render_catch_stimulus",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def render_catch_stimulus(catch_id: int) -> str:
    """Render an attention check's media; ffmpeg failures are recorded on the row, not retried."""
    try:
        return probes.render_catch_stimulus(catch_id=catch_id).state
    except MediaError:
        return "failed"
