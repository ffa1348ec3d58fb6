"""Review and pay: approve, reject, bonus and block, one at a time or in bulk.

A bonus is always paid *before* the assignment is approved: if the bonus fails, the assignment stays
Submitted with a visible failed bonus, instead of being approved and the bonus silently forgotten.
Each bonus carries a UniqueRequestToken derived from (worker, assignment), and before re-sending one
whose earlier outcome is unknown we ask MTurk (ListBonusPayments) whether it was paid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from mturk import fees
from mturk.client import MTurk, MTurkError, MTurkRequestError
from mturk.models import AssignmentStatus, Bonus, MTurkAssignment, PaymentState, Spend, WorkerBlock
from mturk.modes import Mode

from . import budget

MAX_FEEDBACK_CHARS = 1024
T = TypeVar("T")


class ReviewError(Exception):
    """A review action that cannot be done as asked; nothing was sent to MTurk."""


def _require_text(value: str, *, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReviewError(f"A {what} is required: workers see it, and MTurk requires it.")
    if len(value) > MAX_FEEDBACK_CHARS:
        raise ReviewError(f"The {what} is {len(value)} characters long; MTurk accepts at most {MAX_FEEDBACK_CHARS}.")
    return value


def _mode_of(assignment: MTurkAssignment) -> Mode:
    return Mode(assignment.hit.batch.mode)


def _check_client(assignment: MTurkAssignment, mturk: MTurk) -> None:
    if _mode_of(assignment) != mturk.mode:
        raise ReviewError(
            f"Assignment {assignment.assignment_id} is {_mode_of(assignment)}, the client is {mturk.mode}."
        )


def _context(assignment: MTurkAssignment, actor: str) -> dict:
    batch = assignment.hit.batch
    return {"study_id": batch.study_id, "batch_id": batch.pk, "actor": actor}


# --- approve / reject ----------------------------------------------------------------------------


def approve(*, assignment: MTurkAssignment, mturk: MTurk, feedback: str = "", actor: str = "") -> MTurkAssignment:
    _check_client(assignment, mturk)
    if assignment.status == AssignmentStatus.APPROVED:
        return assignment
    if assignment.status == AssignmentStatus.REJECTED:
        raise ReviewError(f"Assignment {assignment.assignment_id} was rejected; approving it would override that.")
    if assignment.bonuses.exclude(state=PaymentState.SENT).exists():
        raise ReviewError(
            f"Assignment {assignment.assignment_id} has an unpaid bonus. Pay it first (bonuses are paid before "
            "approval so that a failed bonus stays visible)."
        )
    with mturk.audit_context(**_context(assignment, actor)):
        try:
            mturk.approve_assignment(assignment.assignment_id, feedback=feedback)
        except MTurkRequestError:
            # Auto-approval may have beaten us to it: believe MTurk's current state, not our mirror.
            if not _refresh_status(assignment, mturk, expect=AssignmentStatus.APPROVED):
                raise
            return assignment
    _set_status(assignment, AssignmentStatus.APPROVED, feedback=feedback)
    return assignment


def reject(*, assignment: MTurkAssignment, mturk: MTurk, reason: str, actor: str = "") -> MTurkAssignment:
    reason = _require_text(reason, what="rejection reason")
    _check_client(assignment, mturk)
    if assignment.status == AssignmentStatus.REJECTED:
        return assignment
    if assignment.status == AssignmentStatus.APPROVED:
        raise ReviewError(f"Assignment {assignment.assignment_id} is already approved and paid; it cannot be rejected.")
    with mturk.audit_context(**_context(assignment, actor)):
        try:
            mturk.reject_assignment(assignment.assignment_id, feedback=reason)
        except MTurkRequestError:
            if not _refresh_status(assignment, mturk, expect=AssignmentStatus.REJECTED):
                raise
            return assignment
    _set_status(assignment, AssignmentStatus.REJECTED, feedback=reason)
    return assignment


def unreject(*, assignment: MTurkAssignment, mturk: MTurk, feedback: str = "", actor: str = "") -> MTurkAssignment:
    """Reverse a rejection (ApproveAssignment with OverrideRejection): the worker is paid and their approval
    rate restored. Safe to re-run: an approved assignment is left as it is, and when MTurk refuses because a
    crashed earlier run already approved it, MTurk's current state is believed."""
    _check_client(assignment, mturk)
    if assignment.status == AssignmentStatus.APPROVED:
        return assignment
    if assignment.status != AssignmentStatus.REJECTED:
        raise ReviewError(f"Assignment {assignment.assignment_id} is not rejected; approve it instead.")
    feedback = (feedback or "").strip()
    if len(feedback) > MAX_FEEDBACK_CHARS:
        raise ReviewError(
            f"The feedback is {len(feedback)} characters long; MTurk accepts at most {MAX_FEEDBACK_CHARS}."
        )
    with mturk.audit_context(**_context(assignment, actor)):
        try:
            mturk.approve_assignment(assignment.assignment_id, feedback=feedback, override_rejection=True)
        except MTurkRequestError:
            if not _refresh_status(assignment, mturk, expect=AssignmentStatus.APPROVED):
                raise
            return assignment
    _set_status(assignment, AssignmentStatus.APPROVED, feedback=feedback)
    return assignment


