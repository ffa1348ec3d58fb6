"""Writes for problem reports: a worker reports a problem; the experimenter resolves reports."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from experiments.models import Assignment, AssignmentStatus, Participant, ProblemCategory, ProblemReport
from experiments.models.problems import MAX_REPORT_CHARS, MAX_REPORTS_PER_PARTICIPANT


class ReportRefused(Exception):
    """The report cannot be stored; the message is safe to show the worker."""


@transaction.atomic
def report_problem(*, participant: Participant, category: str, text: str) -> ProblemReport:
    """Store a worker's report, with the trial they were on (from the server's state). At most
    ``MAX_REPORTS_PER_PARTICIPANT`` per participant (also a database constraint)."""
    if category not in ProblemCategory.values:
        raise ReportRefused("Please choose what kind of problem it is.")
    text = (text or "").strip()
    if len(text) > MAX_REPORT_CHARS:
        raise ReportRefused(f"Please describe the problem in at most {MAX_REPORT_CHARS} characters.")
    if category == ProblemCategory.OTHER and not text:
        raise ReportRefused("Please describe the problem.")
    # Lock the participant: two reports sent at once get consecutive numbers, not a constraint error.
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    last = participant.problem_reports.aggregate(n=Max("number"))["n"] or 0
    if last >= MAX_REPORTS_PER_PARTICIPANT:
        raise ReportRefused("Thank you, we have your reports. Please contact the researchers if it continues.")
    assignment = (
        Assignment.objects.filter(participant=participant, status=AssignmentStatus.ACTIVE).order_by("-pk").first()
    )
    return ProblemReport.objects.create(
        experiment_id=participant.experiment_id,
        participant=participant,
        assignment=assignment,
        position=assignment.n_answered if assignment else None,
        number=last + 1,
        category=category,
        text=text,
    )


@transaction.atomic
def resolve_reports(*, report_ids: Iterable[int], actor: str, note: str = "") -> int:
    """Mark open reports resolved (by ``actor``, with an optional note); resolved ones are left as they are."""
    if not actor:
        raise ValueError("Resolving a report needs the name of who resolved it.")
    pks = list(report_ids)
    return ProblemReport.objects.filter(pk__in=pks, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, staff_note=note.strip()
    )
