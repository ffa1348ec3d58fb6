"""The per-study spending cap, enforced before every call that can spend money.

CreateHIT(WithHITType), CreateAdditionalAssignmentsForHIT and SendBonus each reserve their worst-case
cost first (see ``Spend``). The reservation happens under a row lock on the study, so two publishers
racing each other cannot both squeeze under the cap.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from mturk.models import Bonus, Hit, HitExtension, MTurkStudy, Spend
from mturk.modes import Mode


class SpendingCapExceeded(Exception):
    def __init__(self, *, study: MTurkStudy, mode: Mode, used: Decimal, amount: Decimal):
        self.study, self.mode, self.used, self.amount = study, mode, used, amount
        remaining = study.spending_cap - used
        super().__init__(
            f"Refused: this would spend ${amount} but study {study.name!r} has ${remaining} left of its "
            f"${study.spending_cap} {mode} spending cap (${used} spent or reserved). Nothing was sent to MTurk. "
            f"Raise the cap on the study if this is intended."
        )


def committed_or_reserved(*, study: MTurkStudy, mode: Mode) -> Decimal:
    total = (
        Spend.objects.filter(study=study, mode=mode, state__in=[Spend.State.RESERVED, Spend.State.COMMITTED])
        .aggregate(total=Sum("amount"))
        .get("total")
    )
    return total or Decimal("0.00")


def check_headroom(*, study: MTurkStudy, mode: Mode, amount: Decimal) -> None:
    """Refuse early (before any MTurk call) if ``amount`` does not fit under the cap."""
    used = committed_or_reserved(study=study, mode=mode)
    if used + amount > study.spending_cap:
        raise SpendingCapExceeded(study=study, mode=mode, used=used, amount=amount)


@transaction.atomic
def reserve(
    *,
    study: MTurkStudy,
    mode: Mode,
    kind: Spend.Kind,
    amount: Decimal,
    hit: Hit | None = None,
    extension: HitExtension | None = None,
    bonus: Bonus | None = None,
) -> Spend:
    """Reserve ``amount`` against the cap, or raise SpendingCapExceeded. Idempotent per subject row."""
    locked = MTurkStudy.objects.select_for_update().get(pk=study.pk)
    spend = Spend.objects.filter(hit=hit, extension=extension, bonus=bonus).first()
    if spend is not None and spend.state != Spend.State.RELEASED:
        return spend
    check_headroom(study=locked, mode=mode, amount=amount)
    if spend is not None:  # refused earlier, tried again: reserve anew at today's headroom
        spend.state, spend.amount, spend.settled_at = Spend.State.RESERVED, amount, None
        spend.save(update_fields=["state", "amount", "settled_at"])
        return spend
    return Spend.objects.create(
        study=locked, mode=mode, kind=kind, amount=amount, hit=hit, extension=extension, bonus=bonus
    )


@transaction.atomic
def commit(*, spend: Spend) -> None:
    Spend.objects.filter(pk=spend.pk).update(state=Spend.State.COMMITTED, settled_at=timezone.now())


@transaction.atomic
def release(*, spend: Spend) -> None:
    """MTurk definitely refused the call: the money was never committed."""
    Spend.objects.filter(pk=spend.pk, state=Spend.State.RESERVED).update(
        state=Spend.State.RELEASED, settled_at=timezone.now()
    )
