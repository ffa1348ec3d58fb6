"""Storing a worker's answer exactly once: the general (ORM) path, and the rules both paths share.

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

Two entry points, named for their callers (no run-time mode switch):

* :func:`record_answer` -- by participant row, always the general ORM path (the simulated crowd,
  factories, tests);
* ``experiments.services.fastpath.record_answer_fast`` -- by session token, what the worker API
  calls: the common case in hand-written SQL, everything else through :func:`record_checked_answer`
  here.

What both paths decide is written once, here: :func:`checked_answer` (step 0 and the presentation
token), :func:`assignment_refusal` (the answer's assignment handle and presentation token against the
locked assignment), :func:`response_values` (the row to store, including the catch check
:func:`catch_passed`) and ``answer_input.check_kind``.
``tests/experiments/test_answer_fast_path.py`` replays random answer streams through both entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from experiments import answer_input
from experiments.answer_input import AnswerInput, AnswerRejected, assignment_ref, assignment_ref_for
from experiments.models import Assignment, AssignmentStatus, Participant, Response, Side, Trial
from experiments.selectors.worker import PRELOAD_WINDOW, may_fetch
from experiments.services.allocation import complete_assignment, revive_assignment

__all__ = [
    "AnswerInput",
    "AnswerReceipt",
    "AnswerRejected",
    "Upcoming",
    "assignment_ref",
    "record_answer",
    "record_checked_answer",
    "touch_assignment",
]

Presented = tuple[int, int] | None  # (assignment id, position) a presentation token names


@dataclass(frozen=True)
class Upcoming:
    """The trial a fresh answer's response carries, so the runner needs no separate fetch for it: the
    one ``PRELOAD_WINDOW`` positions on (what the runner preloads next), when the worker may fetch it."""

    assignment_id: int
    position: int
    direction: str
    is_choice: bool


@dataclass(frozen=True)
class AnswerReceipt:
    key: str
    position: int
    replayed: bool
    progress: dict
    upcoming: Upcoming | None = None

    def as_json(self) -> dict:
        return {"key": self.key, "position": self.position, "stored": True, "replayed": self.replayed, **self.progress}


def upcoming_position(*, position: int, n_trials: int, n_answered: int) -> int | None:
    """The position whose trial the response to a fresh answer at ``position`` carries (None: none).

    The runner shows the trial after ``position`` (preloaded already) and preloads the one
    ``PRELOAD_WINDOW`` on; the worker could fetch that one now (``may_fetch``), so carrying it
    reveals nothing a fetch would not.
    """
    upcoming = position + PRELOAD_WINDOW
    return upcoming if may_fetch(n_trials=n_trials, n_answered=n_answered, position=upcoming) else None


def progress_of(assignment: Assignment) -> dict:
    return {
        "answered": assignment.n_answered,
        "total": assignment.n_trials,
        "done": assignment.status == AssignmentStatus.COMPLETED,
    }


# --- the rules both paths share ---------------------------------------------------------------


def checked_answer(answer: AnswerInput, *, now: datetime) -> tuple[AnswerInput, Presented]:
    """Step 0: the answer with every field checked (``AnswerRejected`` otherwise; no database access)
    and its timestamps in UTC, and the trial its presentation token names (None if missing or forged)."""
    answer = answer_input.check(answer, now=now)
    return answer, answer_input.presented_trial(answer.presentation)


def assignment_refusal(*, answer: AnswerInput, presented: Presented, assignment_id: int) -> AnswerRejected | None:
    """Why the answer may not go to this (current, locked) assignment, or None if it may."""
    if answer.assignment_ref != assignment_ref_for(assignment_id):
        # An answer queued for an earlier assignment of this participant must not land on a trial of
        # the current one that happens to have the same position.
        return AnswerRejected("This answer belongs to an earlier assignment.", status=409, code="stale_assignment")
    if presented != (assignment_id, answer.position):
        return answer_input.not_presented()
    return None


def catch_passed(*, answer: AnswerInput, is_choice: bool, first_on_left: bool, expected_rating: int | None) -> bool:
    """Whether an answer to an attention check passed: the target's side for a choice (the target
    plays on the left when ``first_on_left``), the expected rating otherwise."""
    if is_choice:
        return answer.chosen_side == (Side.LEFT if first_on_left else Side.RIGHT)
    return answer.rating == expected_rating


def response_values(
    *, answer: AnswerInput, is_choice: bool, is_catch: bool, first_on_left: bool, expected_rating: int | None
) -> dict[str, Any]:
    """The stored answer by ``Response`` field name, as both paths write it (besides the assignment
    and trial, and ``received_at``: the server's clock). Refuses an answer of the wrong kind."""
    answer_input.check_kind(is_choice=is_choice, answer=answer)
    passed = None
    if is_catch and not answer.skipped:
        passed = catch_passed(
            answer=answer, is_choice=is_choice, first_on_left=first_on_left, expected_rating=expected_rating
        )
    return {
        "idempotency_key": answer.idempotency_key,
        "rating": answer.rating,
        "chosen_side": answer.chosen_side,
        "is_catch": is_catch,
        "catch_passed": passed,
        "rt_ms": answer.rt_ms,
        "play_count": answer.play_count,
        "presented_at": answer.presented_at,
        "answered_at": answer.answered_at,
        "events": answer.events,
        "skipped_reason": answer.skipped,
    }


# --- the general path -------------------------------------------------------------------------


@transaction.atomic
def record_answer(*, participant: Participant, answer: AnswerInput, now: datetime | None = None) -> AnswerReceipt:
    """Store the answer once; a repeated key gets the stored answer's receipt (``replayed``).

    Raises ``AnswerRejected`` for answers that cannot be stored: first every field is checked
    (``answer_input.check``, no database access), then the answer against the assignment -- among
    others, the trial must have been served to this assignment (``answer.presentation``). A refused
    answer changes nothing. (If the database itself refuses a duplicate -- only possible if the row
    lock were bypassed -- the ``IntegrityError`` propagates and the transaction rolls back; the view
    answers 409.)
    """
    now = now or timezone.now()
    answer, presented = checked_answer(answer, now=now)
    return record_checked_answer(owner=Q(participant=participant), answer=answer, presented=presented, now=now)


def record_checked_answer(*, owner: Q, answer: AnswerInput, presented: Presented, now: datetime) -> AnswerReceipt:
    """Steps 1-5 for an answer that passed :func:`checked_answer`, in the caller's transaction.

    ``owner`` selects the participant's assignments (by row or by session token); the newest is the
    current one.
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("experiment")
        .filter(owner)
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
    refusal = assignment_refusal(answer=answer, presented=presented, assignment_id=assignment.pk)
    if refusal is not None:
        raise refusal
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
    if answer.skipped:
        skip_refusal(answer=answer, assignment=assignment)
    values = response_values(
        answer=answer,
        is_choice=assignment.experiment.is_choice,
        is_catch=trial.catch_id is not None,
        first_on_left=trial.first_on_left,
        expected_rating=trial.catch.expected_rating if trial.catch_id else None,
    )
    Response.objects.create(assignment=assignment, trial=trial, **values)
    assignment.n_answered += 1
    assignment.last_activity_at = now
    fields = ["n_answered", "last_activity_at"]
    if assignment.n_answered == assignment.n_trials:
        complete_assignment(assignment=assignment, now=now)
        fields += ["status", "completed_at"]
    assignment.save(update_fields=fields)
    upcoming = None
    if assignment.status == AssignmentStatus.ACTIVE:
        position = upcoming_position(
            position=answer.position, n_trials=assignment.n_trials, n_answered=assignment.n_answered
        )
        direction = (
            Trial.objects.filter(bundle_id=assignment.bundle_id, position=position)
            .values_list("direction", flat=True)
            .first()
            if position is not None
            else None
        )
        if direction is not None:
            upcoming = Upcoming(
                assignment_id=assignment.pk,
                position=position,
                direction=direction,
                is_choice=assignment.experiment.is_choice,
            )
    return AnswerReceipt(
        key=answer.idempotency_key,
        position=answer.position,
        replayed=False,
        progress=progress_of(assignment),
        upcoming=upcoming,
    )


def skip_refusal(*, answer: AnswerInput, assignment: Assignment) -> None:
    """A skip is for media that would not play: the runner offers it after ``MVFIT_SKIP_AFTER_FAILURES``
    playback errors on the trial (which it reports in ``events``), and an assignment may skip at most a
    quarter of its trials (at least one), so skipping is never a way round the work."""
    needed = settings.MVFIT_SKIP_AFTER_FAILURES
    errors = sum(1 for e in answer.events if isinstance(e, dict) and e.get("type") == "error")
    if not needed or errors < needed:
        raise AnswerRejected(
            "Skip a trial only when its media will not play.", status=400, code="not_skippable", field="skipped"
        )
    allowed = max(1, assignment.n_trials // 4)
    if Response.objects.filter(assignment=assignment).exclude(skipped_reason="").count() >= allowed:
        raise AnswerRejected(
            f"At most {allowed} trial(s) of this assignment can be skipped; please reload the page and try again, "
            "or contact the requester if the media keeps failing.",
            status=400,
            code="too_many_skips",
        )


@transaction.atomic
def touch_assignment(*, assignment: Assignment, now: datetime | None = None, every_s: int = 60) -> None:
    """Keep an assignment that is being looked at from timing out (at most one write a minute)."""
    now = now or timezone.now()
    if assignment.status == AssignmentStatus.ACTIVE and (now - assignment.last_activity_at).total_seconds() > every_s:
        Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.ACTIVE).update(last_activity_at=now)
