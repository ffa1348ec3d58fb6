"""Reliability statistics against published examples and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.reliability import (
    icc,
    krippendorff_alpha,
    loo_worker_correlation,
    rating_matrix,
    spearman_brown,
    split_half,
)

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
# ... and their Table 4 (ICCs) and Table 3 (ANOVA mean squares).
PUBLISHED_ICC = {
    "ICC(1,1)": 0.17,
    "ICC(2,1)": 0.29,
    "ICC(3,1)": 0.71,
    "ICC(1,k)": 0.44,
    "ICC(2,k)": 0.62,
    "ICC(3,k)": 0.91,
}
PUBLISHED_MS = {"BMS": 11.24, "WMS": 6.26, "JMS": 32.49, "EMS": 1.02}


def test_icc_reproduces_shrout_and_fleiss_1979():
    table = icc(SHROUT_FLEISS).set_index("form")
    for form, value in PUBLISHED_ICC.items():
        assert round(table.loc[form, "icc"], 2) == value, form
    for name, value in PUBLISHED_MS.items():
        assert round(table.attrs[name], 2) == value, name


def test_icc_f_tests_and_intervals_match_pingouin():
    long = pd.DataFrame(
        [(t, j, SHROUT_FLEISS[t, j]) for t in range(6) for j in range(4)], columns=["target", "judge", "score"]
    )
    reference = pingouin.intraclass_corr(long, targets="target", raters="judge", ratings="score")
    ours = icc(SHROUT_FLEISS)
    # pingouin labels: ICC1, ICC2 (A,1), ICC3 (C,1), ICC1k, ICC2k, ICC3k in the same order.
    np.testing.assert_allclose(ours["icc"], reference["ICC"], atol=1e-12)
    np.testing.assert_allclose(ours["F"], reference["F"], atol=1e-9)
    np.testing.assert_allclose(ours["p_value"], reference["pval"], atol=1e-12)
    bounds = np.vstack(reference["CI95"].to_numpy())
    np.testing.assert_allclose(ours["ci_low"], bounds[:, 0], atol=0.006)  # pingouin rounds to 2 decimals
    np.testing.assert_allclose(ours["ci_high"], bounds[:, 1], atol=0.006)


def test_icc_rejects_incomplete_matrices():
    with pytest.raises(ValueError, match="complete"):
        icc(np.array([[1.0, np.nan], [2.0, 3.0]]))


def test_spearman_brown_by_hand():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.5, 3) == pytest.approx(0.75)
    assert spearman_brown(0.3, 1) == pytest.approx(0.3)


@settings(max_examples=50)
@given(r=st.floats(0.01, 0.99), factor=st.floats(0.2, 10))
def test_spearman_brown_lengthening_then_shortening_is_identity(r, factor):
    assert spearman_brown(spearman_brown(r, factor), 1 / factor) == pytest.approx(r)


def ratings_long(matrix: np.ndarray, *, item="pairing_id") -> pd.DataFrame:
    """Items x raters matrix (NaN = not rated) -> one row per rating."""
    rows = [
        (f"W{j}", i, matrix[i, j], pd.Timestamp("2026-01-01") + pd.Timedelta(seconds=j))
        for i in range(matrix.shape[0])
        for j in range(matrix.shape[1])
        if not np.isnan(matrix[i, j])
    ]
    return pd.DataFrame(rows, columns=["worker_id", item, "rating", "received_at"])


def test_split_half_is_one_when_raters_agree_perfectly():
    truth = np.arange(20) % 7 + 1.0
    matrix = np.repeat(truth[:, None], 6, axis=1)
    result = split_half(ratings_long(matrix), n_splits=20)
    assert result.r_half == pytest.approx(1.0) and result.reliability == pytest.approx(1.0)


def test_split_half_is_near_zero_for_unrelated_raters():
    rng = np.random.default_rng(0)
    matrix = rng.integers(1, 8, size=(2000, 4)).astype(float)
    result = split_half(ratings_long(matrix), n_splits=20)
    # r between two means of independent noise over 2,000 items: SE about 0.022.
    assert abs(result.r_half) < 0.08


def test_split_half_recovers_the_theoretical_reliability():
    # Item true scores with variance 1, rater noise variance 1, k = 8 raters per item:
    # reliability of the mean of 8 = 8 / (8 + 1) = 0.889 (Spearman-Brown of the single-rater 0.5).
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 1, 3000)
    matrix = truth[:, None] + rng.normal(0, 1, (3000, 8))
    data = ratings_long(matrix).rename(columns={"rating": "score"})  # continuous scores, not 1..7 ratings
    result = split_half(data, value="score", n_splits=30)
    assert result.reliability == pytest.approx(8 / 9, abs=0.02)


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers x 12 units example
# with missing values; published: nominal .743, ordinal .815, interval .849, ratio .797.
KRIPPENDORFF = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_alpha_reproduces_the_published_example(level, published):
    data = ratings_long(KRIPPENDORFF.T)
    assert round(krippendorff_alpha(data, level=level, value_domain=[1, 2, 3, 4, 5]), 3) == published


def test_krippendorff_alpha_rejects_values_outside_the_domain():
    data = ratings_long(np.array([[1.0, 9.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match=r"column 'rating' must be 1 … 7; bad value\(s\) \[9.0\]"):
        krippendorff_alpha(data, level="interval")
    scores = data.rename(columns={"rating": "score"})
    with pytest.raises(ValueError, match=r"values \[9.0\] are not in the value domain"):
        krippendorff_alpha(scores, level="interval", value="score")


def test_loo_correlation_matches_an_explicit_loop():
    matrix = np.array(
        [
            [1, 2, 1, np.nan],
            [2, 3, 4, 1],
            [3, 5, 2, 2],
            [4, 4, 6, 7],
            [5, 7, 3, np.nan],
            [6, 6, 7, 5],
            [np.nan, 1, 2, 2],
        ],
        dtype=float,
    )
    data = ratings_long(matrix)
    result = loo_worker_correlation(data, min_items=3).set_index("worker_id")
    for j in range(matrix.shape[1]):
        own, others = [], []
        for i in range(matrix.shape[0]):
            rest = [matrix[i, k] for k in range(matrix.shape[1]) if k != j and not np.isnan(matrix[i, k])]
            if not np.isnan(matrix[i, j]) and rest:
                own.append(matrix[i, j])
                others.append(sum(rest) / len(rest))
        expected = np.corrcoef(own, others)[0, 1]
        assert result.loc[f"W{j}", "r"] == pytest.approx(expected)
        assert result.loc[f"W{j}", "n_items"] == len(own)


def test_loo_correlation_is_undefined_for_a_constant_worker():
    matrix = np.array([[4, 1], [4, 2], [4, 3], [4, 5], [4, 6]], dtype=float)
    result = loo_worker_correlation(ratings_long(matrix), min_items=3).set_index("worker_id")
    assert np.isnan(result.loc["W0", "r"]) and np.isnan(result.loc["W1", "r"])


def test_rating_matrix_takes_the_first_k_ratings_of_items_with_enough_ratings():
    matrix = np.array([[1, 2, 3], [4, 5, np.nan], [6, 7, 1]], dtype=float)
    values, dropped = rating_matrix(ratings_long(matrix), k=3)
    assert dropped == 1
    np.testing.assert_array_equal(values, [[1, 2, 3], [6, 7, 1]])
    values, dropped = rating_matrix(ratings_long(matrix), k=2)
    np.testing.assert_array_equal(values, [[1, 2], [4, 5], [6, 7]])
