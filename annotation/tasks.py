"""Celery tasks: thin wrappers that take primary keys and call the work modules.

This module imports only the work (``annotation.services.rendering``, ``annotation.services.imports``);
what queues these tasks (``annotation.services.scheduling``) imports this module, never the other way
round, and the beat task that re-queues lost renders lives in ``annotation.periodic`` for that reason.

Delivery guarantees come from settings (``acks_late`` + ``reject_on_worker_lost``): a worker killed
mid-task leaves its message unacknowledged, and because the services are idempotent any second run
finishes the job. Render tasks also keep a heartbeat on the rows they work on, so the beat task
``annotation.periodic.requeue_stale_renders_task`` re-queues a dead worker's renders within a minute or two instead of
waiting for the broker's visibility timeout (see ``annotation.services.rendering``).

Only transient errors are retried, with Celery's own options (``autoretry_for`` names
:class:`TransientError`, exponential backoff with jitter, ``max_retries``); permanent ones are recorded
on the rows as FAILED with their reason, and so is giving up after the last retry or a time limit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from botocore import exceptions as botocore_exceptions
from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from annotation.models import Montage, MusicExcerpt, Pairing, VideoClip
from annotation.services import imports, montages, rendering

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


class TransientError(Exception):
    """A transient failure (database, network, object store) wrapped so that ``autoretry_for`` can name it."""


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
    """Retries transient errors with backoff; marks rows FAILED when a task gives up, crashes or times out.

    The hard time limit stays below the broker's visibility timeout (checked in settings), so a message
    is never redelivered while its first run is alive.
    """

    abstract = True
    failure_model: type | None = None
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (TransientError,)
    max_retries = MAX_RETRIES
    retry_backoff = 2  # 2, 4, 8 ... seconds (full jitter), at most retry_backoff_max
    retry_backoff_max = 300
    retry_jitter = True
    soft_time_limit = settings.MVFIT_RENDER_SOFT_TIME_LIMIT_S
    time_limit = settings.MVFIT_RENDER_TIME_LIMIT_S

    @contextlib.contextmanager
    def work(self) -> Iterator[None]:
        """Run a task body: heartbeat on its rows (when a worker runs it) and transient errors wrapped.

        Run eagerly with errors propagating (the embedded demo), a retry could only surface as Celery's
        ``Retry`` exception in the caller, so there the original error is raised (and the rows marked FAILED).
        """
        eager = self.request.is_eager
        retriable = not (eager and self.app.conf.task_eager_propagates)
        with contextlib.nullcontext() if eager else rendering.keep_alive():
            try:
                yield
            except Exception as exc:
                if retriable and is_transient(exc):
                    logger.warning("%s: transient error, will retry: %r", self.name, exc)
                    raise TransientError(f"{type(exc).__name__}: {exc}") from exc
                raise

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        ids = args[0] if args else next(iter(kwargs.values()), [])
        ids = ids if isinstance(ids, list) else [ids]
        if self.failure_model is not None and ids:
            rendering.mark_failed(self.failure_model, ids, reason=f"gave up: {type(exc).__name__}: {exc}")


@shared_task(base=RenderTask, bind=True, failure_model=VideoClip)
def prepare_clip_task(self, clip_id: int) -> None:
    with self.work():
        try:
            rendering.prepare_clip(clip_id=clip_id)
        except rendering.PreparationFailed as exc:  # recorded on the row; nothing to retry
            logger.info("%s", exc)


@shared_task(base=RenderTask, bind=True, failure_model=MusicExcerpt)
def prepare_excerpt_task(self, excerpt_id: int) -> None:
    with self.work():
        try:
            rendering.prepare_excerpt(excerpt_id=excerpt_id)
        except rendering.PreparationFailed as exc:
            logger.info("%s", exc)


@shared_task(base=RenderTask, bind=True)
def make_poster_task(self, clip_id: int) -> bool:
    """The clip's poster frame (a missing or undecodable frame is logged, never fails the clip)."""
    with self.work():
        return rendering.make_poster(clip_id=clip_id)


@shared_task(base=RenderTask, bind=True, failure_model=Pairing)
def render_pairings_task(self, pairing_ids: list[int]) -> dict:
    with self.work():
        outcome = rendering.render_pairings(pairing_ids=pairing_ids)
    return {"rendered": len(outcome.rendered), "skipped": len(outcome.skipped), "failed": len(outcome.failed)}


@shared_task(base=RenderTask, bind=True, failure_model=Montage)
def build_montage_task(self, montage_id: int) -> str:
    """Build one whole-song montage (annotation.services.montages); a ready montage is left alone."""
    with self.work():
        try:
            built = montages.build_montage(montage_id=montage_id)
        except montages.MontageBuildFailed as exc:  # recorded on the row; nothing to retry
            logger.info("montage %s: %s", montage_id, exc)
            return "failed"
    return "built" if built is not None else "nothing to do"


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),  # the database was briefly unavailable
    max_retries=MAX_RETRIES,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def run_import_batch_task(batch_id: int) -> None:
    """Import a folder or manifest batch. Resumable: files that already have an outcome are skipped on a
    retry or redelivery, so a retry after a database blip finishes the batch instead of starting over."""
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
