"""Reads for the admin, the API and the commands."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from mturk.models import HitBatch, MTurkAssignment, MTurkStudy, QualificationGrant, Spend
from mturk.modes import Mode


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


def spending(*, study: MTurkStudy, mode: Mode) -> SpendingSummary:
    totals = Spend.objects.filter(study=study, mode=mode).aggregate(
        committed=Sum("amount", filter=Q(state=Spend.State.COMMITTED)),
        reserved=Sum("amount", filter=Q(state=Spend.State.RESERVED)),
    )
    return SpendingSummary(
        mode=Mode(mode),
        cap=study.spending_cap,
        committed=totals["committed"] or Decimal("0.00"),
        reserved=totals["reserved"] or Decimal("0.00"),
    )


def worker_has_taken_part(*, study: MTurkStudy, mode: Mode, worker_id: str) -> bool:
    """Our own record of participation; MTurk's exclusion qualification may lag behind it."""
    return (
        QualificationGrant.objects.filter(exclusion__study=study, exclusion__mode=mode, worker_id=worker_id).exists()
        or MTurkAssignment.objects.filter(hit__batch__study=study, hit__batch__mode=mode, worker_id=worker_id).exists()
    )


def batch_progress(batch: HitBatch) -> dict[str, int]:
    hits = batch.hits.aggregate(
        hits=Count("pk"),
        on_mturk=Count("pk", filter=Q(hit_id__isnull=False)),
        assignments=Sum("max_assignments"),
        available=Sum("available"),
        pending=Sum("pending"),
        completed=Sum("completed"),
    )
    statuses = dict(
        MTurkAssignment.objects.filter(hit__batch=batch).values_list("status").annotate(n=Count("pk")).order_by()
    )
    return {
        **{key: value or 0 for key, value in hits.items()},
        **{f"mturk_{k.lower()}": v for k, v in statuses.items()},
    }
