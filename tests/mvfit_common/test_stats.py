"""The Wilson score interval (statsmodels' proportion_confint), shared by analysis and training."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from mvfit_common.stats import wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no correction).
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_reproduces_newcombe_1998(k, n, low, high):
    lower, upper = wilson_interval(k, n)
    assert round(float(lower), 4) == low and round(float(upper), 4) == high


@settings(max_examples=100)
@given(n=st.integers(1, 500), data=st.data())
def test_agrees_with_statsmodels_and_is_exact_at_the_ends(n, data):
    k = data.draw(st.integers(0, n))
    lower, upper = wilson_interval(k, n)
    reference = proportion_confint(k, n, method="wilson")
    assert float(lower) == pytest.approx(reference[0], abs=1e-12) and float(upper) == pytest.approx(reference[1])
    assert 0 <= lower <= k / n <= upper <= 1
    assert (k > 0 or lower == 0.0) and (k < n or upper == 1.0)
    mirrored = wilson_interval(n - k, n)
    assert float(mirrored[0]) == pytest.approx(1 - float(upper)) and float(mirrored[1]) == pytest.approx(
        1 - float(lower)
    )


def test_element_wise_with_nan_for_no_trials():
    lower, upper = wilson_interval(np.array([0, 3, 5]), np.array([0, 10, 5]))
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert lower[2] < 1 and upper[2] == 1.0 and 0 < lower[1] < 0.3 < upper[1]


@pytest.mark.parametrize(
    ("k", "n", "message"),
    [
        (5, 3, "successes=5, trials=3"),
        (-1, 3, "successes=-1"),
        (1.5, 3, "successes=1.5"),
        (np.nan, 3, "successes=nan"),
        (np.array([1, 4]), np.array([2, 3]), r"successes=4, trials=3 \(at position \(1,\)\)"),
    ],
)
def test_impossible_counts_are_refused(k, n, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(k, n)


def test_confidence_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(3, 5, confidence=95)
