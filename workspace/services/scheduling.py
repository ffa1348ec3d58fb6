"""Scheduling: the one module that queues the workspace's Celery tasks (after the transaction commits)."""

from __future__ import annotations

import functools

from django.db import transaction

from experiments.models import Experiment
from workspace import tasks
from workspace.models import Job, JobKind, JobState

_TASKS = {
    JobKind.SUMMARY: tasks.summarise_design,
    JobKind.DESIGN: tasks.generate_design,
    JobKind.REPORT: tasks.build_report,
}


@transaction.atomic
def start_job(*, kind: str, experiment: Experiment, created_by=None) -> Job:
    """Queue ``kind`` for the experiment; a job of that kind already queued or running is returned instead,
    so a double click starts the work once."""
    Experiment.objects.select_for_update().filter(pk=experiment.pk).first()
    running = Job.objects.filter(
        experiment=experiment, kind=kind, state__in=[JobState.QUEUED, JobState.RUNNING]
    ).first()
    if running is not None:
        return running
    job = Job.objects.create(kind=kind, experiment=experiment, created_by=created_by)
    transaction.on_commit(functools.partial(_TASKS[JobKind(kind)].delay, job.pk))
    return job


@transaction.atomic
def start_summary(*, params: dict, created_by=None) -> Job:
    """Queue the wizard's review counts for ``params`` (``summarise_design``'s keyword arguments)."""
    job = Job.objects.create(kind=JobKind.SUMMARY, params=params, created_by=created_by)
    transaction.on_commit(functools.partial(tasks.summarise_design.delay, job.pk))
    return job
