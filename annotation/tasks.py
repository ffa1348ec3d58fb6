"""Celery tasks: thin wrappers that take primary keys and call the services.

Delivery guarantees come from settings (``acks_late`` + ``reject_on_worker_lost``): a worker killed
mid-task leaves its message unacknowledged, the broker redelivers it, and because the services are
idempotent the second run finishes the job. Only transient errors are retried (with exponential
backoff); permanent ones are recorded on the rows as FAILED with their reason.
"""

from __future__ import annotations

import logging

from botocore import exceptions as botocore_exceptions
from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from annotation.models import MusicExcerpt, Pairing, VideoClip
from annotation.services import imports, rendering

logger = logging.getLogger(__name__)

MAX_RETRIES = 6
_TRANSIENT_TYPES = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    botocore_exceptions.ConnectionError,
    botocore_exceptions.HTTPClientError,
)
_TRANSIENT_S3_CODES = {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable"}


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the database, the network or the object store was briefly unavailable."""
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, botocore_exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _TRANSIENT_S3_CODES or status >= 500
    return False


class RenderTask(Task):
    """Retries transient errors with backoff; marks rows FAILED when a task gives up or crashes."""

    abstract = True
    failure_model: type | None = None
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if is_transient(exc) and self.request.retries < MAX_RETRIES and not self.request.is_eager:
                countdown = min(300, 2 ** (self.request.retries + 1))
                logger.warning("%s: transient error, retry in %ss: %r", self.name, countdown, exc)
                raise self.retry(exc=exc, countdown=countdown) from exc
            raise

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        ids = args[0] if args else next(iter(kwargs.values()), [])
        ids = ids if isinstance(ids, list) else [ids]
        if self.failure_model is not None and ids:
            rendering.mark_failed(self.failure_model, ids, reason=f"gave up: {type(exc).__name__}: {exc}")


@shared_task(base=RenderTask, bind=True, failure_model=VideoClip)
def prepare_clip_task(self, clip_id: int) -> None:
    try:
        rendering.prepare_clip(clip_id=clip_id)
    except rendering.PreparationFailed as exc:  # recorded on the row; nothing to retry
        logger.info("%s", exc)


@shared_task(base=RenderTask, bind=True, failure_model=MusicExcerpt)
def prepare_excerpt_task(self, excerpt_id: int) -> None:
    try:
        rendering.prepare_excerpt(excerpt_id=excerpt_id)
    except rendering.PreparationFailed as exc:
        logger.info("%s", exc)


@shared_task(base=RenderTask, bind=True, failure_model=Pairing)
def render_pairings_task(self, pairing_ids: list[int]) -> dict:
    outcome = rendering.render_pairings(pairing_ids=pairing_ids)
    return {"rendered": len(outcome.rendered), "skipped": len(outcome.skipped), "failed": len(outcome.failed)}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_import_batch_task(self, batch_id: int) -> None:
    # Resumable: files that already have an outcome in this batch are skipped on redelivery.
    imports.run_batch(batch_id=batch_id)


@shared_task(
    name="training.extract_media_features",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def extract_media_features(job: dict) -> dict:
    """One feature-cache job of ``training`` (training/features/jobs.py): a media file through its backbones.

    Idempotent through the content-addressed feature cache. It lives here because ``training/`` imports
    neither Django nor Celery's app; torch is imported when a worker first runs it, not at startup.
    """
    from training.features.jobs import run_job_dict

    return run_job_dict(job)