def _refresh_status(assignment: MTurkAssignment, mturk: MTurk, *, expect: str) -> bool:
    try:
        remote = mturk.get_assignment(assignment.assignment_id)
    except MTurkError:
        return False
    _set_status(assignment, AssignmentStatus(remote.status), feedback=remote.requester_feedback)
    return remote.status == expect


@transaction.atomic
def _set_status(assignment: MTurkAssignment, status: AssignmentStatus, *, feedback: str) -> None:
    assignment.status = status
    assignment.requester_feedback = feedback or assignment.requester_feedback
    now = timezone.now()
    if status == AssignmentStatus.APPROVED:
        assignment.approval_time = assignment.approval_time or now
    elif status == AssignmentStatus.REJECTED:
        assignment.rejection_time = assignment.rejection_time or now
    assignment.save(update_fields=["status", "requester_feedback", "approval_time", "rejection_time"])


# --- bonuses -------------------------------------------------------------------------------------


def parse_amount(value: str | Decimal) -> Decimal:
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        raise ReviewError(f"{value!r} is not an amount in dollars (e.g. 0.50).") from None
    if amount != amount.quantize(fees.CENT) or amount < fees.CENT:
        raise ReviewError(f"A bonus must be at least $0.01 and in whole cents, not {value!r}.")
    return amount


@transaction.atomic
def _bonus_row(*, assignment: MTurkAssignment, amount: Decimal, reason: str, actor: str) -> Bonus:
    bonus, created = Bonus.objects.select_for_update().get_or_create(
        assignment=assignment,
        worker_id=assignment.worker_id,
        defaults={"amount": amount, "reason": reason, "created_by": actor},
    )
    if not created and bonus.amount != amount and bonus.state != PaymentState.SENT:
        if bonus.attempts:
            raise ReviewError(
                f"A ${bonus.amount} bonus for assignment {assignment.assignment_id} was already attempted; "
                "it cannot be changed (MTurk may have paid it). Check the audit log."
            )
        bonus.amount, bonus.reason = amount, reason
        bonus.save(update_fields=["amount", "reason"])
    return bonus


def send_bonus(
    *, assignment: MTurkAssignment, mturk: MTurk, amount: str | Decimal, reason: str, actor: str = ""
) -> Bonus:
    """Pay one bonus (idempotent: at most one bonus per worker and assignment, ever)."""
    amount = parse_amount(amount)
    reason = _require_text(reason, what="bonus reason")
    _check_client(assignment, mturk)
    bonus = _bonus_row(assignment=assignment, amount=amount, reason=reason, actor=actor)
    if bonus.state == PaymentState.SENT:
        if bonus.amount != amount:
            raise ReviewError(f"Assignment {assignment.assignment_id} already received a ${bonus.amount} bonus.")
        return bonus
    batch = assignment.hit.batch
    spend = budget.reserve(
        study=batch.study, mode=batch.mode, kind=Spend.Kind.BONUS, amount=fees.bonus_cost(amount), bonus=bonus
    )
    with mturk.audit_context(**_context(assignment, actor)):
        if bonus.attempts and _already_paid(bonus, mturk):
            _bonus_sent(bonus, spend, note="found in ListBonusPayments")
            return bonus
        Bonus.objects.filter(pk=bonus.pk).update(attempts=bonus.attempts + 1)
        bonus.attempts += 1
        try:
            mturk.send_bonus(
                worker_id=bonus.worker_id,
                assignment_id=assignment.assignment_id,
                amount=amount,
                reason=reason,
                unique_request_token=bonus.request_token,
            )
        except MTurkError as exc:
            # "Token already used": an earlier attempt went through. Believe it once MTurk lists the payment.
            if exc.is_duplicate_request and _already_paid(bonus, mturk):
                _bonus_sent(bonus, spend, note=f"MTurk already had this token: {exc.message}")
                return bonus
            _bonus_failed(bonus, spend, exc)
            raise
    _bonus_sent(bonus, spend)
    return bonus


def _already_paid(bonus: Bonus, mturk: MTurk) -> bool:
    return any(
        paid.worker_id == bonus.worker_id and paid.amount == bonus.amount
        for paid in mturk.iter_bonus_payments(assignment_id=bonus.assignment.assignment_id)
    )


