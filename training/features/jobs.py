"""Feature extraction for a large library as idempotent per-video jobs.

One job = one media file (a clip or an excerpt) through every stream of its kind, written into the
content-addressed feature cache (training/features/cache.py). A job whose entries exist does
nothing, entries are written atomically, and two machines that run the same job write the same
bytes, so jobs can be retried, repeated and spread over any number of workers sharing one cache
directory (a network file system or a synced bucket mount):

* ``python -m training extract-features --shard K/N``: the K-th of N disjoint shards, in any process;
* under ``torchrun`` the shard is the process's rank of the world (``RANK`` / ``WORLD_SIZE``), one
  GPU per process: ``torchrun --nproc-per-node 8 -m training extract-features ...``;
* ``--enqueue``: one Celery task per job on the project's broker (``CELERY_BROKER_URL``), run by the
  project's existing worker pool (``celery -A webapp worker``): the task,
  ``annotation.tasks.extract_media_features``, lives with the platform's other media tasks because
  ``training/`` never imports Django (nor Celery's app machinery, which loads parts of it); it calls
  :func:`run_job_dict` here. Its name is :data:`TASK_NAME`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

from training.data.export import Export
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.features.store import Stream


@dataclass(frozen=True)
class ExtractionJob:
    """Everything a worker needs, JSON-serialisable: which file, which streams, which cache."""

    item_kind: str  # "clip" or "excerpt"
    item_id: int
    path: str
    variant: str
    settings: dict  # BackboneSettings.to_dict()
    cache_dir: str

    def to_dict(self) -> dict:
        return asdict(self)


def plan_jobs(
    export: Export,
    *,
    variant: str,
    settings: dict,
    cache_dir: str,
    kinds: tuple[str, ...] = ("clip", "excerpt"),
    media_root: Path | None = None,
) -> list[ExtractionJob]:
    """One job per stimulus of ``kinds`` in the export's stimuli.csv, in a stable order."""
    jobs = []
    for kind, item_id in export.stimuli.index:
        if kind in kinds:
            path = export.media_path(kind, int(item_id), media_root=media_root)
            jobs.append(ExtractionJob(kind, int(item_id), str(path), variant, settings, cache_dir))
    return jobs


def shard(jobs: list, index: int, count: int) -> list:
    """Jobs ``index``, ``index + count``, ...: N shards that together cover every job once."""
    if count < 1 or not 0 <= index < count:
        raise TrainingInputError(f"--shard K/N needs 0 <= K < N, not {index}/{count}.")
    return jobs[index::count]


def run_job(job: ExtractionJob, streams: list[Stream], cache: FeatureCache) -> int:
    """Extract the job's file through each stream of its kind that the cache lacks; return how many were computed."""
    path = Path(job.path)
    if not path.is_file():
        raise TrainingInputError(f"{job.item_kind} {job.item_id}: media file {path} does not exist.")
    computed = 0
    for stream in streams:
        if stream.item_kind != job.item_kind or cache.load(stream.extractor, path) is not None:
            continue
        try:
            array = stream.extractor.extract(path)
        except TrainingInputError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            raise TrainingInputError(f"{stream.extractor.name} could not process {path}: {exc}") from exc
        cache.store(stream.extractor, path, array)
        computed += 1
    return computed


def run_jobs(
    jobs: list[ExtractionJob], streams: list[Stream], cache: FeatureCache, *, progress: bool = True
) -> tuple[int, int]:
    """Run jobs in order; returns (jobs, cache entries computed)."""
    computed = 0
    for job in tqdm(jobs, desc="extract", unit="file", disable=not progress):
        computed += run_job(job, streams, cache)
    return len(jobs), computed


TASK_NAME = "training.extract_media_features"


@lru_cache(maxsize=2)
def _streams(variant: str, settings_json: str) -> list[Stream]:
    from training.features.extractors import BackboneSettings, build_streams

    return build_streams(variant, BackboneSettings.from_dict(json.loads(settings_json)))


def run_job_dict(job: dict) -> dict:
    """One job from its JSON form (a Celery task's argument); a worker keeps the networks of the last settings."""
    task = ExtractionJob(**job)
    streams = _streams(task.variant, json.dumps(task.settings, sort_keys=True))
    computed = run_job(task, streams, FeatureCache(task.cache_dir))
    return {"item_kind": task.item_kind, "item_id": task.item_id, "computed": computed}


def enqueue(jobs: list[ExtractionJob], *, broker_url: str, queue: str) -> int:
    """Send one task per job to the broker with a plain Celery client (no Django); returns the number sent."""
    from celery import Celery

    client = Celery("mvfit-training", broker=broker_url)
    for job in jobs:
        client.send_task(TASK_NAME, args=[job.to_dict()], queue=queue)
    return len(jobs)
