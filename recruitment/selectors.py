"""Reads for the recruitment pages: Prolific studies and panel links with their counts, one query each."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from experiments.models import ProblemReport
from recruitment.models import PanelLink, ProlificStudy, ProlificSubmission


def prolific_study_list() -> QuerySet[ProlificStudy]:
    """Prolific studies with their experiment, entries and submissions (all, and awaiting review)."""
    return (
        ProlificStudy.objects.select_related("experiment")
        .annotate(
            n_entries=Count("entries", distinct=True),
            n_submissions=Count("submissions", distinct=True),
            n_awaiting_review=Count(
                "submissions", filter=Q(submissions__status__iexact="AWAITING REVIEW"), distinct=True
            ),
        )
        .order_by("-created_at", "-pk")
    )


def panel_link_list() -> QuerySet[PanelLink]:
    """Panel links with their experiment and how many panel members entered."""
    return (
        PanelLink.objects.select_related("experiment")
        .annotate(n_entries=Count("entries"))
        .order_by("-created_at", "-pk")
    )


def submission_queue(*, study: ProlificStudy) -> QuerySet[ProlificSubmission]:
    """A study's synced submissions, those awaiting review first, each with its participant's problem reports."""
    reports = (
        ProblemReport.objects.filter(participant=OuterRef("participant"))
        .order_by()
        .values("participant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        study.submissions.select_related("participant")
        .annotate(n_problem_reports=Coalesce(Subquery(reports, output_field=IntegerField()), Value(0)))
        .annotate(waiting=Case(When(status__iexact="AWAITING REVIEW", then=Value(0)), default=Value(1)))
        .order_by("waiting", "pk")
    )
