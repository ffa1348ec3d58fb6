"""The pure adaptive-allocation policy: who is done, who needs more, who first."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.design.adaptive import (
    AdaptiveError,
    AdaptivePolicy,
    half_widths,
    needs_more,
    next_round,
    pooled_variance,
    priorities,
)

policies = st.builds(
    AdaptivePolicy,
    target_half_width=st.floats(0.05, 3),
    min_answers=st.integers(2, 5),
    cap=st.integers(5, 12),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)


@st.composite
def rated_items(draw, *, choice=False):
    """Running statistics of real answer lists (1..7 ratings, or 0/1 choices) plus pending counts."""
    size = draw(st.integers(1, 40))
    answers = draw(
        st.lists(
            st.lists(st.integers(0, 1) if choice else st.integers(1, 7), max_size=12), min_size=size, max_size=size
        )
    )
    pending = draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))
    n = np.array([len(a) for a in answers])
    total = np.array([sum(a) for a in answers], dtype=float)
    total_sq = np.array([sum(x * x for x in a) for a in answers], dtype=float)
    return n, total, total_sq, np.array(pending)


@settings(max_examples=300, deadline=None)
@given(policy=policies, items=st.one_of(rated_items(), rated_items(choice=True)))
def test_done_means_capped_or_precise_and_never_before_the_minimum(policy, items):
    n, total, total_sq, pending = items
    more = needs_more(policy, n, total, total_sq, pending=pending)
    m = n + pending
    hw = half_widths(policy, n, total, total_sq, pending=pending)
    # Never more than the cap; always more below the minimum (unless capped).
    assert not more[m >= policy.cap].any()
    assert more[(m < policy.min_answers) & (m < policy.cap)].all()
    # Done below the cap only when the mean is known to the target precision.
    done_early = ~more & (m < policy.cap)
    assert (hw[done_early] <= policy.target_half_width).all()
    assert (m[done_early] >= policy.min_answers).all()


@settings(max_examples=300, deadline=None)
@given(policy=policies, items=st.one_of(rated_items(), rated_items(choice=True)))
def test_the_next_round_is_exactly_the_unfinished_items_most_uncertain_first(policy, items):
    n, total, total_sq, pending = items
    chosen = next_round(policy, n, total, total_sq, pending=pending)
    prior = pooled_variance(n, total, total_sq)
    more = needs_more(policy, n, total, total_sq, pending=pending, prior=prior)
    assert sorted(chosen.tolist()) == np.flatnonzero(more).tolist()
    score = priorities(policy, n, total, total_sq, pending=pending, prior=prior)
    ordered = score[chosen]
    assert (ordered[:-1] >= ordered[1:]).all()
    assert (score[~more] == 0).all() and (score[more] > 0).all()


@settings(max_examples=200, deadline=None)
@given(
    policy=policies,
    answers=st.lists(st.integers(1, 7), min_size=2, max_size=8),
    extra=st.integers(1, 6),
)
def test_more_answers_with_the_same_spread_narrow_the_interval_and_lower_the_priority(policy, answers, extra):
    few = np.array(answers, dtype=float)
    many = np.tile(few, extra + 1)  # same mean and (population) spread, more answers

    def stats(values):
        return np.array([len(values)]), np.array([values.sum()]), np.array([(values**2).sum()])

    prior = 1.5
    hw_few = half_widths(policy, *stats(few), prior=prior)[0]
    hw_many = half_widths(policy, *stats(many), prior=prior)[0]
    assert hw_many < hw_few
    loose = AdaptivePolicy(target_half_width=1e-9, min_answers=2, cap=10_000)
    assert priorities(loose, *stats(many), prior=prior)[0] < priorities(loose, *stats(few), prior=prior)[0]


def test_unanimous_items_stop_at_the_minimum_and_split_ones_continue():
    policy = AdaptivePolicy(target_half_width=0.75, min_answers=3, cap=9)
    # Three items with 3 ratings: all 7s, all 4s, and 1/4/7; many other items fix the pooled variance.
    n = np.array([3, 3, 3] + [9] * 50)
    ratings = [[7, 7, 7], [4, 4, 4], [1, 4, 7]] + [[3, 4, 5, 3, 4, 5, 3, 4, 5]] * 50
    total = np.array([sum(r) for r in ratings], dtype=float)
    total_sq = np.array([sum(x * x for x in r) for r in ratings], dtype=float)
    more = needs_more(policy, n, total, total_sq)
    assert more[:3].tolist() == [False, False, True]
    assert not more[3:].any()  # capped
    assert next_round(policy, n, total, total_sq).tolist() == [2]


def test_a_choice_split_50_50_is_more_informative_than_a_clear_one():
    policy = AdaptivePolicy(target_half_width=0.2, min_answers=2, cap=20)
    n = np.array([6, 6])
    firsts = np.array([3.0, 6.0])  # 3 of 6 chose the first option; 6 of 6 did
    order = next_round(policy, n, firsts, firsts)
    assert order[0] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_half_width": 0, "min_answers": 3, "cap": 9}, "target_half_width"),
        ({"target_half_width": 0.5, "min_answers": 1, "cap": 9}, "min_ratings"),
        ({"target_half_width": 0.5, "min_answers": 5, "cap": 4}, "judgments_per_item"),
        ({"target_half_width": 0.5, "min_answers": 3, "cap": 9, "confidence": 1.0}, "confidence"),
    ],
)
def test_impossible_policies_are_refused_with_the_parameter_named(kwargs, message):
    with pytest.raises(AdaptiveError, match=message):
        AdaptivePolicy(**kwargs)


def test_mismatched_statistics_are_refused():
    policy = AdaptivePolicy(target_half_width=0.5, min_answers=3, cap=9)
    with pytest.raises(AdaptiveError, match="same shape"):
        needs_more(policy, [1, 2], [3.0], [9.0])
    with pytest.raises(AdaptiveError, match="negative"):
        needs_more(policy, [-1], [3.0], [9.0])
