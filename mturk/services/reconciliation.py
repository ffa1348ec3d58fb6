"""Monitoring: sync every published batch with MTurk, then reconcile it against our participants."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from mturk.client import MTurk
from mturk.models import Discrepancy, HitBatch
from mturk.modes import Mode
from mturk.reconcile import DEFAULT_GRACE, LocalParticipant, Reconciliation, reconcile

from .experiments import participants_for_batch
from .sync import SyncReport, sync_batch, sync_hits

logger = logging.getLogger(__name__)

# Our participants on a batch's HITs, or None when we keep no record to compare (external task URL).
ParticipantSource = Callable[[HitBatch], list[LocalParticipant] | None]
ACTIVE_STATES = [HitBatch.State.PUBLISHING, HitBatch.State.PUBLISHED]


def modes_to_sync() -> list[Mode]:
    modes = HitBatch.objects.filter(state__in=ACTIVE_STATES).values_list("mode", flat=True).distinct()
    return sorted(Mode(mode) for mode in modes)


@dataclass
class SyncSummary:
    hits: SyncReport = field(default_factory=SyncReport)
    batches: dict[int, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "hits_seen": self.hits.hits_seen,
            "hits_updated": self.hits.hits_updated,
            "hits_adopted": len(self.hits.hits_adopted),
            "assignments_created": self.hits.assignments_created,
            "assignments_updated": self.hits.assignments_updated,
            "batches": self.batches,
        }


def sync_and_reconcile(
    *,
    mturk: MTurk,
    participants: ParticipantSource | None,
    batches: list[HitBatch] | None = None,
    now: dt.datetime | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> SyncSummary:
    """ListHITs once, then every batch's assignments; with ``participants``, record the discrepancies."""
    summary = SyncSummary(hits=sync_hits(mturk=mturk))
    if batches is None:
        batches = list(HitBatch.objects.filter(mode=mturk.mode, state__in=ACTIVE_STATES))
    for batch in batches:
        report = sync_batch(batch=batch, mturk=mturk)
        summary.hits.merge(report)
        counts = {"assignments": sum(len(found) for found in report.assignments_by_hit.values())}
        local = participants(batch) if participants is not None else None
        if local is not None:
            remote = [assignment for found in report.assignments_by_hit.values() for assignment in found]
            result = reconcile(remote, local, now=now or timezone.now(), grace=grace)
            record_findings(batch=batch, result=result)
            counts.update(result.counts())
        summary.batches[batch.pk] = counts
    return summary


@transaction.atomic
def record_findings(*, batch: HitBatch, result: Reconciliation) -> None:
    """Open a Discrepancy per finding; close the batch's open ones that are no longer found."""
    found: set[tuple[str, str, str]] = set()
    for assignment in result.submitted_unknown:
        key = (Discrepancy.Kind.SUBMITTED_UNKNOWN, assignment.worker_id, assignment.assignment_id)
        found.add(key)
        _open(batch, key, hit_id=assignment.hit_id, detail=f"MTurk status {assignment.status}")
    for participant in result.known_not_submitted:
        key = (Discrepancy.Kind.KNOWN_NOT_SUBMITTED, participant.worker_id, participant.assignment_id)
        found.add(key)
        finished = f"{participant.completed_at:%Y-%m-%d %H:%M} UTC"
        detail = f"finished at {finished}, completion code {participant.completion_code or '-'}"
        _open(batch, key, hit_id=participant.hit_id, detail=detail)
    for discrepancy in Discrepancy.objects.filter(batch=batch, resolved_at__isnull=True):
        if (discrepancy.kind, discrepancy.worker_id, discrepancy.assignment_id) not in found:
            discrepancy.resolved_at = timezone.now()
            discrepancy.resolution = "no longer found by reconciliation"
            discrepancy.save(update_fields=["resolved_at", "resolution"])


def _open(batch: HitBatch, key: tuple[str, str, str], *, hit_id: str, detail: str) -> None:
    kind, worker_id, assignment_id = key
    discrepancy, created = Discrepancy.objects.get_or_create(
        kind=kind,
        worker_id=worker_id,
        assignment_id=assignment_id,
        defaults={"batch": batch, "hit_id": hit_id, "detail": detail},
    )
    if not created and discrepancy.resolved_at is not None and not discrepancy.resolution.startswith("manual"):
        discrepancy.resolved_at, discrepancy.resolution = None, ""
        discrepancy.save(update_fields=["resolved_at", "resolution"])


@transaction.atomic
def resolve_discrepancies(*, discrepancies: Iterable[Discrepancy], actor: str, note: str = "") -> int:
    """Mark open discrepancies as dealt with by hand: who, when and why stay on each row, and in the log.

    A discrepancy resolved by hand is never reopened by a later reconciliation.
    """
    resolved = 0
    for discrepancy in discrepancies:
        if discrepancy.resolved_at is not None:
            continue
        discrepancy.resolved_at, discrepancy.resolved_by = timezone.now(), actor
        discrepancy.resolution = f"manually resolved by {actor}" + (f": {note}" if note else "")
        discrepancy.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        logger.info("Discrepancy %s resolved by %s", discrepancy.pk, actor)
        resolved += 1
    return resolved


def default_participant_source() -> ParticipantSource:
    """Our participants come from the experiments app (see ``services.experiments``)."""
    return participants_for_batch
