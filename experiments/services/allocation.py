"""Handing out assignment bundles, releasing abandoned ones, and completing them.

Invariants and what backs them:

* one live (active or completed) assignment per bundle -- partial unique constraint
  ``one_live_assignment_per_bundle``; with ``k`` replicas of each item spread over distinct bundles,
  completed work never holds more than ``k`` judgments of an item;
* no worker is shown a pairing twice -- ``Exposure`` rows written with the assignment under the
  unique constraint ``no_repeated_pairing_per_worker``; the allocator skips bundles that overlap the
  worker's exposures (for a worker with none in the study, the common join, it has nothing to skip and
  checks nothing), and a concurrent start that slips through fails on the constraint and retries;
* concurrent starts never get the same bundle -- one ``UPDATE … WHERE pk = (SELECT … ORDER BY round,
  index LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, an indexed walk of the
  ``bundle_offer_order`` index that sorts nothing and reads no trial (other starts take the next free
  bundle instead of waiting), which on PostgreSQL also inserts the assignment and its exposures
  (one data-modifying ``WITH`` statement, ``_statements().claim``); on SQLite writes are serialised
  and the partial unique constraint is the backstop;
* adaptive experiments (opt-in, ``experiments.design.adaptive``): when no bundle at all is on offer,
  the next round is planned from the answers (``extend_adaptive_design``, serialised on the
  experiment row) and offered through the same query, so the invariants above hold unchanged.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
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
    QuestionnaireResponse,
    Response,
    Trial,
    WorkerBundleSlot,
)
from experiments.selectors import screening
from experiments.services.rounds import adaptive_policy, extend_adaptive_design, reoffer_skipped
from webapp.db import HotCursor, SqlNames, hot_cursor

MAX_ALLOCATION_ATTEMPTS = 5


class AllocationError(Exception):
    """No assignment can be handed out; ``reason`` is shown to the worker. ``wrote``: the join had written
    something before it was refused (an adaptive round planned), which its transaction must not keep."""

    def __init__(self, reason: str, *, code: str, wrote: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.wrote = wrote


@dataclass(frozen=True)
class Begun:
    """What a join got: the participant's assignment, and whether this call handed it out (then nothing in
    it is answered yet, and the worker's state needs no query)."""

    assignment: Assignment
    fresh: bool


def begin_work(*, session_token: str, now: datetime | None = None) -> Begun | None:
    """The join (``POST api/begin`` and the start form): give the session's participant a bundle, or return
    the one they already work on (idempotent); None for an unknown token.

    Raises ``AllocationError``: ``not_ready`` before consent and the screening steps are done
    (``screening.ready``), ``screened_out``, ``closed``, ``no_work``, ``worker_cap``, ``contention``."""
    return _allocate(key="token", value=session_token, check_ready=True, now=now)


def allocate_assignment(*, participant: Participant, now: datetime | None = None) -> Assignment:
    """``begin_work`` for a participant already at hand (the demo's simulated crowd, tests): the same rules,
    except that the steps before the trials are not checked."""
    begun = _allocate(key="participant", value=participant.pk, check_ready=False, now=now)
    if begun is None:
        raise Participant.DoesNotExist(f"participant {participant.pk}")
    return begun.assignment


def _allocate(*, key: str, value: object, check_ready: bool, now: datetime | None) -> Begun | None:
    """Joins come in bursts (a study launches by posting HITs), so the common case is two hand-written,
    prepared statements (``webapp.db.hot_cursor``) in one transaction: lock the participant and read
    everything the rules need, then claim + assign + expose (``_take_bundle``). A retry (another start of
    the same worker exposed one of these pairings first) runs a fresh transaction: no savepoints.

    A refusal that wrote nothing (the study is closed or full, the worker is not ready or at their cap)
    leaves its transaction by COMMIT, not ROLLBACK: both only release the participant's lock there, but
    psycopg forgets every statement it prepared on the connection at a ROLLBACK (and deallocates them
    on the server with one more round trip), so once a study is full each refused join would make the
    answers that follow on its connection prepare their statements again."""
    now = now or timezone.now()
    for _ in range(MAX_ALLOCATION_ATTEMPTS):
        try:
            with transaction.atomic():
                try:
                    return _allocate_once(key=key, value=value, check_ready=check_ready, now=now)
                except AllocationError as refusal:
                    if refusal.wrote:
                        raise
                    refused = refusal
            raise refused
        except IntegrityError:
            # Another start of the same worker (a second MTurk assignment in another tab) exposed one of
            # these pairings first, or SQLite let two starts race for one bundle: try the next bundle.
            continue
    raise AllocationError("We could not reserve work for you; please reload the page.", code="contention")


