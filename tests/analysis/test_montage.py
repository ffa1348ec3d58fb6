"""The montage analysis (analysis/montage.py): recovery and calibration on simulated studies, Bradley-Terry
against a direct MLE, the worker bootstrap, rating intervals by hand, retrieval metrics on a hand-made
registry, the rank correlation's honesty, exclusions and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

from analysis import bradley_terry as bt
from analysis.cleaning import clean_montages
from analysis.montage import (
    MontageInputError,
    NoMontageJudgments,
    analyse_montages,
    batched_bradley_terry,
    bradley_terry_ranking,
    exact_spearman_p,
    montage_pairs,
    parse_model,
    preference_shares,
    rating_means,
    recall_vs_preference,
    retrieval_metrics,
    worker_counts,
)
from analysis.preference import gee_intercept, gee_share
from analysis.simulate import MontageConfig, SimulationConfig, draw_montage_choices, simulate, write_simulation
from analysis.validation import AnalysisInputError
from exportformat import Export, read_export, write_export
from tests.factories.analysis import (
    MontageChoiceRowFactory,
    MontageRatingRowFactory,
    StimulusRowFactory,
    montage_choices_frame,
    montage_ratings_frame,
    stimuli_frame,
)

BASE = SimulationConfig(videos=4, songs=3, genres=2, ratings_per_pairing=1, pref_subjects=0, afc_trials=0)


def montage_export(tmp_path: Path, montage: MontageConfig, seed: int = 0) -> Export:
    sim = simulate(SimulationConfig(**{**BASE.__dict__, "seed": seed}), ratings=False, montage=montage)
    return read_export(write_simulation(sim, tmp_path / f"export-{seed}"))


def fake_export(tmp_path: Path, **tables: pd.DataFrame) -> Export:
    return Export(path=tmp_path, manifest={"format_version": 3}, tables=tables, file_format="csv")


# ------------------------------------------------------------------------------------ recovery


RECOVERY = MontageConfig(
    workers=80,
    pairs_per_worker=30,
    models=("strong@1", "weak@2"),
    model_strengths=(0.7, 0.2),
    model_recall=(0.6, 0.1),
    g_strength=1.2,
    r_strength=-0.3,
    anti_strength=-0.9,
    careless_share=0.0,
)


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    export = montage_export(tmp_path_factory.mktemp("recovery"), RECOVERY, seed=3)
    return export, analyse_montages(export, bootstrap=400, seed=1)


def population_share(delta: float, config: MontageConfig) -> float:
    """P(a beats b) averaged over workers' tastes and both sides: E expit(N(delta, 2 sd^2 + side_sd^2))."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    sd = math.sqrt(2 * config.worker_sd**2 + config.side_sd**2)
    return float((special.expit(delta + sd * nodes) * weights).sum() / weights.sum())


def test_the_planted_ranking_is_recovered(recovered):
    _, result = recovered
    ranking = result.bradley_terry
    assert ranking["system"].tolist() == ["G", "strong@1", "weak@2", "R", "anti"]
    planted = pd.Series(RECOVERY.strengths - RECOVERY.strengths.mean(), index=RECOVERY.systems)
    estimate = ranking.set_index("system")["bt_score"]
    assert stats.spearmanr(planted, estimate.reindex(planted.index)).statistic == pytest.approx(1.0)
    # The population-averaged strengths are the planted ones shrunk by the worker tastes; the
    # recovered spread lies between that shrinkage and the planted spread (with sampling error).
    slope = np.polyfit(planted, estimate.reindex(planted.index), 1)[0]
    assert 0.7 < slope < 1.1
    assert (ranking["ci_low"] < ranking["bt_score"]).all() and (ranking["bt_score"] < ranking["ci_high"]).all()
    assert ranking.loc[ranking["system"] == "G", "p_best"].item() > 0.9


