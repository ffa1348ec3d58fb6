"""Rule-based review suggestions: computed from our data, carried out only when the experimenter confirms."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from experiments.models import Response
from mturk.client import MTurk
from mturk.models import AssignmentStatus, HitBatch, MTurkAssignment, ReviewSuggestion
from mturk.rules import CatchScore, suggest_rejections

from . import review


def catch_scores(batch: HitBatch) -> list[CatchScore]:
    """Attention-check results of the batch's submitted assignments, from the experiment's responses."""
    experiment_id = batch.study.experiment_id
    if experiment_id is None:
        return []
    submitted = dict(
        MTurkAssignment.objects.filter(hit__batch=batch, status=AssignmentStatus.SUBMITTED).values_list(
            "assignment_id", "worker_id"
        )
    )
    rows = (
        Response.objects.filter(
            is_catch=True,
            assignment__participant__experiment_id=experiment_id,
            assignment__participant__assignment_id__in=list(submitted),
        )
        .values("assignment__participant__worker_id", "assignment__participant__assignment_id")
        .annotate(total=Count("pk"), passed=Count("pk", filter=Q(catch_passed=True)))
    )
    return [
        CatchScore(
            worker_id=row["assignment__participant__worker_id"],
            assignment_id=row["assignment__participant__assignment_id"],
            passed=row["passed"],
            total=row["total"],
        )
        for row in rows
        # Only the worker MTurk says submitted it (a reused assignment id may have had other workers).
        if submitted.get(row["assignment__participant__assignment_id"]) == row["assignment__participant__worker_id"]
    ]


@transaction.atomic
def suggest_for_batch(*, batch: HitBatch, min_pass_rate: float) -> list[ReviewSuggestion]:
    """Record pending rejection suggestions; nothing is sent to MTurk."""
    rule = f"catch-trial pass rate below {min_pass_rate:.0%}"
    created = []
    for suggestion in suggest_rejections(catch_scores(batch), min_pass_rate=min_pass_rate):
        assignment = MTurkAssignment.objects.get(assignment_id=suggestion.assignment_id)
        row, new = ReviewSuggestion.objects.get_or_create(
            assignment=assignment, action="reject", defaults={"reason": suggestion.reason, "rule": rule}
        )
        if new:
            created.append(row)
    return created


def confirm(
    *, suggestions: list[ReviewSuggestion], mturk: MTurk, actor: str, confirmed: bool = False
) -> review.BulkResult:
    """Carry out pending suggestions. ``confirmed=True`` is the experimenter's explicit decision."""
    if not confirmed:
        raise review.ReviewError("Suggestions are only carried out when the experimenter confirms them.")

    def carry_out(suggestion: ReviewSuggestion) -> None:
        if suggestion.state != ReviewSuggestion.State.PENDING:
            raise review.ReviewError(f"Suggestion {suggestion.pk} is already {suggestion.state}.")
        review.reject(assignment=suggestion.assignment, mturk=mturk, reason=suggestion.reason, actor=actor)
        _decide(suggestion, ReviewSuggestion.State.CONFIRMED, actor)

    return review.bulk(suggestions, carry_out)


def dismiss(*, suggestions: list[ReviewSuggestion], actor: str) -> int:
    pending = [s for s in suggestions if s.state == ReviewSuggestion.State.PENDING]
    for suggestion in pending:
        _decide(suggestion, ReviewSuggestion.State.DISMISSED, actor)
    return len(pending)


def _decide(suggestion: ReviewSuggestion, state: str, actor: str) -> None:
    suggestion.state, suggestion.decided_by, suggestion.decided_at = state, actor, timezone.now()
    suggestion.save(update_fields=["state", "decided_by", "decided_at"])
