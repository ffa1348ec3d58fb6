"""MTurk's commission, the 20 % / 40 % tiers and the cost estimate shown before launch."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mturk import fees

D = Decimal


@pytest.mark.parametrize(
    ("reward", "per_hit", "masters", "fee"),
    [
        (D("1.00"), 9, False, D("0.20")),
        (D("1.00"), 10, False, D("0.40")),  # 10+ assignments: another 20 %
        (D("1.00"), 9, True, D("0.25")),  # Masters: another 5 %
        (D("1.00"), 10, True, D("0.45")),
        (D("0.02"), 9, False, D("0.01")),  # the $0.01 minimum
        (D("0.53"), 9, False, D("0.11")),  # 0.106 rounds half-up to 0.11
        (D("0.52"), 9, False, D("0.10")),  # 0.104 rounds to 0.10
        (D("0.025"), 9, False, D("0.01")),
    ],
)
def test_assignment_fee(reward, per_hit, masters, fee):
    assert fees.assignment_fee(reward, assignments_per_hit=per_hit, masters=masters) == fee


def test_bonus_fee_is_twenty_percent_with_a_cent_minimum():
    assert fees.bonus_fee(D("2.00")) == D("0.40")
    assert fees.bonus_fee(D("0.01")) == D("0.01")
    assert fees.bonus_cost(D("0.50")) == D("0.60")


def test_split_keeps_hits_within_the_tier_and_puts_the_remainder_last():
    assert fees.split_into_hits(20, 9) == [9, 9, 2]
    assert fees.split_into_hits(9, 9) == [9]
    with pytest.raises(ValueError):
        fees.split_into_hits(0, 9)


def test_estimate_breaks_the_cost_down():
    estimate = fees.estimate(
        reward=D("1.50"), n_assignments=20, assignments_per_hit=9, masters=False, planned_bonus_per_assignment=D("0.25")
    )
    assert (estimate.n_hits, estimate.rewards_total, estimate.fees_total) == (3, D("30.00"), D("6.00"))
    assert (estimate.bonuses_total, estimate.bonus_fees_total) == (D("5.00"), D("1.00"))
    assert estimate.total == D("42.00")
    assert estimate.fee_tier == "20 %"
    assert any("total     $42.00" in line for line in estimate.lines())


def test_opting_out_of_the_tier_doubles_the_fee():
    low = fees.estimate(reward=D("1.00"), n_assignments=100, assignments_per_hit=9, masters=False)
    high = fees.estimate(reward=D("1.00"), n_assignments=100, assignments_per_hit=100, masters=False)
    assert (low.fees_total, high.fees_total) == (D("20.00"), D("40.00"))
    assert high.fee_tier.startswith("40 %")


@given(
    reward=st.decimals(min_value=D("0.01"), max_value=D("20.00"), places=2),
    n=st.integers(min_value=1, max_value=500),
    per_hit=st.integers(min_value=1, max_value=30),
    masters=st.booleans(),
)
def test_estimate_equals_the_sum_of_what_each_hit_reserves(reward, n, per_hit, masters):
    """The launch estimate and the per-HIT reservations against the cap can never disagree."""
    estimate = fees.estimate(reward=reward, n_assignments=n, assignments_per_hit=per_hit, masters=masters)
    reserved = sum(fees.hit_cost(reward, max_assignments=k, masters=masters) for k in fees.split_into_hits(n, per_hit))
    assert estimate.total == reserved
    assert estimate.fees_total >= D("0.01") * n  # at least the minimum per assignment