@transaction.atomic
def _bonus_sent(bonus: Bonus, spend: Spend, *, note: str = "") -> None:
    bonus.state, bonus.sent_at, bonus.error = PaymentState.SENT, timezone.now(), note
    bonus.save(update_fields=["state", "sent_at", "error"])
    budget.commit(spend=spend)


def _bonus_failed(bonus: Bonus, spend: Spend, exc: MTurkError) -> None:
    bonus.error = str(exc)
    if exc.outcome_unknown or exc.is_duplicate_request:
        bonus.save(update_fields=["error"])  # stays pending and reserved; the next attempt checks MTurk first
        return
    bonus.state = PaymentState.FAILED
    bonus.save(update_fields=["state", "error"])
    budget.release(spend=spend)


def pay(
    *,
    assignment: MTurkAssignment,
    mturk: MTurk,
    bonus: str | Decimal | None = None,
    bonus_reason: str = "",
    feedback: str = "",
    actor: str = "",
) -> MTurkAssignment:
    """Bonus (if any) first, then approve; a failed bonus leaves the assignment unapproved."""
    if bonus is not None and str(bonus).strip():
        send_bonus(assignment=assignment, mturk=mturk, amount=bonus, reason=bonus_reason, actor=actor)
    return approve(assignment=assignment, mturk=mturk, feedback=feedback, actor=actor)


# --- blocks --------------------------------------------------------------------------------------


def block_worker(*, mode: Mode | str, worker_id: str, reason: str, mturk: MTurk, actor: str = "") -> WorkerBlock:
    reason = _require_text(reason, what="block reason")
    mode = Mode(mode)
    if mturk.mode != mode:
        raise ReviewError(f"Blocking in {mode} needs a {mode} client, not {mturk.mode}.")
    block, _ = WorkerBlock.objects.get_or_create(
        mode=mode, worker_id=worker_id, defaults={"reason": reason, "created_by": actor}
    )
    if block.state == WorkerBlock.State.BLOCKED:
        return block
    with mturk.audit_context(actor=actor):
        try:
            mturk.create_worker_block(worker_id=worker_id, reason=block.reason)
        except MTurkError as exc:
            block.error = str(exc)
            block.state = WorkerBlock.State.PENDING if exc.outcome_unknown else WorkerBlock.State.FAILED
            block.save(update_fields=["error", "state"])
            raise
    block.state, block.blocked_at, block.error = WorkerBlock.State.BLOCKED, timezone.now(), ""
    block.save(update_fields=["state", "blocked_at", "error"])
    return block


# --- messages ------------------------------------------------------------------------------------

MAX_SUBJECT_CHARS = 200
MAX_MESSAGE_CHARS = 4096
NOTIFY_CHUNK = 100  # NotifyWorkers takes at most 100 workers per call


def message_workers(
    *, worker_ids: Iterable[str], subject: str, text: str, mturk: MTurk, actor: str = ""
) -> list[tuple[str, str]]:
    """Email workers through MTurk (NotifyWorkers), 100 per call, every call audited. Returns the workers MTurk
    could not reach, with its reason. Messages spend nothing, so a re-run after a crash may repeat one."""
    subject, text = _require_text(subject, what="message subject"), (text or "").strip()
    if len(subject) > MAX_SUBJECT_CHARS:
        raise ReviewError(f"The subject is {len(subject)} characters long; MTurk accepts at most {MAX_SUBJECT_CHARS}.")
    if not text or len(text) > MAX_MESSAGE_CHARS:
        raise ReviewError(f"A message needs a text of 1 to {MAX_MESSAGE_CHARS} characters.")
    ids = sorted({w.strip() for w in worker_ids if w and w.strip()})
    if not ids:
        raise ReviewError("A message needs at least one worker.")
    failures: list[tuple[str, str]] = []
    with mturk.audit_context(actor=actor):
        for start in range(0, len(ids), NOTIFY_CHUNK):
            chunk = ids[start : start + NOTIFY_CHUNK]
            failures += mturk.notify_workers(subject=subject, message_text=text, worker_ids=chunk)
    return failures


# --- bulk ----------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    succeeded: list = field(default_factory=list)
    failed: list[tuple[object, str]] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        text = f"{verb} {len(self.succeeded)}"
        if self.failed:
            text += f"; {len(self.failed)} failed: " + "; ".join(f"{item}: {error}" for item, error in self.failed[:5])
            if len(self.failed) > 5:
                text += f" (and {len(self.failed) - 5} more)"
        return text


def bulk(items: Iterable[T], action: Callable[[T], object]) -> BulkResult:
    """Apply ``action`` to each item; one failure never stops the others, and every failure is reported."""
    result = BulkResult()
    for item in items:
        try:
            action(item)
        except (ReviewError, MTurkError, budget.SpendingCapExceeded, ValueError) as exc:
            result.failed.append((item, str(exc)))
        else:
            result.succeeded.append(item)
    return result
