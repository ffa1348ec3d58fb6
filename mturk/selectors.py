"""Reads for the admin, the API, the views and the commands: the one home of mturk's querysets.

List selectors annotate what each row shows (spending per marketplace, batch progress) in the same
query, so a page of rows costs a fixed number of queries however many rows it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from experiments.models import Experiment, ProblemReport
from mturk.models import (
    AssignmentStatus,
    Discrepancy,
    Hit,
    HitBatch,
    MTurkAssignment,
    MTurkCall,
    MTurkStudy,
    QualificationGrant,
    ReviewSuggestion,
    Spend,
)
from mturk.modes import Mode

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SpendingSummary:
    mode: Mode
    cap: Decimal
    committed: Decimal
    reserved: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.cap - self.committed - self.reserved

    def line(self) -> str:
        return (
            f"{self.mode}: cap ${self.cap}, committed ${self.committed}, reserved ${self.reserved}, "
            f"remaining ${self.remaining}"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "cap": str(self.cap),
            "committed": str(self.committed),
            "reserved": str(self.reserved),
            "remaining": str(self.remaining),
        }


# --- studies and spending ------------------------------------------------------------------------


def _spend_sum(mode: Mode, state: str) -> Sum:
    return Sum("spends__amount", filter=Q(spends__mode=mode, spends__state=state))


def spending(*, study: MTurkStudy, mode: Mode) -> SpendingSummary:
    """One study's spending in one marketplace (read from the annotations of :func:`study_list` if present)."""
    mode = Mode(mode)
    if hasattr(study, f"{mode}_committed"):
        committed, reserved = getattr(study, f"{mode}_committed"), getattr(study, f"{mode}_reserved")
    else:
        totals = Spend.objects.filter(study=study, mode=mode).aggregate(
            committed=Sum("amount", filter=Q(state=Spend.State.COMMITTED)),
            reserved=Sum("amount", filter=Q(state=Spend.State.RESERVED)),
        )
        committed, reserved = totals["committed"], totals["reserved"]
    return SpendingSummary(mode=mode, cap=study.spending_cap, committed=committed or ZERO, reserved=reserved or ZERO)


def study_list() -> QuerySet[MTurkStudy]:
    """Studies with their committed and reserved spending per marketplace, in one query."""
    annotations = {
        f"{mode}_{state}": _spend_sum(mode, getattr(Spend.State, state.upper()))
        for mode in Mode
        for state in ("committed", "reserved")
    }
    return MTurkStudy.objects.annotate(**annotations).order_by("-created_at", "-pk")


def worker_has_taken_part(*, study: MTurkStudy, mode: Mode, worker_id: str) -> bool:
    """Our own record of participation; MTurk's exclusion qualification may lag behind it."""
    return (
        QualificationGrant.objects.filter(exclusion__study=study, exclusion__mode=mode, worker_id=worker_id).exists()
        or MTurkAssignment.objects.filter(hit__batch__study=study, hit__batch__mode=mode, worker_id=worker_id).exists()
    )


# --- batches -------------------------------------------------------------------------------------

HIT_PROGRESS = ("hits", "on_mturk", "assignments", "available", "pending", "completed")


def _status_key(status: str) -> str:
    return f"mturk_{status.lower()}"


