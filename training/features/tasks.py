"""The Celery task behind ``extract-features --enqueue`` (imports Celery, never Django).

The project's worker pool runs it when started with this module included::

    celery -A webapp worker -I training.features.tasks

Each task is one :class:`~training.features.jobs.ExtractionJob` (ids and paths, no arrays), idempotent
through the content-addressed cache, acknowledged late and retried with backoff on I/O errors (a
shared cache directory that blinks). The worker keeps the networks of the last settings it saw, so a
batch of jobs loads each backbone once per worker process.
"""

from __future__ import annotations

import json
from functools import lru_cache

from celery import shared_task

from training.features.cache import FeatureCache
from training.features.jobs import ExtractionJob, run_job

TASK_NAME = "training.extract_media_features"


@lru_cache(maxsize=2)
def _streams(variant: str, settings_json: str):
    from training.features.extractors import BackboneSettings, build_streams

    return build_streams(variant, BackboneSettings.from_dict(json.loads(settings_json)))


@shared_task(
    name=TASK_NAME,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def extract_media_features(job: dict) -> dict:
    """Fill the feature cache for one media file; returns the job's id and how many entries it computed."""
    task = ExtractionJob(**job)
    streams = _streams(task.variant, json.dumps(task.settings, sort_keys=True))
    computed = run_job(task, streams, FeatureCache(task.cache_dir))
    return {"item_kind": task.item_kind, "item_id": task.item_id, "computed": computed}


def enqueue(jobs: list[ExtractionJob], *, broker_url: str, queue: str) -> int:
    """Send one task per job to the broker (a Celery client without Django); returns the number sent."""
    from celery import Celery

    client = Celery("mvfit-training", broker=broker_url)
    for job in jobs:
        client.send_task(TASK_NAME, args=[job.to_dict()], queue=queue)
    return len(jobs)
