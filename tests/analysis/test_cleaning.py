"""Exclusion rules: each one catches exactly the hand-made cases it is meant for, with counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.cleaning import ExclusionRules, attentive_drop_probability, attentive_drop_table, clean
from tests.factories.analysis import ChoiceRowFactory, RatingRowFactory, choices_frame, ratings_frame

NO_CHOICES = choices_frame([])
NO_RATINGS = ratings_frame([])


def worker_rows(
    worker: str, ratings: list[int], *, catch: list[bool] = (), rt: list[int] | None = None, start: int = 0
):
    rows = [
        RatingRowFactory(worker_id=worker, rating=r, pairing_id=start + i, rt_ms=(rt[i] if rt else 2500))
        for i, r in enumerate(ratings)
    ]
    rows += [
        RatingRowFactory(worker_id=worker, is_catch=True, catch_passed=p, pairing_id=None, rating=1) for p in catch
    ]
    return rows


def log_row(result, table: str, rule: str) -> pd.Series:
    log = result.exclusions
    return log[(log["table"] == table) & (log["rule"] == rule)].iloc[0]


def test_catch_failure_rate_above_the_threshold_excludes_the_worker():
    varied = [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5]
    rows = worker_rows("Wfail", varied, catch=[True, False, False, True], start=0)  # 50 % failed
    rows += worker_rows("Wedge", varied, catch=[True, True, True, False], start=100)  # exactly 25 %: kept
    rows += worker_rows("Wgood", varied, catch=[True, True], start=200)
    result = clean(ratings_frame(rows), NO_CHOICES, ExclusionRules(max_catch_fail_rate=0.25))
    catch = log_row(result, "ratings", "catch_failure")
    assert catch["workers_flagged"] == 1
    assert catch["rows_removed"] == 12 + 4  # all of Wfail's rows, attention checks included
    assert log_row(result, "ratings", "catch_trials")["rows_removed"] == 4 + 2
    assert set(result.ratings["worker_id"]) == {"Wedge", "Wgood"}
    assert len(result.ratings) == 24 and not result.ratings["is_catch"].any()
    assert list(result.worker_flags["worker_id"]) == ["Wfail"]


def test_one_slip_in_two_checks_keeps_an_attentive_worker_and_the_rule_scales_with_the_checks():
    varied = [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5]
    rows = worker_rows("Wslip", varied, catch=[True, False])  # one slip of two: 50 %, kept
    rows += worker_rows("Wboth", varied, catch=[False, False], start=100)  # P = 0.1^2 = 0.01 < 0.05
    rows += worker_rows("W3of10", varied, catch=[False] * 3 + [True] * 7, start=200)  # P(X >= 3) = 0.070
    rows += worker_rows("W4of10", varied, catch=[False] * 4 + [True] * 6, start=300)  # P(X >= 4) = 0.013
    result = clean(ratings_frame(rows), NO_CHOICES)  # defaults: lapse 10 %, alpha 0.05
    assert set(result.ratings["worker_id"]) == {"Wslip", "W3of10"}
    row = log_row(result, "ratings", "catch_unlikely")
    assert row["workers_flagged"] == 2
    expected = 2 * (1 - 0.9**2 - 2 * 0.1 * 0.9) + 2 * stats.binom.sf(3, 10, 0.1)
    assert row["attentive_dropped"] == pytest.approx(expected)
    # the old fixed-rate rule would have dropped the attentive worker with one slip
    old = clean(ratings_frame(rows), NO_CHOICES, ExclusionRules(catch_alpha=None, max_catch_fail_rate=0.25))
    assert "Wslip" not in set(old.ratings["worker_id"])
    assert log_row(old, "ratings", "catch_failure")["attentive_dropped"] == pytest.approx(
        2 * (1 - 0.9**2) + 2 * stats.binom.sf(2, 10, 0.1)
    )


def test_planted_attentive_subjects_with_two_checks_are_kept_and_drop_counts_match_the_exact_rate():
    rng = np.random.default_rng(3)
    workers, lapse = 400, 0.1
    rows = []
    for w in range(workers):
        passed = (rng.random(2) >= lapse).tolist()
        rows += [ChoiceRowFactory(worker_id=f"W{w:016x}", query_id=w)]
        rows += [ChoiceRowFactory(worker_id=f"W{w:016x}", is_catch=True, catch_passed=p) for p in passed]
    frame = choices_frame(rows)
    catch = frame[frame["is_catch"]].groupby("worker_id")["catch_passed"].sum()
    both = ExclusionRules(max_catch_fail_rate=0.25, straightline_max_share=None)
    result = clean(NO_RATINGS, frame, both)
    unlikely = log_row(result, "choices", "catch_unlikely")
    rate = log_row(result, "choices", "catch_failure")
    assert unlikely["workers_flagged"] == int((catch == 0).sum())  # only 2 of 2 failed
    assert rate["workers_flagged"] == int((catch < 2).sum())  # any slip
    assert unlikely["attentive_dropped"] == pytest.approx(workers * lapse**2)
    assert unlikely["workers_flagged"] < 0.1 * rate["workers_flagged"]
    assert abs(rate["workers_flagged"] - workers * (1 - (1 - lapse) ** 2)) < 4 * np.sqrt(workers * 0.19 * 0.81)


def test_attentive_drop_table_is_at_most_alpha_for_the_binomial_rule():
    table = attentive_drop_table(checks=(2, 3, 4, 10, 20))
    assert (table["catch_unlikely"] <= 0.05).all()
    assert table.set_index("checks").loc[2, "catch_failure"] == pytest.approx(0.19)
    only = attentive_drop_probability(np.array([2]), ExclusionRules(), lapse_rate=0.03)
    assert only["catch_unlikely"] == pytest.approx([0.03**2]) and "catch_failure" not in only


def test_workers_with_too_few_checks_are_not_judged_and_that_is_noted():
    rows = worker_rows("Wone", [1, 2, 3, 4, 5, 6, 7, 1, 2, 3], catch=[False])
    result = clean(ratings_frame(rows), NO_CHOICES, ExclusionRules(min_catch_trials=2))
    assert log_row(result, "ratings", "catch_unlikely")["workers_flagged"] == 0
    assert any("fewer than 2 scored attention checks" in note for note in result.notes)


def test_straight_lining_needs_both_the_share_and_the_minimum_number_of_trials():
    rows = worker_rows("Wflat", [4] * 11 + [5])  # 11/12 = 92 % the same
    rows += worker_rows("Wshort", [4] * 9, start=100)  # 100 % but only 9 trials
    rows += worker_rows("Wvaried", [4] * 10 + [1, 2], start=200)  # 83 %
    result = clean(
        ratings_frame(rows), NO_CHOICES, ExclusionRules(straightline_max_share=0.9, straightline_min_trials=10)
    )
    assert log_row(result, "ratings", "straight_lining")["rows_removed"] == 12
    assert set(result.ratings["worker_id"]) == {"Wshort", "Wvaried"}


def test_choices_straight_lining_is_always_the_same_side():
    rows = [ChoiceRowFactory(worker_id="Wleft", chosen_side="left", query_id=i) for i in range(10)]
    rows += [
        ChoiceRowFactory(worker_id="Wmix", chosen_side=("left" if i % 2 else "right"), query_id=i) for i in range(10)
    ]
    result = clean(ratings_frame([]), choices_frame(rows))
    assert set(result.choices["worker_id"]) == {"Wmix"}
    assert log_row(result, "choices", "straight_lining")["workers_flagged"] == 1


def test_fast_responders_and_implausible_trials():
    varied = [1, 2, 3, 4, 5, 6, 7, 1, 2, 3]
    rows = worker_rows("Wfast", varied, rt=[100] * 6 + [2000] * 4)  # 60 % too fast
    rows += worker_rows("Wslow", varied, rt=[2000] * 8 + [100, 700_000], start=100)  # two implausible trials
    rules = ExclusionRules(min_rt_ms=300, max_rt_ms=600_000, max_fast_share=0.5)
    result = clean(ratings_frame(rows), NO_CHOICES, rules)
    assert log_row(result, "ratings", "fast_responder")["rows_removed"] == 10
    assert log_row(result, "ratings", "implausible_rt")["rows_removed"] == 2
    assert sorted(result.ratings["rt_ms"].unique()) == [2000]


def test_invalid_rows_and_duplicates_are_removed_first():
    rows = worker_rows("Wa", [1, 2, 3, 4, 5, 6, 7, 1, 2, 3])
    rows.append(RatingRowFactory(worker_id="Wa", rating=9, pairing_id=50))
    late = RatingRowFactory(worker_id="Wa", rating=7, pairing_id=0)  # pairing 0 answered again, later
    late["received_at"] = late["received_at"] + pd.Timedelta(days=1)
    rows.append(late)
    result = clean(ratings_frame(rows), NO_CHOICES)
    assert log_row(result, "ratings", "invalid")["rows_removed"] == 1
    assert log_row(result, "ratings", "duplicate")["rows_removed"] == 1
    kept = result.ratings.set_index("pairing_id")
    assert kept.loc[0, "rating"] == 1  # the first answer counts


def test_switched_off_rules_remove_nothing():
    rows = worker_rows("Wflat", [4] * 20, catch=[False, False], rt=[100] * 20)
    rules = ExclusionRules(
        catch_alpha=None,
        max_catch_fail_rate=None,
        min_rt_ms=None,
        max_rt_ms=None,
        max_fast_share=None,
        straightline_max_share=None,
    )
    result = clean(ratings_frame(rows), NO_CHOICES, rules)
    assert list(result.exclusions["rule"]) == ["invalid", "duplicate", "catch_trials"]
    assert len(result.ratings) == 20


def test_low_agreement_rule_uses_the_leave_one_out_correlation():
    items = list(range(12))
    truth = [1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2]
    rows = []
    for worker in ("Wa", "Wb", "Wc"):
        rows += [RatingRowFactory(worker_id=worker, pairing_id=i, rating=truth[i]) for i in items]
    rows += [RatingRowFactory(worker_id="Wcontrarian", pairing_id=i, rating=8 - truth[i]) for i in items]
    result = clean(ratings_frame(rows), NO_CHOICES, ExclusionRules(min_loo_correlation=0.0, loo_min_items=10))
    assert set(result.ratings["worker_id"]) == {"Wa", "Wb", "Wc"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_catch_fail_rate": 1.5},
        {"catch_alpha": 0.0},
        {"catch_lapse_rate": 1.0},
        {"min_rt_ms": 500, "max_rt_ms": 400},
        {"straightline_max_share": -0.1},
    ],
)
def test_impossible_thresholds_are_rejected(kwargs):
    with pytest.raises(ValueError):
        ExclusionRules(**kwargs)


@settings(max_examples=30, deadline=None)
@given(
    answers=st.lists(
        st.tuples(st.sampled_from(["Wa", "Wb", "Wc"]), st.integers(0, 8), st.integers(50, 700_000), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
def test_the_log_accounts_for_every_removed_row(answers):
    rows = [
        RatingRowFactory(worker_id=w, rating=r, rt_ms=rt, is_catch=c, catch_passed=(r % 2 == 0) if c else None)
        for w, r, rt, c in answers
    ]
    result = clean(ratings_frame(rows), NO_CHOICES)
    log = result.exclusions
    assert log["rows_removed"].sum() + len(result.ratings) == len(rows)
    assert log["rows_remaining"].is_monotonic_decreasing
    assert log["rows_remaining"].iloc[-1] == len(result.ratings)
    assert result.ratings["rating"].between(1, 7).all()
