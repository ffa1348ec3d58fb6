"""What a study costs on MTurk, computed before any money moves.

MTurk's commission (requester.mturk.com/pricing): 20 % of every reward and bonus, at least $0.01 per
assignment or bonus; HITs with 10 or more assignments pay another 20 % on the reward; Masters
qualifications add 5 % on the reward. Fees are rounded half-up to the cent per transaction, so the
estimate works per assignment rather than on the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BASE_RATE = Decimal("0.20")
TEN_PLUS_SURCHARGE = Decimal("0.20")
MASTERS_SURCHARGE = Decimal("0.05")
MIN_FEE = CENT
# MTurk's 20 % tier ends at 9 assignments per HIT.
MAX_ASSIGNMENTS_IN_LOW_FEE_TIER = 9


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def reward_fee_rate(*, assignments_per_hit: int, masters: bool) -> Decimal:
    rate = BASE_RATE
    if assignments_per_hit > MAX_ASSIGNMENTS_IN_LOW_FEE_TIER:
        rate += TEN_PLUS_SURCHARGE
    if masters:
        rate += MASTERS_SURCHARGE
    return rate


def _fee(amount: Decimal, rate: Decimal) -> Decimal:
    if amount <= 0:
        return Decimal("0.00")
    return max(MIN_FEE, to_cents(amount * rate))


def assignment_fee(reward: Decimal, *, assignments_per_hit: int, masters: bool) -> Decimal:
    """MTurk's commission on one approved assignment of a HIT with ``assignments_per_hit`` assignments."""
    return _fee(reward, reward_fee_rate(assignments_per_hit=assignments_per_hit, masters=masters))


def bonus_fee(amount: Decimal) -> Decimal:
    return _fee(amount, BASE_RATE)


def hit_cost(reward: Decimal, *, max_assignments: int, masters: bool) -> Decimal:
    """The most one HIT can cost: every assignment approved, fees included (what we reserve against the cap)."""
    per_assignment = reward + assignment_fee(reward, assignments_per_hit=max_assignments, masters=masters)
    return to_cents(per_assignment * max_assignments)


def bonus_cost(amount: Decimal) -> Decimal:
    return to_cents(amount + bonus_fee(amount))


def split_into_hits(total_assignments: int, per_hit: int) -> list[int]:
    """Assignments per HIT: as many full HITs as possible, the remainder in the last one."""
    if total_assignments < 1 or per_hit < 1:
        raise ValueError("Need at least one assignment and at least one assignment per HIT.")
    full, rest = divmod(total_assignments, per_hit)
    return [per_hit] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class CostEstimate:
    n_hits: int
    n_assignments: int
    assignments_per_hit: int
    reward: Decimal
    fee_rate: Decimal
    rewards_total: Decimal
    fees_total: Decimal
    planned_bonus_per_assignment: Decimal
    bonuses_total: Decimal
    bonus_fees_total: Decimal

    @property
    def total(self) -> Decimal:
        return self.rewards_total + self.fees_total + self.bonuses_total + self.bonus_fees_total

    @property
    def fee_tier(self) -> str:
        return (
            "40 % (10+ assignments per HIT)" if self.assignments_per_hit > MAX_ASSIGNMENTS_IN_LOW_FEE_TIER else "20 %"
        )

    def lines(self) -> list[str]:
        """Human-readable breakdown, shown by the admin, the API and the publish command."""
        return [
            f"{self.n_hits} HIT(s), {self.n_assignments} assignment(s), at most {self.assignments_per_hit} per HIT",
            f"rewards   {self.n_assignments} x ${self.reward} = ${self.rewards_total}",
            f"MTurk fee {self.fee_rate * 100:.0f} % on rewards ({self.fee_tier} tier) = ${self.fees_total}",
            f"bonuses   {self.n_assignments} x ${self.planned_bonus_per_assignment} = ${self.bonuses_total}"
            f" + fees ${self.bonus_fees_total}",
            f"total     ${self.total}",
        ]


def estimate(
    *,
    reward: Decimal,
    n_assignments: int,
    assignments_per_hit: int,
    masters: bool,
    planned_bonus_per_assignment: Decimal = Decimal("0.00"),
) -> CostEstimate:
    per_hit = split_into_hits(n_assignments, assignments_per_hit)
    fees_total = sum(
        (
            assignment_fee(reward, assignments_per_hit=n, masters=masters) * n
            # The fee tier depends on the HIT's own assignment count, so a small remainder HIT may be cheaper.
            for n in per_hit
        ),
        Decimal("0.00"),
    )
    return CostEstimate(
        n_hits=len(per_hit),
        n_assignments=n_assignments,
        assignments_per_hit=assignments_per_hit,
        reward=reward,
        fee_rate=reward_fee_rate(assignments_per_hit=assignments_per_hit, masters=masters),
        rewards_total=to_cents(reward * n_assignments),
        fees_total=to_cents(fees_total),
        planned_bonus_per_assignment=planned_bonus_per_assignment,
        bonuses_total=to_cents(planned_bonus_per_assignment * n_assignments),
        bonus_fees_total=to_cents(bonus_fee(planned_bonus_per_assignment) * n_assignments),
    )
