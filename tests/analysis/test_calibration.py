"""Per-worker z-scores and the scene x genre mixed model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.calibration import _cell_tests, fit_mixed_model, gls_cell_means, reml_random_intercept, zscore_by_worker


def frame(workers, scenes, genres, ratings, videos=None, music=None):
    n = len(ratings)
    return pd.DataFrame(
        {
            "worker_id": workers,
            "scene_label": scenes,
            "genre_label": genres,
            "rating": np.asarray(ratings, dtype=float),
            "video_id": videos if videos is not None else np.arange(n),
            "music_id": music if music is not None else np.arange(n),
        }
    )


def test_zscores_by_hand():
    data = pd.DataFrame({"worker_id": ["a", "a", "a", "b", "b", "c"], "rating": [1, 2, 3, 5, 5, 4]})
    z = zscore_by_worker(data)
    assert z.iloc[:3].tolist() == [-1.0, 0.0, 1.0]  # mean 2, sample SD 1
    assert z.iloc[3:].isna().all()  # constant worker and single rating: no scale


@settings(max_examples=40, deadline=None)
@given(
    ratings=st.lists(st.integers(1, 7), min_size=3, max_size=20).filter(lambda r: len(set(r)) > 1),
    scale=st.floats(0.1, 10),
    shift=st.floats(-10, 10),
)
def test_zscores_ignore_a_workers_location_and_scale(ratings, scale, shift):
    base = pd.DataFrame({"worker_id": "w", "score": ratings})
    moved = base.assign(score=[shift + scale * r for r in ratings])
    np.testing.assert_allclose(zscore_by_worker(base, "score"), zscore_by_worker(moved, "score"), atol=1e-9)


def balanced(rng, *, workers=30, tau=0.8, sigma=1.0, repeats=1):
    """Every worker rates every scene x genre cell ``repeats`` times."""
    cells = [(s, g) for s in ("beach", "city", "forest") for g in ("ambient", "metal", "jazz", "pop")]
    truth = {cell: m for cell, m in zip(cells, rng.normal(0, 1, len(cells)), strict=True)}
    rows = []
    bias = rng.normal(0, tau, workers)
    for w in range(workers):
        for cell in cells:
            for _ in range(repeats):
                rows.append((f"W{w}", *cell, 4 + truth[cell] + bias[w] + rng.normal(0, sigma)))
    # continuous simulated scores, not 7-point ratings: analysed as the response "score"
    data = pd.DataFrame(rows, columns=["worker_id", "scene_label", "genre_label", "score"])
    return data.assign(video_id=0, music_id=0), truth


def test_balanced_design_cell_means_equal_raw_cell_means():
    # With every worker in every cell equally often, GLS and OLS coincide: the model's cell means are
    # the raw cell means, whatever the variance components.
    data, _ = balanced(np.random.default_rng(1), repeats=2)
    result = fit_mixed_model(data, response="score", max_rows=None)
    raw = data.groupby(["scene_label", "genre_label"])["score"].mean()
    estimated = result.cell_means.set_index(["scene_label", "genre_label"])["estimate"]
    np.testing.assert_allclose(estimated.loc[raw.index], raw, atol=1e-8)
    assert result.n_rows == len(data) and result.notes == []


def test_planted_variance_components_are_recovered():
    # 60 workers, tau^2 = 0.64, sigma^2 = 1: the REML SE of tau^2 is about 0.64 * sqrt(2/59) = 0.12.
    data, truth = balanced(np.random.default_rng(2), workers=60, tau=0.8, sigma=1.0, repeats=2)
    result = fit_mixed_model(data, response="score", max_rows=None)
    assert result.variance["worker"] == pytest.approx(0.64, abs=0.36)
    assert result.variance["residual"] == pytest.approx(1.0, abs=0.08)
    assert result.worker_icc == pytest.approx(0.64 / 1.64, abs=0.12)
    estimated = result.cell_means.set_index(["scene_label", "genre_label"])
    for cell, value in truth.items():
        low, high = estimated.loc[cell, ["ci_low", "ci_high"]]
        assert low - 0.3 < 4 + value < high + 0.3


def test_gls_step_reproduces_statsmodels_fixed_effects_on_unbalanced_data():
    rng = np.random.default_rng(3)
    n = 600
    workers = rng.integers(0, 25, n)
    cells = rng.integers(0, 6, n)
    y = rng.normal(0, 1, 6)[cells] + rng.normal(0, 0.7, 25)[workers] + rng.normal(0, 1, n)
    exog = np.eye(6)[cells]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.MixedLM(y, exog, groups=workers).fit(reml=True)
    params, cov = gls_cell_means(
        cells, 6, workers, y, tau2=float(np.asarray(fit.cov_re)[0, 0]), sigma2=float(fit.scale)
    )
    np.testing.assert_allclose(params, np.asarray(fit.fe_params), atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.asarray(fit.bse_fe), rtol=1e-3)


def test_wald_interaction_statistic_by_hand():
    # 2 x 2 cells with independent estimates of variance v: the interaction contrast
    # m11 - m12 - m21 + m22 has variance 4v, so chi2 = d^2 / (4v) with 1 df.
    cells = pd.MultiIndex.from_tuples([("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")])
    params = np.array([1.0, 2.0, 3.0, 6.0])  # d = 1 - 2 - 3 + 6 = 2
    tests = _cell_tests(cells, params, np.eye(4) * 0.25).set_index("effect")
    assert tests.loc["scene x genre", "chi2"] == pytest.approx(2.0**2 / (4 * 0.25))
    assert tests.loc["scene x genre", "df"] == 1
    # scene main effect: mean of b minus mean of a = 4.5 - 1.5 = 3, variance (4 * 0.25) / 4 = 0.25
    assert tests.loc["scene", "chi2"] == pytest.approx(3.0**2 / 0.25)


def test_large_data_are_subsampled_by_whole_workers_and_say_so():
    data, _ = balanced(np.random.default_rng(4), workers=40)
    result = fit_mixed_model(data, response="score", max_rows=200, seed=7)
    per_worker = len(data) // 40
    assert result.n_rows % per_worker == 0 and result.n_rows <= 200
    assert result.n_rows_total == len(data)
    assert "Variance components from MixedLM on" in result.notes[0]
    assert result.cell_means["n"].sum() == len(data)  # cell means use every rating


def test_item_effects_add_video_and_music_components():
    rng = np.random.default_rng(5)
    rows = []
    for w in range(12):
        for video in range(6):
            for music in range(4):
                scene = "beach" if video < 3 else "city"
                genre = "ambient" if music < 2 else "metal"
                rows.append((f"W{w}", scene, genre, video, music, rng.normal(4, 1)))
    data = pd.DataFrame(rows, columns=["worker_id", "scene_label", "genre_label", "video_id", "music_id", "score"])
    result = fit_mixed_model(data, response="score", item_effects=True, item_max_rows=200)
    assert set(result.variance) == {"worker", "video", "music", "residual"}
    assert all(value >= 0 for value in result.variance.values())
    assert any("subsample of 200" in note for note in result.notes)


def test_a_single_worker_cannot_be_modelled():
    data = frame(["a"] * 4, ["s", "s", "t", "t"], ["g", "h", "g", "h"], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="at least two workers"):
        fit_mixed_model(data)


# ------------------------------------------------------------------------------------------------ REML

DIETOX = Path(statsmodels.__file__).parent / "regression" / "tests" / "results" / "dietox.csv"


@pytest.mark.skipif(not DIETOX.is_file(), reason="statsmodels' copy of geepack's dietox data is not installed")
def test_reml_reproduces_lme4_on_dietox():
    # lme4: lmer(Weight ~ Time + (1 | Pig), data = dietox) (geepack), values as printed by R, recorded in
    # statsmodels' test_lme.py: fixef 15.723523, 6.942505; SEs 0.78805374, 0.03338727; sigma^2 11.36692;
    # Pig variance 40.39395; logLik -2404.775, i.e. "REML criterion at convergence" 4809.55.
    data = pd.read_csv(DIETOX).dropna(subset=["Weight", "Time"])
    exog = np.column_stack([np.ones(len(data)), data["Time"].to_numpy(dtype=float)])
    fit = reml_random_intercept(data["Weight"].to_numpy(dtype=float), exog, pd.factorize(data["Pig"])[0])
    assert fit.converged and not fit.boundary
    assert fit.tau2 == pytest.approx(40.39395, rel=1e-6)
    assert fit.sigma2 == pytest.approx(11.36692, rel=1e-6)
    assert fit.beta == pytest.approx([15.723523, 6.942505], rel=1e-7)
    assert np.sqrt(np.diag(fit.cov_beta)) == pytest.approx([0.78805374, 0.03338727], rel=1e-6)
    assert fit.reml_criterion == pytest.approx(2 * 2404.775, rel=1e-6)
    assert "analytic derivative" in fit.optimizer
    # statsmodels with its default stopping rule is further from lme4 than this fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = sm.MixedLM(data["Weight"].to_numpy(dtype=float), exog, groups=data["Pig"]).fit(reml=True)
    assert abs(fit.tau2 - 40.39395) < abs(float(np.asarray(default.cov_re)[0, 0]) - 40.39395)


def test_reml_agrees_with_a_tightly_converged_statsmodels_fit_on_the_cell_design():
    rng = np.random.default_rng(8)
    n = 900
    workers = rng.integers(0, 40, n)
    cells = rng.integers(0, 8, n)
    y = rng.normal(0, 1, 8)[cells] + rng.normal(0, 0.6, 40)[workers] + rng.normal(0, 1, n)
    fit = reml_random_intercept(y, np.eye(8)[cells], workers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.MixedLM(y, np.eye(8)[cells], groups=workers)
        reference = model.fit(reml=True, method=["bfgs"], maxiter=5_000, gtol=1e-12)
    assert fit.tau2 == pytest.approx(float(np.asarray(reference.cov_re)[0, 0]), rel=1e-5)
    assert fit.sigma2 == pytest.approx(float(reference.scale), rel=1e-6)
    assert fit.reml_criterion == pytest.approx(-2 * reference.llf, rel=1e-9)


def test_a_worker_variance_of_zero_is_reported_as_the_boundary():
    rng = np.random.default_rng(9)
    groups = np.repeat(np.arange(30), 6)
    noise = rng.normal(0, 1, len(groups))
    y = noise - np.bincount(groups, weights=noise)[groups] / 6  # every group has mean exactly 0
    fit = reml_random_intercept(y, np.ones((len(y), 1)), groups)
    assert fit.boundary and fit.tau2 == 0.0 and fit.converged


def test_mixed_model_result_reports_the_reml_criterion_and_convergence():
    data, _ = balanced(np.random.default_rng(10), workers=20)
    result = fit_mixed_model(data, response="score", max_rows=None)
    codes = pd.factorize(pd.MultiIndex.from_frame(data[["scene_label", "genre_label"]]), sort=True)[0]
    direct = reml_random_intercept(
        data["score"].to_numpy(), np.eye(codes.max() + 1)[codes], pd.factorize(data["worker_id"])[0]
    )
    assert result.converged and result.reml_criterion == pytest.approx(direct.reml_criterion)
    assert result.variance["worker"] == pytest.approx(direct.tau2)
    assert "profiled REML" in result.optimizer