def _allocate_once(*, key: str, value: object, check_ready: bool, now: datetime) -> Begun | None:
    sql = _statements()
    with hot_cursor() as cursor:
        # Locking the participant serialises double clicks / two tabs of one participant.
        cursor.execute(sql.lock_by_token if key == "token" else sql.lock_participant, {key: value})
        row = cursor.fetchone()
        db = cursor.db
    if row is None:
        return None
    (participant_id, worker_id, experiment_id, consented, screened_out, audio_passed, headphone_passed) = row[:7]
    (questionnaire_answered, experiment_status, config, max_bundles, active_id, seen_any) = row[7:]
    if screened_out:
        raise AllocationError("This study cannot continue after the screening check. Thank you!", code="screened_out")
    if active_id is not None:
        return Begun(assignment=Assignment.objects.get(pk=active_id), fresh=False)
    if experiment_status != ExperimentStatus.OPEN:
        raise AllocationError("This study is not accepting new work right now.", code="closed")
    config = Experiment._meta.get_field("config").from_db_value(config, None, db)
    progress = screening.Progress(
        consented=bool(consented),
        screened_out=False,
        audio_check_passed=bool(audio_passed),
        headphone_passed=bool(headphone_passed),
        questionnaire_answered=lambda: bool(questionnaire_answered),
    )
    if check_ready and not screening.ready(progress, config or {}):
        raise AllocationError("Finish the steps before the trials first.", code="not_ready")
    # Instances with what the claim needs; any other field is deferred (loaded if something reads it).
    experiment = Experiment.from_db(
        db.alias,
        ["id", "status", "config", "max_bundles_per_worker"],
        [experiment_id, experiment_status, config, max_bundles],
    )
    participant = Participant.from_db(
        db.alias, ["id", "experiment_id", "worker_id"], [participant_id, experiment_id, worker_id]
    )
    Participant.experiment.field.set_cached_value(participant, experiment)
    assignment = _take_bundle(experiment=experiment, participant=participant, now=now, seen_any=bool(seen_any))
    return Begun(assignment=assignment, fresh=True)


def _take_bundle(*, experiment: Experiment, participant: Participant, now: datetime, seen_any: bool) -> Assignment:
    started = _bundles_started(experiment=experiment, worker_id=participant.worker_id)
    assignment = _claim(experiment=experiment, participant=participant, now=now, seen_any=seen_any)
    if assignment is None and adaptive_policy(experiment) is not None:
        # Nothing fits: plan the next round from the answers (a no-op while anything else is on offer,
        # or when a concurrent start has just planned it, which this query then sees).
        planned = extend_adaptive_design(experiment=experiment)
        assignment = _claim(experiment=experiment, participant=participant, now=now, seen_any=seen_any)
    else:
        planned = 0
    if assignment is None:
        raise AllocationError(
            "There is no work left for you in this study (all of it is taken, or you have already seen it). Thank you!",
            code="no_work",
            wrote=planned > 0,
        )
    if experiment.max_bundles_per_worker is not None:
        WorkerBundleSlot.objects.create(
            experiment=experiment,
            worker_id=participant.worker_id,
            number=started + 1,
            cap=experiment.max_bundles_per_worker,
            assignment=assignment,
        )
    return assignment


ASSIGNMENT_FIELDS = (
    "experiment",
    "bundle",
    "participant",
    "status",
    "n_trials",
    "n_answered",
    "completion_code",
    "started_at",
    "last_activity_at",
)


# Where a montage study's offer leaves out the bundles showing montages the worker was already given.
EXCLUDE_MARK = " /*montages*/"


@dataclass(frozen=True)
class _Statements:
    lock_participant: str
    lock_by_token: str
    bundle_pk: str  # the offer's bundle id column, for the montage studies' extra clause (EXCLUDE_MARK)
    claim: str  # PostgreSQL: claim + assign + expose in one statement; elsewhere the claim only
    claim_unseen: str  # ``claim`` for a worker with no exposure in the study: no overlap to check
    expose: str  # elsewhere (SQLite has no data-modifying WITH): the exposures, after the ORM's INSERT
    one_statement: bool


