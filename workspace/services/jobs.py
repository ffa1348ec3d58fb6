"""Long work started from workspace pages: generating a design, building an experiment's report.

Work module: the Celery tasks (``workspace.tasks``) call these; ``workspace.services.scheduling`` creates the
jobs and queues the tasks. Each run is idempotent: a job already finished is left alone, and running one
again (a redelivered message) redoes the same work with the same result.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from experiments.design.config import DesignError
from experiments.models import Experiment
from experiments.selectors.progress import completed_assignment_count
from experiments.services import designs, export
from workspace.models import Job, JobState


def report_root() -> Path:
    """Where the workspace writes experiments' reports (under the data directory)."""
    return Path(settings.DATA_DIR) / "workspace" / "reports"


def _progress(job: Job, *, percent: int, step: str) -> None:
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, progress=min(99, max(0, percent)), step=step[:200])


def _finish(job: Job, *, result: str = "") -> None:
    Job.objects.filter(pk=job.pk).update(
        state=JobState.DONE, progress=100, step="done", result=result, finished_at=timezone.now()
    )


@transaction.atomic
def fail_job(*, job_id: int, error: str) -> None:
    """Record why a job failed (shown on its page); the work it did is rolled back or left unpublished."""
    Job.objects.filter(pk=job_id).exclude(state=JobState.DONE).update(
        state=JobState.FAILED, error=error or "failed", finished_at=timezone.now()
    )


def run_summary_job(*, job_id: int) -> str:
    """Work out what the wizard's design implies (``summarise_design``: the item builder and the planner,
    nothing written); a ``DesignError`` fails the job with its message, which the wizard puts on its field."""
    job = Job.objects.get(pk=job_id)
    if job.finished:
        return job.state
    _progress(job, percent=10, step="planning items and bundles")
    try:
        summary = designs.summarise_design(**job.params)
    except DesignError as exc:
        fail_job(job_id=job.pk, error=str(exc))
        return JobState.FAILED
    Job.objects.filter(pk=job.pk).update(data=asdict(summary))
    _finish(job)
    return JobState.DONE


def run_design_job(*, job_id: int) -> str:
    """Generate the experiment's design from its stored seed and config (the library then renders the
    pairings it needs); a ``DesignError`` fails the job with its message."""
    job = Job.objects.select_related("experiment").get(pk=job_id)
    if job.finished:
        return job.state
    _progress(job, percent=10, step="planning items and bundles")
    try:
        designs.generate_design(experiment=job.experiment)
    except DesignError as exc:
        fail_job(job_id=job.pk, error=str(exc))
        return JobState.FAILED
    _finish(job)
    return JobState.DONE


def run_report_job(*, job_id: int) -> str:
    """Export the experiment's completed answers and build the analysis report on them.

    Written into a temporary folder beside the final one and renamed into place, so a page never serves
    half a report; the job's ``result`` is the report's path relative to the data directory.
    """
    job = Job.objects.select_related("experiment").get(pk=job_id)
    if job.finished:
        return job.state
    experiment: Experiment = job.experiment
    if not completed_assignment_count(experiment):
        fail_job(job_id=job.pk, error="No completed assignments to analyse yet.")
        return JobState.FAILED
    from analysis.report import ReportOptions, build_report  # seaborn & co.: only when a report is built
    from analysis.report.steps import STEPS

    _progress(job, percent=5, step="exporting the answers")
    root = report_root() / str(experiment.pk)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"job-{job.pk}"
    work = Path(tempfile.mkdtemp(prefix=f".job-{job.pk}-", dir=root))
    try:
        export.write_export(experiments=[experiment], out_dir=work / "export")
        done = {"n": 0}

        def on_step(name: str, _seconds: float) -> None:
            done["n"] += 1
            _progress(job, percent=10 + 85 * done["n"] // (len(STEPS) + 2), step=f"report: {name}")

        build_report(work / "export", work / "report", ReportOptions(progress=False), on_step=on_step)
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
    except ValueError as exc:  # an export the report cannot read
        shutil.rmtree(work, ignore_errors=True)
        fail_job(job_id=job.pk, error=f"The report could not be built: {exc}")
        return JobState.FAILED
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _finish(job, result=str((final / "report" / "report.html").relative_to(settings.DATA_DIR)))
    return JobState.DONE
