"""Storing a worker's answer exactly once.

The client sends every answer with an idempotency key it generated before the first attempt and
keeps re-sending it until acknowledged. The server:

0. checks every field of the answer (``experiments.answer_input``: types, ranges, sizes; no
   database access), so a refused answer changes nothing;
1. locks the participant's current assignment (answers of one assignment are serialised);
2. answers a key it has seen with the receipt of the stored row (no second write);
3. refuses an answer to a trial that was not served to this assignment at this position (the
   sealed presentation token each trial carries, echoed by the answer);
4. otherwise inserts the response; ``unique(idempotency_key)`` and ``unique(assignment, trial)``
   make a lost race fail in the database rather than store twice;
5. completes the assignment when its last trial is answered.

Workers submit on the hot path by session token. There the common case -- an active assignment,
a fresh key, a presented and unanswered trial that is not the last one -- runs as four hand-written statements
(``_record_common_case``): the ORM spent more CPU compiling the queries than PostgreSQL spent
running them. Every other case (replays, stale or finished assignments, bad positions, unpresented
trials, completion, revival) falls through to the general ORM path, so the two cannot disagree on anything but speed;
``tests/experiments/test_answer_fast_path.py`` replays random answer streams through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from experiments import answer_input
from experiments.answer_input import AnswerInput, AnswerRejected
from experiments.models import Assignment, AssignmentStatus, ExperimentKind, Participant, Response, Side, Trial
from experiments.services.allocation import complete_assignment, revive_assignment
from webapp.db import hot_cursor

__all__ = ["AnswerInput", "AnswerReceipt", "AnswerRejected", "assignment_ref", "record_answer", "touch_assignment"]


@dataclass(frozen=True)
class AnswerReceipt:
    key: str
    position: int
    replayed: bool
    progress: dict

    def as_json(self) -> dict:
        return {"key": self.key, "position": self.position, "stored": True, "replayed": self.replayed, **self.progress}


def assignment_ref(assignment: Assignment) -> str:
    """An opaque handle for the assignment in worker JSON (no database id)."""
    return assignment_ref_for(assignment.pk)


def assignment_ref_for(assignment_id: int) -> str:
    return salted_hmac("mvfit.experiments.assignment", str(assignment_id)).hexdigest()[:20]


def progress_of(assignment: Assignment) -> dict:
    return {
        "answered": assignment.n_answered,
        "total": assignment.n_trials,
        "done": assignment.status == AssignmentStatus.COMPLETED,
    }


@transaction.atomic
def record_answer(
    *,
    answer: AnswerInput,
    participant: Participant | None = None,
    session_token: str | None = None,
    now: datetime | None = None,
) -> AnswerReceipt:
    """Store the answer once; a repeated key gets the stored answer's receipt (``replayed``).

    The participant is given as a row or, on the hot path, by its session token (saving a query).
    Raises ``AnswerRejected`` for answers that cannot be stored: first every field is checked
    (``answer_input.check``, no database access), then the answer against the assignment -- among
    others, the trial must have been served to this assignment (``answer.presentation``). A refused
    answer changes nothing. (If the database itself refuses a duplicate -- only possible if the row
    lock were bypassed -- the ``IntegrityError`` propagates and the transaction rolls back; the view
    answers 409.)
    """
    if (participant is None) == (session_token is None):
        raise TypeError("give exactly one of participant and session_token")
    now = now or timezone.now()
    answer = answer_input.check(answer, now=now)
    presented = answer_input.presented_trial(answer.presentation)
    if session_token is not None:
        receipt = _record_common_case(answer=answer, presented=presented, session_token=session_token, now=now)
        if receipt is not None:
            return receipt
    who = {"participant": participant} if participant is not None else {"participant__token": session_token}
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("experiment")
        .filter(**who)
        .order_by("-pk")
        .first()
    )
    if assignment is None:
        raise AnswerRejected("You have no assignment yet.", status=409, code="no_assignment")

    # One query answers both questions: was this key stored before, and is this trial answered already?
    stored = list(
        Response.objects.filter(
            Q(idempotency_key=answer.idempotency_key) | Q(assignment=assignment, trial__position=answer.position)
        )
        .order_by()
        .values("idempotency_key", "assignment_id", "trial__position", "assignment__participant_id")
    )
    previous = next((r for r in stored if r["idempotency_key"] == answer.idempotency_key), None)
    if previous is not None:
        if previous["assignment__participant_id"] != assignment.participant_id:
            raise AnswerRejected("This answer key was used by another session.", status=409, code="key_reused")
        return AnswerReceipt(
            key=answer.idempotency_key,
            position=previous["trial__position"],
            replayed=True,
            progress=progress_of(assignment),
        )
    if answer.assignment_ref != assignment_ref(assignment):
        # An answer queued for an earlier assignment of this participant must not land on a trial of
        # the current one that happens to have the same position.
        raise AnswerRejected("This answer belongs to an earlier assignment.", status=409, code="stale_assignment")
    if presented != (assignment.pk, answer.position):
        raise answer_input.not_presented()
    if stored:
        raise AnswerRejected(
            "This trial is already answered.", status=409, code="already_answered", progress=progress_of(assignment)
        )
    if assignment.status == AssignmentStatus.ABANDONED:
        if not revive_assignment(assignment=assignment, now=now):
            raise AnswerRejected(
                "Your session timed out and its work was given to someone else. Reload to continue with new work.",
                status=410,
                code="expired",
            )
        assignment.refresh_from_db()
    if assignment.status != AssignmentStatus.ACTIVE:
        raise AnswerRejected(
            "This assignment is finished.", status=409, code="finished", progress=progress_of(assignment)
        )
    try:
        trial = Trial.objects.select_related("catch").get(bundle_id=assignment.bundle_id, position=answer.position)
    except Trial.DoesNotExist:
        raise AnswerRejected(
            f"There is no trial {answer.position} in your assignment.", status=400, code="bad_position"
        ) from None
    answer_input.check_kind(is_choice=assignment.experiment.is_choice, answer=answer)

    catch_passed = None
    if trial.catch_id:
        if assignment.experiment.is_choice:
            expected = Side.LEFT if trial.first_on_left else Side.RIGHT
            catch_passed = answer.chosen_side == expected
        else:
            catch_passed = answer.rating == trial.catch.expected_rating
    Response.objects.create(
        assignment=assignment,
        trial=trial,
        idempotency_key=answer.idempotency_key,
        rating=answer.rating,
        chosen_side=answer.chosen_side,
        is_catch=trial.catch_id is not None,
        catch_passed=catch_passed,
        rt_ms=answer.rt_ms,
        play_count=answer.play_count,
        presented_at=answer.presented_at,
        answered_at=answer.answered_at,
        events=answer.events,
    )
    assignment.n_answered += 1
    assignment.last_activity_at = now
    fields = ["n_answered", "last_activity_at"]
    if assignment.n_answered == assignment.n_trials:
        complete_assignment(assignment=assignment, now=now)
        fields += ["status", "completed_at"]
    assignment.save(update_fields=fields)
    return AnswerReceipt(
        key=answer.idempotency_key, position=answer.position, replayed=False, progress=progress_of(assignment)
    )


CHOICE_KINDS = (ExperimentKind.AFC.value, ExperimentKind.PREFERENCE.value)
_LOCK_CURRENT_ASSIGNMENT = """
    SELECT a.id, a.status, a.n_trials, a.n_answered, a.bundle_id, e.kind
    FROM experiments_assignment a
    JOIN experiments_participant p ON p.id = a.participant_id
    JOIN experiments_experiment e ON e.id = a.experiment_id
    WHERE p.token = %s
    ORDER BY a.id DESC
    LIMIT 1