@functools.cache
def _statements() -> _Statements:
    p, e, a = SqlNames(Participant, "p"), SqlNames(Experiment, "e"), SqlNames(Assignment, "a")
    b, c, bp, x = SqlNames(Bundle, "b"), SqlNames(Bundle), SqlNames(BundlePairing, "bp"), SqlNames(Exposure, "x")
    features = connection.features
    active = AssignmentStatus.ACTIVE.value
    q = SqlNames(QuestionnaireResponse, "q")
    # Everything the join's rules read, with the participant's row locked: by pk, or by the session token
    # (the worker API's join, so the token costs no query of its own). The last column says whether the
    # worker has any exposure in the study (one probe of the unique constraint's index, which leads with
    # experiment and worker): a worker who has none -- every first join -- cannot overlap any bundle.
    lock = (
        f"SELECT {p.pk}, {p['worker_id']}, {p['experiment']}, {p['consented_at']} IS NOT NULL, "
        f"{p['screened_out_at']} IS NOT NULL, {p['audio_check_passed_at']} IS NOT NULL, "
        f"{p['headphone_passed_at']} IS NOT NULL, "
        f"EXISTS (SELECT 1 FROM {q.table} WHERE {q['participant']} = {p.pk}), "
        f"{e['status']}, {e['config']}, {e['max_bundles_per_worker']}, "
        f"(SELECT {a.pk} FROM {a.table} WHERE {a['participant']} = {p.pk} AND {a['status']} = '{active}'), "
        f"EXISTS (SELECT 1 FROM {x.table} WHERE {x['experiment']} = {p['experiment']} "
        f"AND {x['worker_id']} = {p['worker_id']}) "
        f"FROM {p.table} JOIN {e.table} ON {e.pk} = {p['experiment']} WHERE "
    )
    lock_tail = " FOR UPDATE OF p" if features.has_select_for_update_of else ""
    lock_participant = f"{lock}{p.pk} = %(participant)s{lock_tail}"
    lock_by_token = f"{lock}{p['token']} = %(token)s{lock_tail}"
    # The offer: bundles on offer in offer order (an indexed walk of ``bundle_offer_order`` that sorts
    # nothing and reads no trial), the first one that shares no pairing with the worker's exposures (NOT
    # EXISTS: two index probes per pairing of a candidate), locked with SKIP LOCKED so concurrent starts
    # take the next free bundle instead of waiting (SQLite serialises writes instead).
    #
    # PostgreSQL locks a candidate only after the filter has passed it, so in a burst of joins each
    # claim ran the overlap check on every bundle the concurrent claims held (up to one per connection)
    # before skipping it. For a worker with no exposure in the study there is nothing to overlap, and
    # ``claim_unseen`` leaves the check out; a concurrent start of the same worker that exposes a
    # pairing first still fails this one on the unique constraint, and the retry sees its exposures.
    overlap = (
        f" AND NOT EXISTS (SELECT 1 FROM {bp.table} WHERE {bp['bundle']} = {b.pk} AND EXISTS ("
        f"SELECT 1 FROM {x.table} WHERE {x['experiment']} = %(experiment)s AND {x['worker_id']} = %(worker)s "
        f"AND {x['pairing']} = {bp['pairing']}))"
    )

    def claim_bundle(check: str) -> str:
        offer = (
            f"SELECT {b.pk} FROM {b.table} WHERE {b['experiment']} = %(experiment)s "
            f"AND {b['status']} = %(available)s{check}{EXCLUDE_MARK} ORDER BY {b['round']}, {b['index']} LIMIT 1"
            + (" FOR UPDATE OF b SKIP LOCKED" if features.has_select_for_update_skip_locked else "")
        )
        return (
            f"UPDATE {c.table} SET {c['status']} = %(assigned)s WHERE {c.pk} = ({offer}) "
            f"RETURNING {c.pk}, {c['n_trials']}"
        )

    plain_a, plain_x = SqlNames(Assignment), SqlNames(Exposure)
    exposure_columns = ", ".join(plain_x.column(name) for name in ("experiment", "worker_id", "pairing", "assignment"))
    # The exposure rows' unique constraint (``no_repeated_pairing_per_worker``) turns an overlap with a
    # concurrent start of the same worker into an IntegrityError; the caller then tries the next bundle.
    expose = (
        f"INSERT INTO {plain_x.table} ({exposure_columns}) SELECT %(experiment)s, %(worker)s, {bp['pairing']}, "
        f"%(assignment)s FROM {bp.table} WHERE {bp['bundle']} = %(bundle)s ORDER BY {bp['pairing']}"
    )
    common = {"lock_participant": lock_participant, "lock_by_token": lock_by_token, "bundle_pk": b.pk, "expose": expose}
    if connection.vendor != "postgresql":
        return _Statements(**common, claim=claim_bundle(overlap), claim_unseen=claim_bundle(""), one_statement=False)
    assignment_columns = ", ".join(plain_a.column(name) for name in ASSIGNMENT_FIELDS)
    returned = ", ".join([plain_a.pk, *(plain_a.column(name) for name in ASSIGNMENT_FIELDS)])

    def claim(check: str) -> str:
        return (
            f"WITH claimed AS ({claim_bundle(check)}), "
            f"assigned AS (INSERT INTO {plain_a.table} ({assignment_columns}) "
            f"SELECT %(experiment)s, claimed.{c.pk}, %(participant)s, %(active)s, claimed.{c['n_trials']}, 0, "
            f"%(code)s, %(now)s, %(now)s FROM claimed RETURNING {returned}), "
            f"exposed AS (INSERT INTO {plain_x.table} ({exposure_columns}) "
            f"SELECT %(experiment)s, %(worker)s, {bp['pairing']}, assigned.{plain_a.pk} "
            f"FROM assigned JOIN {bp.table} ON {bp['bundle']} = assigned.{plain_a.column('bundle')} "
            f"ORDER BY {bp['pairing']}) "
            f"SELECT {returned} FROM assigned"
        )

    return _Statements(**common, claim=claim(overlap), claim_unseen=claim(""), one_statement=True)


