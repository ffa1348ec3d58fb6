"""Fair pay: the effective hourly rate a reward gives, from the median time workers actually spend (or, before
anyone has finished, the estimate), against the floor the lab sets (``MVFIT_PAY_FLOOR_CENTS_PER_HOUR``)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F

from experiments.models import Assignment, AssignmentStatus, Experiment


@dataclass(frozen=True)
class PayCheck:
    reward_cents: int
    minutes: float | None  # median minutes on task, or the estimate
    basis: str  # "median of N sessions" or "estimate"
    hourly_cents: float | None
    floor_cents: int
    blocking: bool  # below the floor and MVFIT_PAY_FLOOR_BLOCKS is on

    @property
    def below_floor(self) -> bool:
        return self.hourly_cents is not None and self.hourly_cents < self.floor_cents

    def summary(self) -> str:
        if self.hourly_cents is None:
            return "no finished sessions and no estimate: the hourly rate is unknown"
        text = (
            f"{self.reward_cents / 100:.2f} for {self.minutes:.1f} min ({self.basis}) = "
            f"{self.hourly_cents / 100:.2f} per hour"
        )
        if self.below_floor:
            text += f", BELOW the floor of {self.floor_cents / 100:.2f} per hour"
        return text


def session_minutes(experiment: Experiment | None) -> list[float]:
    """Minutes from entering (consent, checks and screens included) to completing, per completed assignment."""
    if experiment is None:
        return []
    rows = Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.COMPLETED).values_list(
        F("participant__created_at"), "completed_at"
    )
    return [(done - entered).total_seconds() / 60 for entered, done in rows if done and entered]


def pay_check(*, experiment: Experiment | None, reward_cents: int, estimated_minutes: float | None = None) -> PayCheck:
    minutes = session_minutes(experiment)
    if minutes:
        median, basis = statistics.median(minutes), f"median of {len(minutes)} sessions"
    else:
        median, basis = estimated_minutes, "estimate"
    hourly = reward_cents * 60 / median if median else None
    floor = settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR
    blocking = bool(settings.MVFIT_PAY_FLOOR_BLOCKS and hourly is not None and hourly < floor)
    return PayCheck(reward_cents, median, basis, hourly, floor, blocking)
