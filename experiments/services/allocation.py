"""Handing out assignment bundles, releasing abandoned ones, and completing them.

Invariants and what backs them:

* one live (active or completed) assignment per bundle -- partial unique constraint
  ``one_live_assignment_per_bundle``; with ``k`` replicas of each item spread over distinct bundles,
  completed work never holds more than ``k`` judgments of an item;
* no worker is shown a pairing twice -- ``Exposure`` rows written with the assignment under the
  unique constraint ``no_repeated_pairing_per_worker``; the allocator skips bundles that overlap the
  worker's exposures, and a concurrent start that slips through fails on the constraint and retries;
* concurrent starts never get the same bundle -- one ``UPDATE … WHERE pk = (SELECT … ORDER BY round,
  index LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, an indexed walk of the
  ``bundle_offer_order`` index that sorts nothing and reads no trial (other starts take the next free
  bundle instead of waiting); on SQLite writes are serialised and
  the partial unique constraint is the backstop;
* adaptive experiments (opt-in, ``experiments.design.adaptive``): when no bundle at all is on offer,
  the next round is planned from the answers (``extend_adaptive_design``, serialised on the
  experiment row) and offered through the same query, so the invariants above hold unchanged.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    BundlePairing,
    BundleStatus,
    Experiment,
    ExperimentStatus,
    Exposure,
    Item,
    Participant,
    Response,
    Trial,
    WorkerBundleSlot,
)
from experiments.services.rounds import adaptive_policy, extend_adaptive_design, reoffer_skipped
from webapp.db import SqlNames

MAX_ALLOCATION_ATTEMPTS = 5


class AllocationError(Exception):
    """No assignment can be handed out; ``reason`` is shown to the worker."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@transaction.atomic
def allocate_assignment(*, participant: Participant, now: datetime | None = None) -> Assignment:
    """Give the participant a bundle, or return the one they already work on (idempotent)."""
    now = now or timezone.now()
    # Locking the participant serialises double clicks / two tabs of one participant.
    participant = (
        Participant.objects.select_for_update(of=("self",)).select_related("experiment").get(pk=participant.pk)
    )
    if participant.screened_out_at is not None:
        raise AllocationError("This study cannot continue after the screening check. Thank you!", code="screened_out")
    active = participant.assignments.filter(status=AssignmentStatus.ACTIVE).first()
    if active is not None:
        return active
    experiment = participant.experiment
    if experiment.status != ExperimentStatus.OPEN:
        raise AllocationError("This study is not accepting new work right now.", code="closed")
    for _ in range(MAX_ALLOCATION_ATTEMPTS):
        try:
            with transaction.atomic():
                return _take_bundle(experiment=experiment, participant=participant, now=now)
        except IntegrityError:
            # Another start of the same worker (a second MTurk assignment in another tab) exposed one of
            # these pairings first, or SQLite let two starts race for one bundle: try the next bundle.
            continue
    raise AllocationError("We could not reserve work for you; please reload the page.", code="contention")


def _take_bundle(*, experiment: Experiment, participant: Participant, now: datetime) -> Assignment:
    started = _bundles_started(experiment=experiment, worker_id=participant.worker_id)
    # NOT EXISTS lets PostgreSQL walk bundles in offer order and stop at the first one that shares no
    # pairing with the worker's exposures (two index probes per pairing of a candidate bundle).
    seen = Exposure.objects.filter(
        experiment=experiment, worker_id=participant.worker_id, pairing_id=OuterRef("pairing_id")
    )
    overlaps = BundlePairing.objects.filter(bundle_id=OuterRef("pk")).filter(Exists(seen))
    offer = (
        Bundle.objects.filter(experiment=experiment, status=BundleStatus.AVAILABLE)
        .filter(~Exists(overlaps))
        .order_by("round", "index")
        .select_for_update(skip_locked=True)
    )
    if experiment.config.get("montages"):
        offer = _without_seen_montages(offer, experiment=experiment, worker_id=participant.worker_id)
    claimed = _claim(offer)
    if claimed is None and adaptive_policy(experiment) is not None:
        # Nothing fits: plan the next round from the answers (a no-op while anything else is on offer,
        # or when a concurrent start has just planned it, which this query then sees).
        extend_adaptive_design(experiment=experiment)
        claimed = _claim(offer)
    if claimed is None:
        raise AllocationError(
            "There is no work left for you in this study (all of it is taken, or you have already seen it). Thank you!",
            code="no_work",
        )
    bundle_id, n_trials = claimed
    assignment = Assignment.objects.create(
        experiment=experiment,
        bundle_id=bundle_id,
        participant=participant,
        n_trials=n_trials,
        completion_code=secrets.token_hex(6).upper(),
        last_activity_at=now,
    )
    if experiment.max_bundles_per_worker is not None:
        WorkerBundleSlot.objects.create(
            experiment=experiment,
            worker_id=participant.worker_id,
            number=started + 1,
            cap=experiment.max_bundles_per_worker,
            assignment=assignment,
        )
    _expose(assignment=assignment, worker_id=participant.worker_id)
    return assignment


