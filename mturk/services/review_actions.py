"""The one entry point for review: which assignments, which marketplace, which action.

The admin actions, the staff API and ``mturk_review`` each parse their input into a :class:`Decision`
and call :func:`review_assignments` (or :func:`block`, :func:`confirm_suggestions`, :func:`change_hits`);
the selection rules, the one-marketplace rule and the action dispatch live only here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from django.utils import timezone

from mturk import selectors
from mturk.client import MTurk
from mturk.models import Hit, HitBatch, MTurkAssignment, ReviewSuggestion, WorkerBlock
from mturk.modes import Mode

from . import hits as hit_changes
from . import review, suggestions
from .audit import open_mturk
from .review import BulkResult, ReviewError

T = TypeVar("T")


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    BONUS = "bonus"
    PAY = "pay"  # the bonus (if any), then approve
    BLOCK = "block"  # the assignment's worker, in its marketplace
    UNREJECT = "unreject"  # reverse a rejection: approve with OverrideRejection


# What the API's one-assignment endpoint accepts (blocking has its own endpoint, by worker).
API_ACTIONS = frozenset({"approve", "reject", "bonus", "pay", "unreject"})
HIT_ACTIONS = frozenset({"expire", "extend", "add"})

DONE = {
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.BONUS: "bonused",
    Action.PAY: "paid",
    Action.BLOCK: "blocked",
    Action.UNREJECT: "un-rejected",
}


class UnknownAssignments(ReviewError):
    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(f"Unknown assignment id(s): {', '.join(self.missing)}. Run mturk_sync first?")


@dataclass(frozen=True)
class Decision:
    """What to do to each selected assignment; checked before anything reaches MTurk."""

    action: Action
    reason: str = ""  # shown to the worker: rejection, bonus and block reason
    feedback: str = ""  # optional note when approving
    amount: Decimal | str | None = None  # bonus in USD

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        has_amount = self.amount is not None and str(self.amount).strip() != ""
        if self.action == Action.BONUS and not has_amount:
            raise ReviewError("A bonus needs an amount.")
        if has_amount:
            review.parse_amount(self.amount)


def carry_out(*, assignment: MTurkAssignment, mturk: MTurk, decision: Decision, actor: str) -> object:
    """The action dispatch: one decision on one assignment."""
    common = {"assignment": assignment, "mturk": mturk, "actor": actor}
    match decision.action:
        case Action.APPROVE:
            return review.approve(**common, feedback=decision.feedback)
        case Action.REJECT:
            return review.reject(**common, reason=decision.reason)
        case Action.BONUS:
            return review.send_bonus(**common, amount=decision.amount, reason=decision.reason)
        case Action.PAY:
            return review.pay(**common, bonus=decision.amount, bonus_reason=decision.reason, feedback=decision.feedback)
        case Action.UNREJECT:
            return review.unreject(**common, feedback=decision.feedback)
        case Action.BLOCK:
            return review.block_worker(
                mode=assignment.hit.batch.mode,
                worker_id=assignment.worker_id,
                reason=decision.reason,
                mturk=mturk,
                actor=actor,
            )


# --- selection -----------------------------------------------------------------------------------


def select_assignments(
    *,
    assignment_ids: Iterable[str] = (),
    batch: HitBatch | None = None,
    pks: Iterable[int] | None = None,
    all_statuses: bool = False,
) -> list[MTurkAssignment]:
    """Assignments by MTurk id (all must be known), by row (the admin), or every Submitted one of a batch
    (every one, whatever its status, with ``all_statuses``)."""
    if assignment_ids := list(assignment_ids):
        found, missing = selectors.assignments_by_id(assignment_ids)
        if missing:
            raise UnknownAssignments(missing)
        return found
    if pks is not None:
        return selectors.assignments_by_pk(pks)
    if batch is not None:
        if all_statuses:
            return selectors.batch_assignments(batch=batch)
        return selectors.submitted_assignments(batch=batch)
    raise ReviewError("Select assignments by id or by batch.")


def one_marketplace(items: Sequence[T], *, mode_of: Callable[[T], str]) -> Mode:
    """Every selection is reviewed with one client: sandbox and live items are never mixed."""
    modes = {mode_of(item) for item in items}
    if len(modes) != 1:
        raise ReviewError(
            "The selection mixes sandbox and live items; review them separately." if modes else "Nothing is selected."
        )
    return Mode(modes.pop())


def _client(items: Sequence[T], *, mode_of: Callable[[T], str], confirm_live: bool, actor: str) -> MTurk:
    return open_mturk(mode=one_marketplace(items, mode_of=mode_of), confirm_live=confirm_live, actor=actor)


def selection_is_live(items: Iterable[T], *, mode_of: Callable[[T], str]) -> bool:
    return any(mode_of(item) == Mode.LIVE for item in items)


def assignment_mode(assignment: MTurkAssignment) -> str:
    return assignment.hit.batch.mode


# --- the actions ---------------------------------------------------------------------------------


def review_assignments(
    *, assignments: Sequence[MTurkAssignment], decision: Decision, confirm_live: bool, actor: str
) -> BulkResult:
    """Carry out ``decision`` on each assignment; one failure never stops the others."""
    if not assignments:
        return BulkResult()
    mturk = _client(assignments, mode_of=assignment_mode, confirm_live=confirm_live, actor=actor)
    return review.bulk(assignments, lambda a: carry_out(assignment=a, mturk=mturk, decision=decision, actor=actor))


def review_one(*, assignment: MTurkAssignment, decision: Decision, confirm_live: bool, actor: str) -> object:
    """One assignment; errors propagate (the caller answers them one by one)."""
    mturk = _client([assignment], mode_of=assignment_mode, confirm_live=confirm_live, actor=actor)
    return carry_out(assignment=assignment, mturk=mturk, decision=decision, actor=actor)


def block(*, mode: Mode | str, worker_id: str, reason: str, confirm_live: bool, actor: str) -> WorkerBlock:
    mturk = open_mturk(mode=mode, confirm_live=confirm_live, actor=actor)
    return review.block_worker(mode=mode, worker_id=worker_id, reason=reason, mturk=mturk, actor=actor)


def message(
    *, mode: Mode | str, worker_ids: Sequence[str], subject: str, text: str, confirm_live: bool, actor: str
) -> list[tuple[str, str]]:
    """Email workers of one marketplace; returns the ones MTurk could not reach, with its reason."""
    mturk = open_mturk(mode=mode, confirm_live=confirm_live, actor=actor)
    return review.message_workers(worker_ids=worker_ids, subject=subject, text=text, mturk=mturk, actor=actor)


def workers_of(assignments: Iterable[MTurkAssignment]) -> list[str]:
    return sorted({assignment.worker_id for assignment in assignments})


def confirm_suggestions(
    *, items: Sequence[ReviewSuggestion], confirmed: bool, confirm_live: bool, actor: str
) -> BulkResult:
    """Carry out pending rejection suggestions of one marketplace (``confirmed``: the experimenter's decision)."""
    if not confirmed:
        raise ReviewError("Suggestions are only carried out when the experimenter confirms them.")
    if not items:
        return BulkResult()
    mturk = _client(items, mode_of=lambda s: s.assignment.hit.batch.mode, confirm_live=confirm_live, actor=actor)
    return suggestions.confirm(suggestions=list(items), mturk=mturk, actor=actor, confirmed=True)


class HitAction(StrEnum):
    EXPIRE = "expire"
    EXTEND = "extend"
    ADD = "add"


@dataclass(frozen=True)
class HitChange:
    action: HitAction
    hours: float | None = None  # extend: the new expiration, hours from now
    number: int | None = None  # add: assignments per HIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", HitAction(self.action))
        if self.action == HitAction.EXTEND and not self.hours:
            raise ReviewError("extend needs hours.")
        if self.action == HitAction.ADD and not self.number:
            raise ReviewError("add needs number.")


def _apply_change(*, hit: Hit, change: HitChange, mturk: MTurk, actor: str) -> object:
    match change.action:
        case HitAction.EXPIRE:
            return hit_changes.expire_hit(hit=hit, mturk=mturk, actor=actor)
        case HitAction.EXTEND:
            until = timezone.now() + dt.timedelta(hours=change.hours)
            return hit_changes.extend_hit(hit=hit, mturk=mturk, until=until, actor=actor)
        case HitAction.ADD:
            return hit_changes.add_assignments(hit=hit, mturk=mturk, number=change.number, actor=actor)


def change_hit(*, hit: Hit, change: HitChange, confirm_live: bool, actor: str) -> object:
    """One HIT; errors propagate."""
    mturk = _client([hit], mode_of=hit_mode, confirm_live=confirm_live, actor=actor)
    return _apply_change(hit=hit, change=change, mturk=mturk, actor=actor)


def change_hits(*, hits: Sequence[Hit], change: HitChange, confirm_live: bool, actor: str) -> BulkResult:
    """Expire, extend or add assignments to HITs of one marketplace; one failure never stops the others."""
    if not hits:
        return BulkResult()
    mturk = _client(hits, mode_of=hit_mode, confirm_live=confirm_live, actor=actor)
    return review.bulk(hits, lambda hit: _apply_change(hit=hit, change=change, mturk=mturk, actor=actor))


def hit_mode(hit: Hit) -> str:
    return hit.batch.mode