def test_each_models_share_over_r_covers_the_planted_population_share(recovered):
    _, result = recovered
    table = result.preferences.set_index(["model", "opponent"])
    for model, strength in zip(RECOVERY.models, RECOVERY.model_strengths, strict=True):
        row = table.loc[(model, "R")]
        expected = population_share(strength - RECOVERY.r_strength, RECOVERY)
        assert row["ci_low"] < expected < row["ci_high"], (model, expected, row["ci_low"], row["ci_high"])
        assert row["workers"] > 60 and row["songs"] == RECOVERY.songs
    assert set(table.index.get_level_values("opponent")) == {"G", "R", "anti", "strong@1", "weak@2"}
    # a model against another model is the same comparison seen from both sides
    a, b = table.loc[("strong@1", "weak@2")], table.loc[("weak@2", "strong@1")]
    assert a["n"] == b["n"] and a["share"] == pytest.approx(1 - b["share"], abs=1e-6)
    assert a["p_gee"] == pytest.approx(b["p_gee"], rel=1e-4)


def test_the_headline_is_the_project_gee_with_worker_clusters(recovered):
    export, result = recovered
    pairs = montage_pairs(clean_montages(export.montage_choices, export.montage_ratings).choices)
    cell = pairs[
        ((pairs["winner"] == "weak@2") & (pairs["loser"] == "R"))
        | ((pairs["winner"] == "R") & (pairs["loser"] == "weak@2"))
    ]
    won = (cell["winner"] == "weak@2").to_numpy()
    direct = gee_share(won, cell["worker_id"].to_numpy())
    row = result.preferences.set_index(["model", "opponent"]).loc[("weak@2", "R")]
    assert row["share"] == pytest.approx(direct["share"]) and row["p_gee"] == pytest.approx(direct["p_gee"])
    # ... and the vectorised closed form used by the calibration agrees with statsmodels
    codes = pd.factorize(cell["worker_id"])[0]
    s, n = worker_counts(codes[None, :], won[None, :].astype(float), 1)
    logit, se, _ = gee_intercept(s, n)
    assert special.expit(logit[0]) == pytest.approx(row["share"], abs=1e-6)
    assert se[0] == pytest.approx(direct["se"], rel=1e-4)


def test_simulated_montage_study_is_a_valid_export_with_counterbalanced_unique_pairs(tmp_path):
    export = montage_export(tmp_path, MontageConfig(workers=12, songs=8), seed=5)
    choices = export.montage_choices
    trials = choices[~choices["is_catch"]]
    assert not trials.duplicated(["worker_id", "left_montage_id", "right_montage_id"]).any()
    assert (choices.groupby("worker_id")["is_catch"].sum() == 2).all()
    # both orders of every pair of systems are shown about equally often
    left = trials["left_kind"].where(trials["left_kind"] != "S", trials["left_model"])
    right = trials["right_kind"].where(trials["right_kind"] != "S", trials["right_model"])
    ordered = pd.crosstab(left, right)
    balance = (ordered - ordered.T).abs().to_numpy()
    assert balance.max() <= 0.35 * (ordered + ordered.T).to_numpy().max()
    montages = export.montages
    assert len(montages) == 8 * 5 and set(montages["kind"]) == {"G", "S", "R", "anti"}
    again = montage_export(tmp_path / "again", MontageConfig(workers=12, songs=8), seed=5)
    pd.testing.assert_frame_equal(again.montage_choices, choices)


# --------------------------------------------------------------------------------- calibration


def test_null_studies_reject_near_five_percent_and_the_pooled_test_does_not():
    config = MontageConfig(
        workers=30,
        pairs_per_worker=60,
        models=("m@1",),
        model_strengths=(0.0,),
        model_recall=(0.5,),
        g_strength=0.0,
        r_strength=0.0,
        anti_strength=0.0,
        worker_sd=1.0,
        careless_share=0.0,
    )
    studies = 600
    drawn = draw_montage_choices(config, np.random.default_rng(11), studies=studies)
    model, r = config.systems.index("m@1"), config.systems.index("R")
    left, right = drawn["left"], drawn["right"]
    cell = ((left == model) & (right == r)) | ((left == r) & (right == model))
    won = np.where(cell, (left == model) == drawn["left_chosen"], np.nan)
    s, n = worker_counts(drawn["worker"], won, studies)
    logit, se, _ = gee_intercept(s, n)
    p_gee = 2 * stats.t.sf(np.abs(logit / se), config.workers - 1)
    k, total = s.sum(axis=1), n.sum(axis=1)
    p_pooled = np.array([stats.binomtest(int(a), int(b)).pvalue for a, b in zip(k, total, strict=True)])
    rate = float(np.mean(p_gee < 0.05))
    assert 0.025 <= rate <= 0.085, rate
    assert np.mean(p_pooled < 0.05) > rate + 0.03


