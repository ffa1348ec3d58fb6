"""Change live HITs: expire now, extend the deadline, add assignments (the last one spends money)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from mturk import fees
from mturk.client import MTurk, MTurkError
from mturk.models import Hit, HitExtension, Spend

from . import budget

# MTurk: "To expire a HIT immediately, provide the value 0 or set ExpireAt to a time in the past."
EXPIRE_NOW = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


class HitChangeError(ValueError):
    """The change cannot be made; nothing was sent to MTurk."""


def _published(hit: Hit, mturk: MTurk) -> None:
    if not hit.hit_id:
        raise HitChangeError(f"HIT row {hit.pk} is not on MTurk yet.")
    if hit.batch.mode != mturk.mode:
        raise HitChangeError(f"HIT {hit.hit_id} is {hit.batch.mode}; the client is {mturk.mode}.")


def _context(hit: Hit, actor: str) -> dict:
    return {"study_id": hit.batch.study_id, "batch_id": hit.batch_id, "actor": actor}


def expire_hit(*, hit: Hit, mturk: MTurk, actor: str = "") -> Hit:
    """Stop new workers from accepting the HIT; workers already on it can still submit."""
    _published(hit, mturk)
    with mturk.audit_context(**_context(hit, actor)):
        mturk.update_expiration_for_hit(hit.hit_id, expire_at=EXPIRE_NOW)
    hit.expiration = timezone.now()
    hit.save(update_fields=["expiration"])
    return hit


def extend_hit(*, hit: Hit, mturk: MTurk, until: dt.datetime, actor: str = "") -> Hit:
    _published(hit, mturk)
    if until <= timezone.now():
        raise HitChangeError("The new expiration must be in the future (use expire to stop a HIT).")
    with mturk.audit_context(**_context(hit, actor)):
        mturk.update_expiration_for_hit(hit.hit_id, expire_at=until)
    hit.expiration = until
    hit.save(update_fields=["expiration"])
    return hit


def add_assignments(*, hit: Hit, mturk: MTurk, number: int, actor: str = "") -> HitExtension:
    """CreateAdditionalAssignmentsForHIT under the spending cap, with a row-derived UniqueRequestToken."""
    _published(hit, mturk)
    batch = hit.batch
    if number < 1:
        raise HitChangeError("Add at least one assignment.")
    total = hit.max_assignments + number
    low_tier = fees.MAX_ASSIGNMENTS_IN_LOW_FEE_TIER
    if hit.max_assignments <= low_tier < total:
        # MTurk refuses this (InvalidMaximumAssignmentsIncrease); say why before asking.
        raise HitChangeError(
            f"HIT {hit.hit_id} has {hit.max_assignments} assignments; MTurk cannot extend a HIT created with fewer "
            f"than 10 to {total}. Publish another batch instead (it also keeps the 20 % fee tier)."
        )
    extension = HitExtension.objects.create(hit=hit, number=number, created_by=actor)
    fee = fees.assignment_fee(batch.reward, assignments_per_hit=total, masters=batch.require_masters)
    try:
        spend = budget.reserve(
            study=batch.study,
            mode=batch.mode,
            kind=Spend.Kind.EXTRA_ASSIGNMENTS,
            amount=fees.to_cents((batch.reward + fee) * number),
            extension=extension,
        )
    except budget.SpendingCapExceeded as exc:
        extension.state, extension.error = HitExtension.State.FAILED, str(exc)
        extension.save(update_fields=["state", "error"])
        raise
    return _send_extension(extension=extension, spend=spend, mturk=mturk, actor=actor)


def retry_extension(*, extension: HitExtension, mturk: MTurk, actor: str = "") -> HitExtension:
    """Re-send a pending extension with its original token (MTurk deduplicates it within 24 hours)."""
    if extension.state != HitExtension.State.PENDING:
        return extension
    _published(extension.hit, mturk)
    return _send_extension(extension=extension, spend=extension.spend, mturk=mturk, actor=actor)


def _send_extension(*, extension: HitExtension, spend: Spend, mturk: MTurk, actor: str) -> HitExtension:
    hit = extension.hit
    with mturk.audit_context(**_context(hit, actor)):
        try:
            mturk.create_additional_assignments_for_hit(
                hit.hit_id, number=extension.number, unique_request_token=extension.request_token
            )
        except MTurkError as exc:
            # "Token already used": believe it once the HIT shows the extra assignments.
            if not (exc.is_duplicate_request and _extended(mturk, hit, extension)):
                extension.error = str(exc)
                if not (exc.outcome_unknown or exc.is_duplicate_request):
                    extension.state = HitExtension.State.FAILED
                    budget.release(spend=spend)
                extension.save(update_fields=["error", "state"])
                raise
    _extension_done(extension, spend)
    return extension


def _extended(mturk: MTurk, hit: Hit, extension: HitExtension) -> bool:
    try:
        remote = mturk.get_hit(hit.hit_id)
    except MTurkError:
        return False
    return remote.max_assignments >= hit.max_assignments + extension.number


@transaction.atomic
def _extension_done(extension: HitExtension, spend: Spend) -> None:
    extension.state, extension.done_at, extension.error = HitExtension.State.DONE, timezone.now(), ""
    extension.save(update_fields=["state", "done_at", "error"])
    Hit.objects.filter(pk=extension.hit_id).update(max_assignments=extension.hit.max_assignments + extension.number)
    budget.commit(spend=spend)