def _claim(*, experiment: Experiment, participant: Participant, now: datetime, seen_any: bool) -> Assignment | None:
    """Claim the first bundle on offer for the participant, create its assignment and expose its pairings
    (on PostgreSQL in one statement, ``_statements().claim``); None when nothing is on offer for them.
    ``seen_any``: whether the worker had any exposure in the study when their row was locked (if not, no
    bundle can overlap them, and ``claim_unseen`` checks nothing)."""
    sql = _statements()
    claim = sql.claim if seen_any else sql.claim_unseen
    if experiment.config.get("montages"):
        excluded = _bundles_showing_seen_montages(experiment=experiment, worker_id=participant.worker_id)
        if excluded:  # ids from the database, formatted as integers: nothing a worker sent reaches the SQL
            claim = claim.replace(EXCLUDE_MARK, f" AND {sql.bundle_pk} NOT IN ({', '.join(map(str, excluded))})")
    params = {
        "experiment": experiment.pk,
        "worker": participant.worker_id,
        "available": BundleStatus.AVAILABLE.value,
        "assigned": BundleStatus.ASSIGNED.value,
    }
    code = secrets.token_hex(6).upper()
    with hot_cursor() as cursor:
        if sql.one_statement:
            params |= {"participant": participant.pk, "active": AssignmentStatus.ACTIVE.value, "code": code}
            cursor.execute(claim, params | {"now": now})
            row = cursor.fetchone()
            if row is None:
                return None
            names = ["id", *(Assignment._meta.get_field(name).attname for name in ASSIGNMENT_FIELDS)]
            return Assignment.from_db(connection.alias, names, row)
        cursor.execute(claim, params)
        row = cursor.fetchone()
        if row is None:
            return None
        bundle_id, n_trials = row
        assignment = Assignment.objects.create(
            experiment=experiment,
            bundle_id=bundle_id,
            participant=participant,
            n_trials=n_trials,
            completion_code=code,
            last_activity_at=now,
        )
        cursor.execute(sql.expose, params | {"assignment": assignment.pk, "bundle": bundle_id})
    return assignment