# ------------------------------------------------------------------------------- Bradley-Terry


def direct_mle(wins: np.ndarray) -> np.ndarray:
    p = wins.shape[0]

    def negative_log_likelihood(free: np.ndarray) -> float:
        beta = np.r_[free, 0.0]
        diff = beta[:, None] - beta[None, :]
        return float(-(wins * -np.logaddexp(0, -diff)).sum())

    fit = optimize.minimize(negative_log_likelihood, np.zeros(p - 1), method="BFGS", options={"gtol": 1e-10})
    beta = np.r_[fit.x, 0.0]
    return beta - beta.mean()


def test_batched_bradley_terry_equals_a_direct_maximum_likelihood_fit():
    rng = np.random.default_rng(0)
    batch = rng.integers(1, 9, size=(5, 4, 4)).astype(float)
    for matrix in batch:
        np.fill_diagonal(matrix, 0)
    fitted = batched_bradley_terry(batch)
    for matrix, beta in zip(batch, fitted, strict=True):
        np.testing.assert_allclose(beta, direct_mle(matrix), atol=1e-5)
        winners = np.repeat(np.repeat(np.arange(4), 4), matrix.ravel().astype(int))
        losers = np.repeat(np.tile(np.arange(4), 4), matrix.ravel().astype(int))
        reference = bt.fit_bradley_terry(winners, losers).strengths.set_index("item").sort_index()["log_strength"]
        np.testing.assert_allclose(beta, reference.to_numpy(), atol=1e-8)


def test_the_ranking_uses_the_mle_and_a_seeded_worker_bootstrap():
    rows = []
    rng = np.random.default_rng(4)
    systems = ["G", "a@1", "R"]
    strength = {"G": 1.0, "a@1": 0.3, "R": -0.5}
    for w in range(12):
        for t in range(15):
            i, j = rng.choice(3, size=2, replace=False)
            p = special.expit(strength[systems[i]] - strength[systems[j]])
            win = rng.random() < p
            rows.append(
                {
                    "worker_id": f"W{w}",
                    "song_id": t % 3,
                    "winner": systems[i] if win else systems[j],
                    "loser": systems[j] if win else systems[i],
                }
            )
    pairs = pd.DataFrame(rows)
    first, _ = bradley_terry_ranking(pairs, bootstrap=300, seed=9)
    again, _ = bradley_terry_ranking(pairs, bootstrap=300, seed=9)
    other, _ = bradley_terry_ranking(pairs, bootstrap=300, seed=10)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])
    index = {s: k for k, s in enumerate(systems)}
    wins = np.zeros((3, 3))
    np.add.at(wins, (pairs["winner"].map(index), pairs["loser"].map(index)), 1)
    reference = pd.Series(direct_mle(wins), index=systems)
    np.testing.assert_allclose(first.set_index("system")["bt_score"].reindex(systems), reference, atol=1e-5)
    assert first["p_best"].sum() == pytest.approx(1.0)
    assert first["rank"].tolist() == [1, 2, 3]


def test_a_system_that_never_loses_gets_the_ridge_fit_with_a_note():
    pairs = pd.DataFrame(
        {
            "worker_id": ["W1", "W2", "W1", "W2"],
            "song_id": [1, 1, 2, 2],
            "winner": ["G", "G", "a@1", "R"],
            "loser": ["R", "a@1", "R", "a@1"],
        }
    )
    ranking, notes = bradley_terry_ranking(pairs, bootstrap=50, seed=0)
    assert ranking.iloc[0]["system"] == "G"
    assert any("ridge" in note for note in notes)


# -------------------------------------------------------------------------------------- ratings


