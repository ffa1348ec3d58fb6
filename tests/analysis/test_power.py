"""Power analysis by simulation against exact binomial power and sanity properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.power import (
    binomial_two_sided_p,
    cluster_recovery,
    preference_power,
    smallest_reaching,
    summarise_recovery,
)
from analysis.simulate import SimulationConfig


@pytest.mark.parametrize("n", [1, 7, 40, 121])
def test_vectorised_binomial_p_values_equal_scipys_binomtest(n):
    ks = np.arange(n + 1)
    expected = [stats.binomtest(int(k), n, 0.5).pvalue for k in ks]
    np.testing.assert_allclose(binomial_two_sided_p(ks, n), expected, rtol=1e-9, atol=1e-15)


def exact_binomial_power(p: float, n: int, alpha: float) -> float:
    """Power of the exact two-sided test: P(X in the rejection region) under Bin(n, p)."""
    region = [k for k in range(n + 1) if stats.binomtest(k, n, 0.5).pvalue <= alpha]
    return float(stats.binom.pmf(region, n, p).sum())


def test_without_subject_differences_simulated_power_is_the_exact_binomial_power():
    table = preference_power(p_first=0.6, subjects=[5, 10], questions=8, subject_sd=0.0, reps=4000, progress=False)
    for _, row in table.iterrows():
        exact = exact_binomial_power(0.6, int(row["answers"]), 0.05)
        assert row["power_binomial"] == pytest.approx(exact, abs=0.03)  # 4,000 reps: MC SE <= 0.008


def test_under_the_null_both_tests_keep_their_level():
    table = preference_power(p_first=0.5, subjects=[10, 30], questions=20, subject_sd=0.5, reps=3000, progress=False)
    assert (table["power_subject_t"] <= 0.08).all()
    # With subject differences the pooled binomial test is anticonservative: it rejects too often.
    assert (table["power_binomial"] > table["power_subject_t"]).all()


def test_power_grows_with_subjects_and_answers_the_planning_question():
    table = preference_power(p_first=0.6, subjects=[3, 10, 30, 60], questions=40, reps=1500, progress=False)
    assert table["power_subject_t"].is_monotonic_increasing
    assert table["power_subject_t"].iloc[0] < 0.5 < 0.8 < table["power_subject_t"].iloc[-1]
    answer = smallest_reaching(table, "power_subject_t", 0.8, "subjects")
    assert answer in {30, 60}
    assert smallest_reaching(table, "power_subject_t", 1.01, "subjects") is None


def test_cluster_recovery_improves_with_more_ratings_per_pairing():
    # Very noisy ratings (noise SD 3 against cluster preferences of SD 1): one rating per pairing
    # cannot separate the clusters, eight can (seen for seeds 0-3: ARI 0.25-0.37 vs 0.93-1.0).
    base = SimulationConfig(videos=30, songs=20, genres=5, video_clusters=3, genre_clusters=3, noise_sd=3.0, seed=0)
    runs = cluster_recovery(base, [1, 8], reps=3, progress=False)
    summary = summarise_recovery(runs).set_index("ratings_per_pairing")
    assert len(runs) == 6 and runs["video_ari"].between(-1, 1).all()
    assert summary.loc[8, "mean_video_ari"] >= 0.85
    assert summary.loc[1, "mean_video_ari"] < summary.loc[8, "mean_video_ari"] - 0.3