"""
_TRIAL_IF_UNANSWERED = """
    SELECT t.id, t.catch_id, t.first_on_left, c.expected_rating,
           EXISTS (SELECT 1 FROM experiments_response r
                   WHERE r.idempotency_key = %s OR (r.assignment_id = %s AND r.trial_id = t.id))
    FROM experiments_trial t
    LEFT JOIN experiments_catchstimulus c ON c.id = t.catch_id
    WHERE t.bundle_id = %s AND t.position = %s
"""
_INSERT_RESPONSE = """
    INSERT INTO experiments_response (assignment_id, trial_id, idempotency_key, rating, chosen_side, is_catch,
        catch_passed, rt_ms, play_count, presented_at, answered_at, received_at, events)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
_COUNT_ANSWER = "UPDATE experiments_assignment SET n_answered = n_answered + 1, last_activity_at = %s WHERE id = %s"


def _record_common_case(
    *, answer: AnswerInput, presented: tuple | None, session_token: str, now: datetime
) -> AnswerReceipt | None:
    """Store an answer in the common case, or return None (nothing written) to take the general path.

    Runs inside ``record_answer``'s transaction. The assignment row is locked first, exactly as in
    the general path, so answers of one assignment stay serialised.
    """
    lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
    ops = connection.ops
    with hot_cursor() as cursor:
        cursor.execute(_LOCK_CURRENT_ASSIGNMENT + lock, [session_token])
        row = cursor.fetchone()
        if row is None:
            return None
        assignment_id, status, n_trials, n_answered, bundle_id, kind = row
        if (
            status != AssignmentStatus.ACTIVE
            or n_answered + 1 >= n_trials  # the last answer completes the assignment: general path
            or answer.assignment_ref != assignment_ref_for(assignment_id)
            or presented != (assignment_id, answer.position)
        ):
            return None
        cursor.execute(_TRIAL_IF_UNANSWERED, [answer.idempotency_key, assignment_id, bundle_id, answer.position])
        row = cursor.fetchone()
        if row is None or row[4]:  # no such trial, a replayed key or an answered trial: general path
            return None
        trial_id, catch_id, first_on_left, expected_rating, _ = row
        is_choice = kind in CHOICE_KINDS
        answer_input.check_kind(is_choice=is_choice, answer=answer)
        catch_passed = None
        if catch_id is not None:
            if is_choice:
                catch_passed = answer.chosen_side == (Side.LEFT if first_on_left else Side.RIGHT)
            else:
                catch_passed = answer.rating == expected_rating
        events = Response._meta.get_field("events").get_db_prep_save(answer.events, connection)
        cursor.execute(
            _INSERT_RESPONSE,
            [
                assignment_id,
                trial_id,
                answer.idempotency_key,
                answer.rating,
                answer.chosen_side,
                catch_id is not None,
                catch_passed,
                answer.rt_ms,
                answer.play_count,
                ops.adapt_datetimefield_value(answer.presented_at),
                ops.adapt_datetimefield_value(answer.answered_at),
                ops.adapt_datetimefield_value(now),
                events,
            ],
        )
        cursor.execute(_COUNT_ANSWER, [ops.adapt_datetimefield_value(now), assignment_id])
    progress = {"answered": n_answered + 1, "total": n_trials, "done": False}
    return AnswerReceipt(key=answer.idempotency_key, position=answer.position, replayed=False, progress=progress)


@transaction.atomic
def touch_assignment(*, assignment: Assignment, now: datetime | None = None, every_s: int = 60) -> None:
    """Keep an assignment that is being looked at from timing out (at most one write a minute)."""
    now = now or timezone.now()
    if assignment.status == AssignmentStatus.ACTIVE and (now - assignment.last_activity_at).total_seconds() > every_s:
        Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.ACTIVE).update(last_activity_at=now)