def test_rating_means_have_a_worker_clustered_interval_computed_by_hand():
    values = {"W1": [7, 6, 7], "W2": [3, 4], "W3": [5]}
    rows = [
        MontageRatingRowFactory(worker_id=f"W000000000000000{w[-1]}", rating=v, model="a@1")
        for w, vs in values.items()
        for v in vs
    ]
    rows.append(MontageRatingRowFactory(kind="R", model=None, rating=2))
    rows.append(MontageRatingRowFactory(is_catch=True, catch_passed=True, montage_id=None, kind=None, model=None))
    table = rating_means(montage_ratings_frame(rows)).set_index("system")
    y = np.array([7, 6, 7, 3, 4, 5.0])
    mean = y.mean()
    sums = np.array([20 - 3 * mean, 7 - 2 * mean, 5 - mean])
    se = math.sqrt(3 / 2 * (sums**2).sum()) / 6
    assert table.loc["a@1", "mean"] == pytest.approx(mean)
    assert table.loc["a@1", "se"] == pytest.approx(se)
    assert table.loc["a@1", "ci_high"] == pytest.approx(mean + stats.t.ppf(0.975, 2) * se)
    assert table.loc["a@1", "workers"] == 3
    assert np.isnan(table.loc["R", "se"])  # one worker: no clustered interval


# ---------------------------------------------------------------------------- retrieval metrics


def write_model(models_dir: Path, name: str, version: str, rows: list[tuple]) -> None:
    directory = models_dir / name / version
    directory.mkdir(parents=True)
    (directory / "model.json").write_text(json.dumps({"format": "mvfit-model", "name": name, "version": version}))
    frame = pd.DataFrame(rows, columns=["query_kind", "query_id", "candidate_id", "rank", "score"])
    frame.assign(model_version=f"test:{name}").to_csv(directory / "rankings.csv", index=False)


def tiny_stimuli() -> pd.DataFrame:
    rows = [StimulusRowFactory(item_kind="clip", item_id=i, ground_truth_id=10 + i) for i in (1, 2, 3)]
    rows += [StimulusRowFactory(item_kind="excerpt", item_id=10 + i, ground_truth_id=i) for i in (1, 2, 3)]
    return stimuli_frame(rows)


def full_ranking(order: dict[int, list[int]], kind: str) -> list[tuple]:
    return [(kind, q, c, r + 1, -float(r) * 1.7) for q, cs in order.items() for r, c in enumerate(cs)]


def test_retrieval_metrics_on_a_hand_made_registry(tmp_path):
    # clip queries: true excerpt at ranks 1, 2, 3; excerpt queries: true clip at 1, 1, 3
    clips = full_ranking({1: [11, 12, 13], 2: [11, 12, 13], 3: [11, 12, 13]}, "clip")
    excerpts = full_ranking({11: [1, 2, 3], 12: [2, 1, 3], 13: [1, 2, 3]}, "excerpt")
    write_model(tmp_path, "good", "1", clips + excerpts)
    # a --top 1 file: only the best candidate per query
    write_model(tmp_path, "top", "v2", full_ranking({1: [12], 2: [12], 3: [13]}, "clip"))
    table, notes = retrieval_metrics(tmp_path, ["good@1", "top@v2", "absent@1"], tiny_stimuli(), ks=(1, 2))
    table = table.set_index(["model", "direction"])
    good_v2m, good_m2v = table.loc[("good@1", "V2M")], table.loc[("good@1", "M2V")]
    assert (good_v2m["queries"], good_v2m["r_at_1"], good_v2m["r_at_2"], good_v2m["median_rank"]) == (
        3,
        1 / 3,
        2 / 3,
        2,
    )
    assert (good_m2v["r_at_1"], good_m2v["r_at_2"], good_m2v["median_rank"]) == (2 / 3, 2 / 3, 1)
    top = table.loc[("top@v2", "V2M")]
    assert top["r_at_1"] == pytest.approx(2 / 3) and top["median_rank"] == 1
    assert table.loc[("top@v2", "M2V"), "status"] == "no ground truth"
    assert table.loc[("absent@1", "V2M"), "status"] == "missing"
    assert any("absent@1: not in the model registry" in note for note in notes)
    assert any("shorter than 2" in note for note in notes)


def test_a_bad_rankings_file_or_model_name_is_a_clear_error(tmp_path):
    directory = tmp_path / "bad" / "1"
    directory.mkdir(parents=True)
    (directory / "model.json").write_text("{}")
    (directory / "rankings.csv").write_text("query_kind,query_id,rank\nclip,1,1\n")
    with pytest.raises(ValueError, match="missing column"):
        retrieval_metrics(tmp_path, ["bad@1"], tiny_stimuli())
    with pytest.raises(MontageInputError, match="NAME@VERSION"):
        retrieval_metrics(tmp_path, ["no-version"], tiny_stimuli())
    with pytest.raises(MontageInputError):
        parse_model("../etc@1")