def warm_statements(cursor: HotCursor) -> None:
    """The join's statements, run with values that match no row (``webapp.db.warm_pool``: a fresh pooled
    connection loads their catalog entries and prepares them before the first join needs them)."""
    sql = _statements()
    cursor.execute(sql.lock_by_token, {"token": ""})
    cursor.fetchone()
    if not sql.one_statement:
        return  # only PostgreSQL pools connections
    nothing = {
        "experiment": 0,
        "worker": "",
        "available": BundleStatus.AVAILABLE.value,
        "assigned": BundleStatus.ASSIGNED.value,
        "participant": 0,
        "active": AssignmentStatus.ACTIVE.value,
        "code": "",
        "now": timezone.now(),
    }
    for claim in (sql.claim_unseen, sql.claim):  # experiment 0 has no bundle: nothing is claimed or written
        cursor.execute(claim, nothing)
        cursor.fetchone()


def _bundles_showing_seen_montages(*, experiment: Experiment, worker_id: str) -> list[int]:
    """Montage studies: the bundles on offer that show a montage the worker has already been given in this
    study (every montage of their live assignments' bundles; of an abandoned one, those they answered).

    Montage items have no pairings, so the exposure rows do not cover them; this is the rule for montages
    (checked at allocation, without a database constraint behind it).
    """
    mine = Assignment.objects.filter(experiment=experiment, participant__worker_id=worker_id)
    given = Item.objects.filter(experiment=experiment).filter(
        Q(trials__bundle__assignments__in=mine.exclude(status=AssignmentStatus.ABANDONED))
        | Q(trials__responses__assignment__in=mine.filter(status=AssignmentStatus.ABANDONED))
    )
    seen = {m for row in given.values_list("montage_id", "first_montage_id", "second_montage_id") for m in row if m}
    if not seen:
        return []
    showing = Trial.objects.filter(bundle__experiment=experiment, bundle__status=BundleStatus.AVAILABLE).filter(
        Q(item__montage__in=seen) | Q(item__first_montage__in=seen) | Q(item__second_montage__in=seen)
    )
    return sorted(set(showing.values_list("bundle_id", flat=True)))


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
    """Mark a fully answered assignment complete and count its items. Called with the row locked
    (the caller saves ``status`` and ``completed_at``)."""
    assignment.status = AssignmentStatus.COMPLETED
    assignment.completed_at = now
    count_completion(assignment_id=assignment.pk, bundle_id=assignment.bundle_id)
    reoffer_skipped(assignment=assignment)


def count_completion(*, assignment_id: int, bundle_id: int) -> None:
    """The bundle is done and each of its items gets one more judgment: the part of completing an
    assignment that both answer paths share (``complete_assignment`` and the fast path, which takes
    completions without skipped trials). Two prepared statements, in the caller's transaction.

    A skipped trial (its media would not play) is not a judgment: its item is not counted (it is
    offered again in a make-up bundle, ``rounds.reoffer_skipped``). Bundles share items (each item
    is in k bundles), so the items are locked in primary-key order first: two completions touching
    overlapping items wait for each other instead of deadlocking.
    """
    sql = _completion_statements()
    with hot_cursor() as cursor:
        cursor.execute(sql.complete_bundle, [BundleStatus.COMPLETED.value, bundle_id])
        if sql.lock_items:
            cursor.execute(sql.lock_items, [bundle_id, assignment_id])
        cursor.execute(sql.count_items, [bundle_id, assignment_id])


@dataclass(frozen=True)
class _CompletionStatements:
    complete_bundle: str
    lock_items: str  # empty where there are no row locks (SQLite serialises writers)
    count_items: str


@functools.cache
def _completion_statements() -> _CompletionStatements:
    b, i, t, r = SqlNames(Bundle), SqlNames(Item), SqlNames(Trial, "t"), SqlNames(Response, "r")
    counted = (
        f"SELECT {t['item']} FROM {t.table} WHERE {t['bundle']} = %s AND {t['item']} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {r.table} WHERE {r['assignment']} = %s AND {r['trial']} = {t.pk} "
        f"AND {r['skipped_reason']} <> '')"
    )
    lock_items = ""
    if connection.features.has_select_for_update:
        lock_items = f"SELECT {i.pk} FROM {i.table} WHERE {i.pk} IN ({counted}) ORDER BY {i.pk} FOR UPDATE"
    return _CompletionStatements(
        complete_bundle=f"UPDATE {b.table} SET {b['status']} = %s WHERE {b.pk} = %s",
        lock_items=lock_items,
        count_items=(
            f"UPDATE {i.table} SET {i['completed_count']} = {i['completed_count']} + 1 WHERE {i.pk} IN ({counted})"
        ),
    )
