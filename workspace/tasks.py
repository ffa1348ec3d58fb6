"""Celery tasks of the workspace: thin wrappers taking a job id (``workspace.services.jobs`` does the work).

Queued only by ``workspace.services.scheduling`` (with ``transaction.on_commit``). Transient database
errors are retried with Celery's own options; anything else fails the job with its message, so the page
polling it stops waiting and says why.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from workspace.services import jobs

_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


class JobTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):  # the last retry, or an unexpected error
        job_id = kwargs.get("job_id", args[0] if args else None)
        if job_id is not None:
            jobs.fail_job(job_id=job_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(name="workspace.tasks.summarise_design", base=JobTask, **_RETRY)
def summarise_design(job_id: int) -> str:
    return jobs.run_summary_job(job_id=job_id)


@shared_task(name="workspace.tasks.generate_design", base=JobTask, **_RETRY)
def generate_design(job_id: int) -> str:
    return jobs.run_design_job(job_id=job_id)


@shared_task(name="workspace.tasks.build_report", base=JobTask, **_RETRY)
def build_report(job_id: int) -> str:
    return jobs.run_report_job(job_id=job_id)