def test_the_rank_correlation_is_honest_about_few_models():
    ranking = pd.DataFrame({"system": ["a@1", "b@1", "c@1", "d@1", "e@1"], "bt_score": [0.5, 0.2, 0.1, -0.1, -0.3]})
    retrieval = pd.DataFrame(
        {
            "model": ["a@1", "b@1", "c@1", "d@1", "e@1"],
            "direction": "V2M",
            "r_at_1": [0.5, 0.4, 0.3, 0.2, 0.1],
            "median_rank": [1, 2, 3, 4, 5],
            "status": "ok",
        }
    )
    table, _ = recall_vs_preference(retrieval.iloc[:2], ranking)
    assert table["rho"].isna().all() and table["note"].str.contains("too few").all()
    four, _ = recall_vs_preference(retrieval.iloc[:4], ranking)
    row = four.set_index("metric").loc["r_at_1"]
    assert row["rho"] == pytest.approx(1.0) and row["p_exact"] == pytest.approx(2 / 24)
    assert "descriptive only" in row["note"]
    five, _ = recall_vs_preference(retrieval, ranking)
    by_metric = five.set_index("metric")
    assert by_metric.loc["median_rank", "rho"] == pytest.approx(1.0)  # sign flipped: a smaller rank is better
    assert by_metric.loc["r_at_1", "p_exact"] == pytest.approx(2 / 120) and by_metric.loc["r_at_1", "note"] == ""
    x, y = np.array([1.0, 2, 3, 4, 5, 6]), np.array([2.0, 1, 4, 3, 6, 5])
    perms = stats.permutation_test(
        (x,), lambda a: stats.spearmanr(a, y).statistic, permutation_type="pairings", n_resamples=np.inf
    )
    assert exact_spearman_p(x, y) == pytest.approx(perms.pvalue)


# ------------------------------------------------------------------------ whole, exclusions, errors


def test_analyse_montages_with_a_registry_and_a_missing_model(tmp_path):
    from analysis.simulate import write_model_registry

    config = MontageConfig(workers=20, library_pairs=15)
    export = montage_export(tmp_path, config, seed=2)
    write_model_registry(
        tmp_path / "models",
        MontageConfig(
            workers=20, library_pairs=15, models=("seg-vmnet@1",), model_strengths=(0.6,), model_recall=(0.9,)
        ),
        export.stimuli,
    )
    result = analyse_montages(export, models_dir=tmp_path / "models", bootstrap=100)
    retrieval = result.retrieval.set_index(["model", "direction"])
    assert retrieval.loc[("seg-vmnet@1", "V2M"), "r_at_1"] >= 0.8
    assert retrieval.loc[("vmnet@1", "V2M"), "status"] == "missing"
    assert any("vmnet@1: not in the model registry" in note for note in result.notes)
    assert result.models == ["seg-vmnet@1", "vmnet@1"]
    assert set(result.correlation["n_models"]) == {1}


def test_careless_workers_are_excluded_by_the_projects_rules(tmp_path):
    export = montage_export(tmp_path, MontageConfig(workers=30, careless_share=0.3, catch_per_worker=4), seed=8)
    result = analyse_montages(export, bootstrap=0)
    careless = set(export.simulation["truth"]["montage"]["careless_workers"])
    flagged = set(clean_montages(export.montage_choices, export.montage_ratings).worker_flags["worker_id"])
    assert careless and flagged <= careless and len(flagged) >= len(careless) // 2
    assert set(result.exclusions["rule"]) >= {"invalid", "duplicate", "catch_unlikely", "fast_responder"}
    assert result.counts["excluded_workers"] == len(flagged)


def test_duplicated_montage_judgments_count_once():
    first = MontageChoiceRowFactory(left_montage_id=1, right_montage_id=2)
    repeat = MontageChoiceRowFactory(left_montage_id=1, right_montage_id=2, chosen_side="right")
    cleaned = clean_montages(montage_choices_frame([first, repeat]), montage_ratings_frame([]))
    assert len(cleaned.choices) == 1 and cleaned.choices["chosen_side"].item() == "left"
    with pytest.raises(AnalysisInputError, match="duplicated"):
        montage_pairs(montage_choices_frame([first, repeat]))


