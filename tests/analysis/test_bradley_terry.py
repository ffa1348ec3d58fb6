"""Bradley-Terry maximum likelihood against hand-computable cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.bradley_terry import NotIdentified, comparisons, fit_bradley_terry, fit_or_penalise
from tests.factories.analysis import ChoiceRowFactory, choices_frame


def outcomes(pairs: dict[tuple[str, str], tuple[int, int]]):
    """{(a, b): (wins of a, wins of b)} -> winners, losers arrays."""
    winners, losers = [], []
    for (a, b), (wins_a, wins_b) in pairs.items():
        winners += [a] * wins_a + [b] * wins_b
        losers += [b] * wins_a + [a] * wins_b
    return np.array(winners), np.array(losers)


def strengths(result):
    return result.strengths.set_index("item")["log_strength"]


def test_two_items_log_odds_and_standard_error():
    # One pair: the MLE is the empirical log-odds, its SE 1 / sqrt(n p (1 - p)).
    result = fit_bradley_terry(*outcomes({("A", "B"): (7, 3)}))
    beta = strengths(result)
    assert beta["A"] - beta["B"] == pytest.approx(np.log(7 / 3))
    difference = np.array([1, -1]) if result.strengths["item"].iloc[0] == "A" else np.array([-1, 1])
    assert difference @ result.covariance @ difference == pytest.approx(1 / (10 * 0.7 * 0.3))
    assert result.converged and result.probability("A", "B") == pytest.approx(0.7)


def test_three_items_with_counts_proportional_to_the_model():
    # Strengths 4 : 2 : 1 give P(A>B) = 2/3, P(A>C) = 4/5, P(B>C) = 2/3. With exactly those win
    # shares (2 of 3, 4 of 5, 2 of 3) the likelihood equations hold at the true strengths.
    result = fit_bradley_terry(*outcomes({("A", "B"): (2, 1), ("A", "C"): (4, 1), ("B", "C"): (2, 1)}))
    beta = strengths(result)
    np.testing.assert_allclose(beta[["A", "B", "C"]], np.log([4, 2, 1]) - np.log([4, 2, 1]).mean(), atol=1e-9)
    # Fisher information with C as reference: [[2/3 + 4/5, -2/3], [-2/3, 2/3 + 2/3]];
    # its inverse gives Var(bA - bC) = 15/17 and Var(bB - bC) = 33/34 (worked by hand).
    order = {item: i for i, item in enumerate(result.strengths["item"])}

    def var(a, b):
        e = np.zeros(3)
        e[order[a]], e[order[b]] = 1, -1
        return e @ result.covariance @ e

    assert var("A", "C") == pytest.approx(15 / 17)
    assert var("B", "C") == pytest.approx(33 / 34)
    assert beta.sum() == pytest.approx(0, abs=1e-12)


def test_an_item_that_never_loses_has_no_finite_strength():
    winners, losers = outcomes({("A", "B"): (3, 0), ("B", "C"): (2, 2)})
    with pytest.raises(NotIdentified, match="do not exist"):
        fit_bradley_terry(winners, losers)
    result = fit_or_penalise(winners, losers, ridge=0.5)
    beta = strengths(result)
    assert np.isfinite(beta).all() and beta["A"] > beta["B"]
    assert "ridge 0.5" in result.notes[0]


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6)), min_size=3, max_size=3),
    permutation=st.permutations(range(12)),
)
def test_strengths_do_not_depend_on_order_and_flip_when_outcomes_flip(counts, permutation):
    pairs = dict(zip([("A", "B"), ("B", "C"), ("A", "C")], counts, strict=True))
    winners, losers = outcomes(pairs)
    base = strengths(fit_bradley_terry(winners, losers))
    order = [i for i in permutation if i < len(winners)] + list(range(12, len(winners)))
    shuffled = strengths(fit_bradley_terry(winners[order], losers[order]))
    np.testing.assert_allclose(base.sort_index(), shuffled.sort_index(), atol=1e-8)
    flipped = strengths(fit_bradley_terry(losers, winners))
    np.testing.assert_allclose(base.sort_index(), -flipped.sort_index(), atol=1e-8)


def test_comparisons_from_choices_use_the_chosen_option():
    rows = [
        ChoiceRowFactory(condition="none", left_id=1, right_id=2, chosen_side="left", query_label="beach"),
        ChoiceRowFactory(condition="none", query_id=7, left_id=1, right_id=2, chosen_side="right", query_label="city"),
        ChoiceRowFactory(condition="none", is_catch=True, catch_passed=True),
    ]
    pairs = comparisons(choices_frame(rows))
    assert pairs[["winner", "loser", "query_label"]].values.tolist() == [[1, 2, "beach"], [2, 1, "city"]]
    labels = comparisons(choices_frame(rows), level="label")
    assert labels["winner"].tolist() == ["ambient", "heavy metal"]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="compared with itself"):
        fit_bradley_terry(["A"], ["A"])
    with pytest.raises(ValueError, match="no comparisons"):
        fit_bradley_terry([], [])