def _without_seen_montages(offer, *, experiment: Experiment, worker_id: str):
    """Montage studies: leave out bundles showing a montage the worker has already been given in this
    study (every montage of their live assignments' bundles; of an abandoned one, those they answered).

    Montage items have no pairings, so the exposure rows do not cover them; this filter is the rule
    for montages (checked at allocation, without a database constraint behind it).
    """
    mine = Assignment.objects.filter(experiment=experiment, participant__worker_id=worker_id)
    given = Item.objects.filter(experiment=experiment).filter(
        Q(trials__bundle__assignments__in=mine.exclude(status=AssignmentStatus.ABANDONED))
        | Q(trials__responses__assignment__in=mine.filter(status=AssignmentStatus.ABANDONED))
    )
    seen = {m for row in given.values_list("montage_id", "first_montage_id", "second_montage_id") for m in row if m}
    if not seen:
        return offer
    showing = Trial.objects.filter(bundle_id=OuterRef("pk")).filter(
        Q(item__montage__in=seen) | Q(item__first_montage__in=seen) | Q(item__second_montage__in=seen)
    )
    return offer.filter(~Exists(showing))


def _claim(offer) -> tuple[int, int] | None:
    """Take the first bundle of ``offer`` (an indexed walk in offer order, ``bundle_offer_order``) in one
    statement: ``UPDATE … WHERE pk = (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING``. Concurrent
    starts skip each other's locked rows instead of queueing; returns (bundle id, trials) or None."""
    select, params = offer.values("pk")[:1].query.sql_with_params()
    b = SqlNames(Bundle)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {b.table} SET {b['status']} = %s WHERE {b.pk} = ({select}) RETURNING {b.pk}, {b['n_trials']}",
            [BundleStatus.ASSIGNED, *params],
        )
        return cursor.fetchone()


def _expose(*, assignment: Assignment, worker_id: str) -> None:
    """Record that the worker is shown every pairing of the assignment's bundle: one INSERT … SELECT
    (``no_repeated_pairing_per_worker`` turns an overlap into an IntegrityError)."""
    e, bp = SqlNames(Exposure), SqlNames(BundlePairing)
    columns = ", ".join(e.column(name) for name in ("experiment", "worker_id", "pairing", "assignment"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {e.table} ({columns}) SELECT %s, %s, {bp['pairing']}, %s FROM {bp.table} "
            f"WHERE {bp['bundle']} = %s ORDER BY {bp['pairing']}",
            [assignment.experiment_id, worker_id, assignment.pk, assignment.bundle_id],
        )


def _bundles_started(*, experiment: Experiment, worker_id: str) -> int:
    """Bundles the worker started in a study with a per-worker cap; refuses once the cap is reached (the
    ``WorkerBundleSlot`` constraints hold it under concurrent starts too)."""
    if experiment.max_bundles_per_worker is None:
        return 0
    started = WorkerBundleSlot.objects.filter(experiment=experiment, worker_id=worker_id).count()
    if started >= experiment.max_bundles_per_worker:
        raise AllocationError(
            "You have done as many parts of this study as one person may. Thank you for taking part!",
            code="worker_cap",
        )
    return started


@transaction.atomic
def release_abandoned_assignments(
    *, now: datetime | None = None, limit: int = 1000, experiment: Experiment | None = None
) -> int:
    """Release active assignments idle longer than their experiment's timeout; returns how many.

    The bundle goes back on offer; the worker keeps the exposures of pairings they answered (so
    they are never shown those again) and loses the rest. ``experiment``: only that experiment's
    (the experimenter's "release abandoned bundles" button); every experiment's by default (Celery beat).
    """
    now = now or timezone.now()
    experiments = Experiment.objects.filter(pk=experiment.pk) if experiment is not None else Experiment.objects
    timeouts = dict(
        experiments.filter(assignments__status=AssignmentStatus.ACTIVE).values_list("pk", "abandon_after_s").distinct()
    )
    released = 0
    for experiment_id, timeout_s in timeouts.items():
        idle = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(
                experiment_id=experiment_id,
                status=AssignmentStatus.ACTIVE,
                last_activity_at__lt=now - timedelta(seconds=timeout_s),
            )
            .order_by("pk")[: limit - released]
        )
        for assignment in idle:
            _release(assignment, now=now)
            released += 1
        if released >= limit:
            break
    return released


