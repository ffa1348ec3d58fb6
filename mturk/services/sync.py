"""Bring our mirror of HITs and assignments up to date with MTurk (paginated ListHITs / ListAssignmentsForHIT).

The sync also finishes interrupted publishing: a HIT row whose create call had an unknown outcome is
adopted when a HIT carrying its annotation shows up in ListHITs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from mturk.client import MTurk, RemoteAssignment, RemoteHit
from mturk.models import Hit, HitBatch, HitState, MTurkAssignment, Spend

from . import budget


@dataclass
class SyncReport:
    hits_seen: int = 0
    hits_updated: int = 0
    hits_adopted: list[Hit] = field(default_factory=list)
    assignments_created: int = 0
    assignments_updated: int = 0
    assignments_by_hit: dict[int, list[RemoteAssignment]] = field(default_factory=dict)

    def merge(self, other: SyncReport) -> None:
        self.hits_seen += other.hits_seen
        self.hits_updated += other.hits_updated
        self.hits_adopted += other.hits_adopted
        self.assignments_created += other.assignments_created
        self.assignments_updated += other.assignments_updated
        self.assignments_by_hit.update(other.assignments_by_hit)


def sync_hits(*, mturk: MTurk) -> SyncReport:
    """One pass over ListHITs (every page): refresh our HIT rows in this marketplace, adopt lost creates."""
    report = SyncReport()
    ours = {hit.hit_id: hit for hit in Hit.objects.filter(batch__mode=mturk.mode, hit_id__isnull=False)}
    unresolved = {
        hit.request_token: hit
        for hit in Hit.objects.filter(
            batch__mode=mturk.mode, hit_id__isnull=True, first_attempt_at__isnull=False
        ).select_related("batch__study")
    }
    for remote in mturk.iter_hits():
        report.hits_seen += 1
        if (hit := ours.get(remote.hit_id)) is not None:
            _refresh_hit(hit, remote)
            report.hits_updated += 1
        elif (hit := unresolved.pop(remote.requester_annotation, None)) is not None:
            _adopt_hit(hit, remote)
            report.hits_adopted.append(hit)
    return report


@transaction.atomic
def _refresh_hit(hit: Hit, remote: RemoteHit) -> None:
    hit.status = remote.status
    hit.available, hit.pending, hit.completed = remote.available, remote.pending, remote.completed
    hit.max_assignments = remote.max_assignments or hit.max_assignments
    hit.expiration = remote.expiration
    hit.synced_at = timezone.now()
    hit.save(
        update_fields=["status", "available", "pending", "completed", "max_assignments", "expiration", "synced_at"]
    )


@transaction.atomic
def _adopt_hit(hit: Hit, remote: RemoteHit) -> None:
    hit.hit_id, hit.hit_type_id, hit.state = remote.hit_id, remote.hit_type_id, HitState.CREATED
    hit.published_at, hit.last_error = timezone.now(), ""
    hit.save(update_fields=["hit_id", "hit_type_id", "state", "published_at", "last_error"])
    _refresh_hit(hit, remote)
    spend = Spend.objects.filter(hit=hit).first()
    if spend is not None:
        budget.commit(spend=spend)
    batch = hit.batch
    if batch.state == HitBatch.State.PUBLISHING and not batch.hits.filter(hit_id__isnull=True).exists():
        batch.state, batch.published_at = HitBatch.State.PUBLISHED, timezone.now()
        batch.save(update_fields=["state", "published_at"])


def sync_assignments(*, hit: Hit, mturk: MTurk) -> SyncReport:
    """Every page of ListAssignmentsForHIT for one HIT, upserted into the mirror."""
    report = SyncReport()
    remotes = list(mturk.iter_assignments(hit.hit_id))
    report.assignments_by_hit[hit.pk] = remotes
    for remote in remotes:
        created = upsert_assignment(hit=hit, remote=remote)
        if created:
            report.assignments_created += 1
        else:
            report.assignments_updated += 1
    return report


@transaction.atomic
def upsert_assignment(*, hit: Hit, remote: RemoteAssignment) -> bool:
    _, created = MTurkAssignment.objects.update_or_create(
        assignment_id=remote.assignment_id,
        defaults={
            "hit": hit,
            "worker_id": remote.worker_id,
            "status": remote.status,
            "accept_time": remote.accept_time,
            "submit_time": remote.submit_time,
            "approval_time": remote.approval_time,
            "rejection_time": remote.rejection_time,
            "auto_approval_time": remote.auto_approval_time,
            "deadline": remote.deadline,
            "answer": remote.answer,
            "requester_feedback": remote.requester_feedback,
            "synced_at": timezone.now(),
        },
    )
    return created


def sync_batch(*, batch: HitBatch, mturk: MTurk) -> SyncReport:
    """Assignments of every HIT of ``batch`` (call ``sync_hits`` first to refresh HIT statuses)."""
    report = SyncReport()
    with mturk.audit_context(study_id=batch.study_id, batch_id=batch.pk):
        for hit in batch.hits.filter(hit_id__isnull=False).order_by("index"):
            report.merge(sync_assignments(hit=hit, mturk=mturk))
    return report
