"""Storing a worker's answer exactly once.

The client sends every answer with an idempotency key it generated before the first attempt and
keeps re-sending it until acknowledged. The server:

1. locks the participant's current assignment (answers of one assignment are serialised);
2. answers a key it has seen with the receipt of the stored row (no second write);
3. otherwise inserts the response; ``unique(idempotency_key)`` and ``unique(assignment, trial)``
   make a lost race fail in the database rather than store twice;
4. completes the assignment when its last trial is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from experiments.models import Assignment, AssignmentStatus, Participant, Response, Side, Trial
from experiments.services.allocation import complete_assignment, revive_assignment

MAX_EVENTS = 200


class AnswerRejected(Exception):
    """The answer cannot be stored. ``status`` is the HTTP status; ``final`` tells the client to stop retrying."""

    def __init__(self, message: str, *, status: int, code: str, progress: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.progress = progress or {}


@dataclass(frozen=True)
class AnswerInput:
    idempotency_key: str
    assignment_ref: str
    position: int
    rating: int | None = None
    chosen_side: str = ""
    rt_ms: int | None = None
    play_count: int = 1
    presented_at: datetime | None = None
    answered_at: datetime | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


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
    return salted_hmac("mvfit.experiments.assignment", str(assignment.pk)).hexdigest()[:20]


def progress_of(assignment: Assignment) -> dict:
    return {
        "answered": assignment.n_answered,
        "total": assignment.n_trials,
        "done": assignment.status == AssignmentStatus.COMPLETED,
    }


@transaction.atomic
def record_answer(*, participant: Participant, answer: AnswerInput, now: datetime | None = None) -> AnswerReceipt:
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("experiment")
        .filter(participant=participant)
        .order_by("-pk")
        .first()
    )
    if assignment is None:
        raise AnswerRejected("You have no assignment yet.", status=409, code="no_assignment")

    previous = Response.objects.filter(idempotency_key=answer.idempotency_key).only("assignment_id", "trial_id").first()
    if previous is not None:
        if (
            previous.assignment_id != assignment.pk
            and not participant.assignments.filter(pk=previous.assignment_id).exists()
        ):
            raise AnswerRejected("This answer key was used by another session.", status=409, code="key_reused")
        position = Trial.objects.filter(pk=previous.trial_id).values_list("position", flat=True).get()
        return AnswerReceipt(
            key=answer.idempotency_key, position=position, replayed=True, progress=progress_of(assignment)
        )

    if answer.assignment_ref != assignment_ref(assignment):
        # An answer queued for an earlier assignment of this participant must not land on a trial of
        # the current one that happens to have the same position.
        raise AnswerRejected("This answer belongs to an earlier assignment.", status=409, code="stale_assignment")
    if assignment.status == AssignmentStatus.ABANDONED:
        if not revive_assignment(assignment=assignment, now=now):
            raise AnswerRejected(
                "Your session timed out and its work was given to someone else. Reload to continue with new work.",
                status=410,
                code="expired",
            )
        assignment.refresh_from_db()
    trial = (
        Trial.objects.select_related("catch", "item")
        .filter(bundle_id=assignment.bundle_id, position=answer.position)
        .first()
    )
    if trial is None:
        raise AnswerRejected(
            f"There is no trial {answer.position} in your assignment.", status=400, code="bad_position"
        )
    if Response.objects.filter(assignment=assignment, trial=trial).exists():
        raise AnswerRejected(
            "This trial is already answered.", status=409, code="already_answered", progress=progress_of(assignment)
        )
    if assignment.status != AssignmentStatus.ACTIVE:
        raise AnswerRejected(
            "This assignment is finished.", status=409, code="finished", progress=progress_of(assignment)
        )
    _validate(assignment, answer)

    catch_passed = None
    if trial.catch_id:
        if assignment.experiment.is_choice:
            expected = Side.LEFT if trial.first_on_left else Side.RIGHT
            catch_passed = answer.chosen_side == expected
        else:
            catch_passed = answer.rating == trial.catch.expected_rating
    try:
        with transaction.atomic():
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
                events=answer.events[:MAX_EVENTS],
            )
    except IntegrityError as exc:
        # Only reachable if the row locks above were bypassed (e.g. SQLite); the constraint still holds.
        raise AnswerRejected("This answer was already stored.", status=409, code="already_answered") from exc

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


def _validate(assignment: Assignment, answer: AnswerInput) -> None:
    if assignment.experiment.is_choice:
        if answer.chosen_side not in (Side.LEFT, Side.RIGHT) or answer.rating is not None:
            raise AnswerRejected("Choose left or right.", status=400, code="bad_answer")
    elif answer.rating is None or not 1 <= answer.rating <= 7 or answer.chosen_side:
        raise AnswerRejected("A rating must be a whole number from 1 to 7.", status=400, code="bad_answer")


@transaction.atomic
def touch_assignment(*, assignment: Assignment, now: datetime | None = None, every_s: int = 60) -> None:
    """Keep an assignment that is being looked at from timing out (at most one write a minute)."""
    now = now or timezone.now()
    if assignment.status == AssignmentStatus.ACTIVE and (now - assignment.last_activity_at).total_seconds() > every_s:
        Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.ACTIVE).update(last_activity_at=now)