def test_an_export_without_montage_judgments_is_refused_clearly(tmp_path):
    root = write_export(tmp_path / "plain", tables={}, provenance={"source": "test", "experiments": []}).directory
    with pytest.raises(NoMontageJudgments, match="this export has no montage judgments"):
        analyse_montages(read_export(root))


def test_wrong_columns_and_bad_model_names_raise_the_documented_errors(tmp_path):
    frame = montage_choices_frame([MontageChoiceRowFactory()]).drop(columns=["left_model"])
    with pytest.raises(AnalysisInputError, match="left_model"):
        montage_pairs(frame)
    bad = montage_choices_frame([MontageChoiceRowFactory(left_model="not a model")])
    with pytest.raises(MontageInputError, match="not a model"):
        analyse_montages(
            fake_export(
                tmp_path, montage_choices=bad, montage_ratings=montage_ratings_frame([]), stimuli=stimuli_frame([])
            )
        )
    unnamed = montage_choices_frame([MontageChoiceRowFactory(left_model=None)])
    with pytest.raises(MontageInputError, match="without a model"):
        preference_shares(montage_pairs(unnamed))
    text = montage_ratings_frame([MontageRatingRowFactory()]).astype({"rating": object})
    text.loc[0, "rating"] = "5"
    with pytest.raises(AnalysisInputError, match="rating"):
        rating_means(text)


@settings(max_examples=12, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["R", "G", "anti", "b@2"]), st.booleans(), st.booleans()),
        min_size=4,
        max_size=40,
    )
)
def test_shares_ignore_which_side_a_montage_was_shown_on(outcomes):
    """Mirroring every trial (sides swapped, same montage chosen) changes no share, CI or p-value."""
    rows, mirrored = [], []
    for n, (worker, opponent, model_left, model_won) in enumerate(outcomes):
        kind, model = ("S", opponent) if "@" in opponent else (opponent, None)
        sides = (
            {"left": ("S", "a@1"), "right": (kind, model)}
            if model_left
            else {"left": (kind, model), "right": ("S", "a@1")}
        )
        chosen = ("left" if model_left else "right") if model_won else ("right" if model_left else "left")
        base = dict(
            worker_id=f"W{worker:016x}",
            trial_index=n,
            song_id=n % 3,
            left_montage_id=2 * n + 1,
            right_montage_id=2 * n + 2,
        )
        rows.append(
            MontageChoiceRowFactory(
                **base,
                left_kind=sides["left"][0],
                left_model=sides["left"][1],
                right_kind=sides["right"][0],
                right_model=sides["right"][1],
                chosen_side=chosen,
            )
        )
        mirrored.append(
            MontageChoiceRowFactory(
                **{**base, "left_montage_id": 2 * n + 2, "right_montage_id": 2 * n + 1},
                left_kind=sides["right"][0],
                left_model=sides["right"][1],
                right_kind=sides["left"][0],
                right_model=sides["left"][1],
                chosen_side="right" if chosen == "left" else "left",
            )
        )
    first = preference_shares(montage_pairs(montage_choices_frame(rows)))
    second = preference_shares(montage_pairs(montage_choices_frame(mirrored)))
    pd.testing.assert_frame_equal(first, second)
    assert (first["k"] <= first["n"]).all()
    assert ((first["ci_low"] <= first["share"]) | first["ci_low"].isna()).all()


def test_a_ratings_only_montage_study_gives_rating_means_and_notes(tmp_path):
    from exportformat import empty_table

    sim = simulate(BASE, ratings=False, montage=MontageConfig(workers=10))
    sim.montage_tables["montage_choices"] = empty_table("montage_choices")
    export = read_export(write_simulation(sim, tmp_path / "export"))
    result = analyse_montages(export, models_dir=tmp_path / "nowhere")
    assert set(result.ratings["system"]) == {"G", "seg-vmnet@1", "vmnet@1", "R", "anti"}
    assert result.bradley_terry.empty and result.preferences.empty
    assert any("No montage preference judgments" in note for note in result.notes)
    assert any("does not exist" in note for note in result.notes)
    assert (result.retrieval["status"] == "missing").all()
