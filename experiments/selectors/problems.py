"""Reads for problem reports: the review queue (one query for any number of reports)."""

from __future__ import annotations

from django.db.models import QuerySet

from experiments.models import Experiment, ProblemReport


def problem_reports_queryset(*, experiment_slug: str | None = None, open_only: bool = True) -> QuerySet[ProblemReport]:
    """Reports newest first with their experiment and participant (for paginated lists)."""
    rows = ProblemReport.objects.select_related("experiment", "participant").order_by("-created_at", "-pk")
    if experiment_slug is not None:
        rows = rows.filter(experiment__slug=experiment_slug)
    return rows.filter(resolved_at__isnull=True) if open_only else rows


def problem_reports(
    *, experiment: Experiment | None = None, open_only: bool = True, limit: int = 200
) -> list[ProblemReport]:
    """The newest reports (open ones only by default), with their experiment and participant."""
    rows: QuerySet[ProblemReport] = ProblemReport.objects.select_related("experiment", "participant")
    if experiment is not None:
        rows = rows.filter(experiment=experiment)
    if open_only:
        rows = rows.filter(resolved_at__isnull=True)
    return list(rows.order_by("-created_at", "-pk")[:limit])


def open_report_count(*, experiment: Experiment | None = None) -> int:
    rows = ProblemReport.objects.filter(resolved_at__isnull=True)
    return (rows.filter(experiment=experiment) if experiment is not None else rows).count()