def _assignments_with_status(status: str) -> Coalesce:
    counted = (
        MTurkAssignment.objects.filter(hit__batch=OuterRef("pk"), status=status)
        .order_by()
        .values("hit__batch")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def batch_list() -> QuerySet[HitBatch]:
    """Batches with their study and progress (HIT counts and sums, assignments per status) in one query."""
    return (
        HitBatch.objects.select_related("study")
        .annotate(
            progress_hits=Count("hits"),
            progress_on_mturk=Count("hits", filter=Q(hits__hit_id__isnull=False)),
            progress_assignments=Coalesce(Sum("hits__max_assignments"), 0),
            progress_available=Coalesce(Sum("hits__available"), 0),
            progress_pending=Coalesce(Sum("hits__pending"), 0),
            progress_completed=Coalesce(Sum("hits__completed"), 0),
            **{f"progress_{_status_key(s)}": _assignments_with_status(s) for s in AssignmentStatus.values},
        )
        .order_by("-created_at", "-pk")
    )


def batch_progress(batch: HitBatch) -> dict[str, int]:
    """HITs, assignment slots and MTurk's assignment statuses of one batch (annotated by :func:`batch_list`)."""
    annotated = batch if hasattr(batch, "progress_hits") else batch_list().get(pk=batch.pk)
    keys = [*HIT_PROGRESS, *(_status_key(s) for s in AssignmentStatus.values)]
    return {key: getattr(annotated, f"progress_{key}") for key in keys}


def get_batch(*, pk: int) -> HitBatch:
    return get_object_or_404(batch_list(), pk=pk)


# --- assignments, HITs and review selections -----------------------------------------------------


def assignment_list(*, batch_id: int | str | None = None, status: str | None = None) -> QuerySet[MTurkAssignment]:
    queryset = MTurkAssignment.objects.select_related("hit__batch").prefetch_related("bonuses").order_by("-pk")
    if batch_id:
        queryset = queryset.filter(hit__batch_id=batch_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def review_queue(*, batch: HitBatch, status: str) -> QuerySet[MTurkAssignment]:
    """A batch's assignments in ``status`` for review, each with the problems its worker reported from the
    worker page (``n_problem_reports``, matched by WorkerId and AssignmentId), in one query plus bonuses."""
    reports = (
        ProblemReport.objects.filter(
            participant__worker_id=OuterRef("worker_id"), participant__assignment_id=OuterRef("assignment_id")
        )
        .order_by()
        .values("participant__assignment_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return assignment_list(batch_id=batch.pk, status=status).annotate(
        n_problem_reports=Coalesce(Subquery(reports, output_field=IntegerField()), Value(0))
    )


def get_assignment(*, assignment_id: str) -> MTurkAssignment:
    return get_object_or_404(assignment_list(), assignment_id=assignment_id)


def assignments_by_id(assignment_ids: Iterable[str]) -> tuple[list[MTurkAssignment], list[str]]:
    """The assignments in the order asked for (duplicates dropped), and the ids we do not know."""
    wanted = list(dict.fromkeys(assignment_ids))
    found = {
        a.assignment_id: a
        for a in MTurkAssignment.objects.select_related("hit__batch").filter(assignment_id__in=wanted)
    }
    return [found[i] for i in wanted if i in found], sorted(set(wanted) - set(found))


def submitted_assignments(*, batch: HitBatch) -> list[MTurkAssignment]:
    return list(
        MTurkAssignment.objects.select_related("hit__batch")
        .filter(hit__batch=batch, status=AssignmentStatus.SUBMITTED)
        .order_by("pk")
    )


def batch_assignments(*, batch: HitBatch) -> list[MTurkAssignment]:
    """Every assignment of a batch, whatever its status."""
    return list(MTurkAssignment.objects.select_related("hit__batch").filter(hit__batch=batch).order_by("pk"))


def assignments_by_pk(pks: Iterable[int]) -> list[MTurkAssignment]:
    return list(MTurkAssignment.objects.select_related("hit__batch").filter(pk__in=list(pks)).order_by("pk"))


def get_hit(*, hit_id: str) -> Hit:
    return get_object_or_404(Hit.objects.select_related("batch__study"), hit_id=hit_id)


def hit_or_none(hit_id: str) -> Hit | None:
    return Hit.objects.select_related("batch__study").filter(hit_id=hit_id).first()


def hits_to_publish(batch: HitBatch) -> int:
    return batch.hits.filter(hit_id__isnull=True).count()


def hits_on_mturk(pks: Iterable[int]) -> list[Hit]:
    return list(
        Hit.objects.select_related("batch__study").filter(pk__in=list(pks), hit_id__isnull=False).order_by("pk")
    )


# --- the audit log, discrepancies, suggestions ---------------------------------------------------


def call_list() -> QuerySet[MTurkCall]:
    return MTurkCall.objects.order_by("-started_at", "-pk")


def discrepancy_list(*, open_only: bool = False) -> QuerySet[Discrepancy]:
    queryset = Discrepancy.objects.order_by("-detected_at", "-pk")
    return queryset.filter(resolved_at__isnull=True) if open_only else queryset


def suggestion_list(*, batch_id: int | str | None = None, state: str | None = None) -> QuerySet[ReviewSuggestion]:
    queryset = ReviewSuggestion.objects.select_related("assignment__hit__batch").order_by("-created_at", "-pk")
    if batch_id:
        queryset = queryset.filter(assignment__hit__batch_id=batch_id)
    if state:
        queryset = queryset.filter(state=state)
    return queryset


def pending_suggestions(*, pks: Iterable[int] | None = None, batch: HitBatch | None = None) -> list[ReviewSuggestion]:
    queryset = suggestion_list(state=ReviewSuggestion.State.PENDING).order_by("pk")
    if pks is not None:
        queryset = queryset.filter(pk__in=list(pks))
    if batch is not None:
        queryset = queryset.filter(assignment__hit__batch=batch)
    return list(queryset)


# --- look-ups by name ----------------------------------------------------------------------------


def get_study(*, pk: int) -> MTurkStudy:
    return get_object_or_404(study_list(), pk=pk)


def study_named(name: str) -> MTurkStudy | None:
    return MTurkStudy.objects.filter(name=name).first()


def batch_or_none(pk: int | None) -> HitBatch | None:
    return HitBatch.objects.select_related("study").filter(pk=pk).first() if pk else None


def experiment_by_slug(slug: str) -> Experiment | None:
    return Experiment.objects.filter(slug=slug).first()


def experiment_for_entry(*, slug: str) -> Experiment:
    return get_object_or_404(Experiment, slug=slug)