def _release(assignment: Assignment, *, now: datetime) -> None:
    Bundle.objects.filter(pk=assignment.bundle_id).update(status=BundleStatus.AVAILABLE)
    assignment.status = AssignmentStatus.ABANDONED
    assignment.abandoned_at = now
    assignment.save(update_fields=["status", "abandoned_at"])
    answered = Response.objects.filter(assignment=assignment).values_list(
        "trial__item__pairing_id", "trial__item__first_pairing_id", "trial__item__second_pairing_id"
    )
    keep = {p for row in answered for p in row if p is not None}
    assignment.exposures.exclude(pairing_id__in=keep).delete()


@transaction.atomic
def revive_assignment(*, assignment: Assignment, now: datetime | None = None) -> bool:
    """Reactivate an abandoned assignment if its bundle is still on offer (the worker came back).

    Returns False when the bundle was handed to someone else meanwhile; the worker then starts a new
    bundle and their answers in the abandoned one stay stored (but uncounted).
    """
    now = now or timezone.now()
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status == AssignmentStatus.ACTIVE:
        return True
    if assignment.status != AssignmentStatus.ABANDONED:
        return False
    bundle = Bundle.objects.select_for_update().get(pk=assignment.bundle_id)
    if bundle.status != BundleStatus.AVAILABLE:
        return False
    if assignment.participant.assignments.filter(status=AssignmentStatus.ACTIVE).exists():
        return False
    worker_id = assignment.participant.worker_id
    held = set(assignment.exposures.values_list("pairing_id", flat=True))
    missing = [
        p for p in BundlePairing.objects.filter(bundle=bundle).values_list("pairing_id", flat=True) if p not in held
    ]
    try:
        with transaction.atomic():
            Exposure.objects.bulk_create(
                [
                    Exposure(
                        experiment_id=assignment.experiment_id, worker_id=worker_id, pairing_id=p, assignment=assignment
                    )
                    for p in missing
                ]
            )
    except IntegrityError:
        return False
    bundle.status = BundleStatus.ASSIGNED
    bundle.save(update_fields=["status"])
    assignment.status = AssignmentStatus.ACTIVE
    assignment.abandoned_at = None
    assignment.last_activity_at = now
    assignment.save(update_fields=["status", "abandoned_at", "last_activity_at"])
    return True


def complete_assignment(*, assignment: Assignment, now: datetime) -> None:
    """Mark a fully answered assignment complete and count its items. Called with the row locked."""
    assignment.status = AssignmentStatus.COMPLETED
    assignment.completed_at = now
    Bundle.objects.filter(pk=assignment.bundle_id).update(status=BundleStatus.COMPLETED)
    # A skipped trial (its media would not play) is not a judgment: its item is not counted, and it is
    # offered again to others in a make-up bundle.
    skipped = Response.objects.filter(assignment=assignment).exclude(skipped_reason="").values("trial_id")
    item_ids = (
        Trial.objects.filter(bundle_id=assignment.bundle_id, item__isnull=False)
        .exclude(pk__in=skipped)
        .values("item_id")
    )
    # Bundles share items (each item is in k bundles): lock them in primary-key order first, so two
    # completions touching overlapping items wait for each other instead of deadlocking.
    locked = list(Item.objects.filter(pk__in=item_ids).order_by("pk").select_for_update().values_list("pk", flat=True))
    Item.objects.filter(pk__in=locked).update(completed_count=F("completed_count") + 1)
    reoffer_skipped(assignment=assignment)
