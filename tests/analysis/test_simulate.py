"""The crowd simulator writes the export format exactly, honours the platform's invariants, and the
analysis recovers what it planted."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from analysis.calibration import zscore_by_worker
from analysis.cleaning import clean
from analysis.preference import load_machine_distances, machine_share_table, preference_trials, share_table
from analysis.profiles import cluster_profiles, genre_profiles
from analysis.simulate import SimulationConfig, expected_pooled_share, simulate, write_simulation
from exportformat import read_export, schema

SMALL = SimulationConfig(
    videos=12,
    songs=8,
    genres=4,
    ratings_per_pairing=2,
    pref_subjects=4,
    pref_questions=12,
    pref_items=20,
    afc_trials=60,
)


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "export"
    simulation = simulate(SMALL)
    write_simulation(simulation, root, machine_distances=True, parquet=True)
    return simulation, root


def test_all_four_files_have_the_documented_headers(small_export):
    _, root = small_export
    for table, columns in schema.TABLES.items():
        header = (root / f"{table}.csv").read_text().splitlines()[0]
        assert header == ",".join(columns)
    manifest = read_export(root).manifest
    assert manifest["format"] == "mvfit-export" and manifest["source"] == "mvfit simulator"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", manifest["exported_at"])
    assert manifest["simulation"]["config"]["seed"] == SMALL.seed
    assert {e["kind"] for e in manifest["experiments"]} == {"rating", "preference", "2afc"}


def test_the_export_loads_back_unchanged_from_csv_and_parquet(small_export):
    simulation, root = small_export
    from_csv = read_export(root, file_format="csv")
    from_parquet = read_export(root, file_format="parquet")
    assert from_csv.notes == []
    for table in ("ratings", "choices", "stimuli"):
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table))
        assert len(getattr(from_csv, table)) == len(getattr(simulation, table))


def test_ratings_cover_every_pairing_k_times_by_k_distinct_workers(small_export):
    simulation, _ = small_export
    ratings = simulation.ratings
    real = ratings[~ratings["is_catch"]]
    assert len(real) == SMALL.videos * SMALL.songs * SMALL.ratings_per_pairing
    per_pairing = real.groupby("pairing_id")["worker_id"].agg(["size", "nunique"])
    assert (per_pairing["size"] == SMALL.ratings_per_pairing).all() and (
        per_pairing["nunique"] == per_pairing["size"]
    ).all()
    assert len(per_pairing) == SMALL.videos * SMALL.songs
    catch = ratings[ratings["is_catch"]]
    assert len(catch) == SMALL.catch_per_assignment * ratings["assignment_id"].nunique()
    assert catch["pairing_id"].isna().all() and catch["catch_passed"].notna().all()
    assert real["catch_passed"].isna().all()


def test_rows_are_sorted_and_trial_indices_are_contiguous(small_export):
    simulation, _ = small_export
    for frame in (simulation.ratings, simulation.choices):
        keys = frame[["experiment_id", "assignment_id", "trial_index"]]
        assert keys.equals(keys.sort_values(list(keys.columns), ignore_index=True))
        for _, group in frame.groupby("assignment_id"):
            assert group["trial_index"].tolist() == list(range(len(group)))
            assert (group["presented_at"].diff().dropna() > pd.Timedelta(0)).all()
        assert (frame["presented_at"] < frame["answered_at"]).all() and (
            frame["answered_at"] < frame["received_at"]
        ).all()


def test_worker_ids_look_like_platform_pseudonyms(small_export):
    simulation, _ = small_export
    ids = pd.concat([simulation.ratings["worker_id"], simulation.choices["worker_id"]])
    assert ids.str.fullmatch(r"W[0-9a-f]{16}").all()


def test_preference_rows_are_internally_consistent(small_export):
    simulation, _ = small_export
    choices = simulation.choices
    pref = choices[choices["condition"].isin(schema.CONDITIONS)]
    kinds = set(zip(pref["condition"], pref["left_kind"] + pref["right_kind"], strict=True))
    for condition, pair in kinds:
        assert sorted(pair) == sorted(condition)
    chosen_first = pref["chosen_kind"] == pref["condition"].str[0]
    assert (chosen_first == pref["first_preferred"].astype(bool)).all()
    assert (pref["chosen_id"] == np.where(pref["chosen_side"] == "left", pref["left_id"], pref["right_id"])).all()
    has_search = (pref["left_kind"] == "S") | (pref["right_kind"] == "S")
    assert pref.loc[has_search, "search_source"].notna().all() and pref.loc[~has_search, "search_source"].isna().all()
    # The platform never shows a subject the same question twice.
    assert not pref.duplicated(["worker_id", "direction", "query_id", "left_id", "right_id"]).any()
    per_subject = pref.groupby("worker_id").size()
    assert (per_subject == SMALL.pref_questions).all()
    plain = choices[choices["condition"] == "none"]
    assert plain["first_preferred"].isna().all() and plain["left_kind"].isna().all()
    # Ground-truth pairs of the preference items are linked in stimuli.csv.
    stimuli = simulation.stimuli.set_index(["item_kind", "item_id"])
    g_rows = pref[pref["left_kind"] == "G"]
    v2m = g_rows[g_rows["direction"] == "V2M"].iloc[0]
    assert stimuli.loc[("clip", v2m["query_id"]), "ground_truth_id"] == v2m["left_id"]


@settings(max_examples=15, deadline=None)
@given(
    videos=st.integers(2, 9),
    songs=st.integers(2, 7),
    k=st.integers(1, 4),
    per=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_no_worker_ever_rates_a_pairing_twice(videos, songs, k, per, seed):
    config = SimulationConfig(
        videos=videos,
        songs=songs,
        genres=2,
        ratings_per_pairing=k,
        trials_per_assignment=per,
        pref_subjects=0,
        afc_trials=0,
        seed=seed,
    )
    ratings = simulate(config).ratings
    real = ratings[~ratings["is_catch"]]
    assert not real.duplicated(["worker_id", "pairing_id"]).any()
    assert real.groupby("pairing_id").size().eq(k).all() and real["pairing_id"].nunique() == videos * songs
    assert real["rating"].between(1, 7).all()


def test_the_same_seed_gives_the_same_study_and_another_seed_another():
    config = SimulationConfig(
        videos=6, songs=4, genres=2, pref_subjects=2, pref_questions=6, pref_items=6, afc_trials=10
    )
    first, again = simulate(config), simulate(config)
    pd.testing.assert_frame_equal(first.ratings, again.ratings)
    pd.testing.assert_frame_equal(first.choices, again.choices)
    other = simulate(SimulationConfig(**{**config.__dict__, "seed": 1}))
    assert not first.ratings["rating"].equals(other.ratings["rating"])


def test_ratings_only_and_choices_only_studies():
    no_choices = simulate(SimulationConfig(videos=4, songs=3, genres=3, pref_subjects=0, afc_trials=0))
    assert no_choices.choices.empty and list(no_choices.choices.columns) == list(schema.CHOICES)
    no_ratings = simulate(
        SimulationConfig(pref_subjects=3, pref_questions=6, pref_items=10, afc_trials=5), ratings=False
    )
    assert no_ratings.ratings.empty and not no_ratings.choices.empty


@pytest.mark.parametrize(
    "kwargs", [{"videos": 0}, {"careless_share": 1.5}, {"p_gs": 1.0}, {"pref_questions": 40, "pref_items": 10}]
)
def test_impossible_configurations_are_rejected(kwargs):
    with pytest.raises(ValueError):
        SimulationConfig(**kwargs)


def test_the_analysis_recovers_the_planted_video_clusters():
    simulation = simulate(
        SimulationConfig(videos=90, songs=30, genres=10, ratings_per_pairing=3, pref_subjects=0, afc_trials=0, seed=11)
    )
    ratings = clean(simulation.ratings, simulation.choices).ratings
    profiles, _, _ = genre_profiles(ratings.assign(z=zscore_by_worker(ratings)))
    planted = pd.Series(
        simulation.truth["video_clusters"]["cluster"], index=simulation.truth["video_clusters"]["video_id"]
    )
    clusters = cluster_profiles(profiles, video_clusters=planted.nunique()).video_clusters
    assert adjusted_rand_score(planted.loc[profiles.index], clusters) >= 0.9
    # ... and chooses the planted number of clusters on its own.
    assert cluster_profiles(profiles).n_video_clusters == planted.nunique()


def test_the_analysis_recovers_the_planted_preferences(tmp_path):
    config = SimulationConfig(
        videos=3, songs=3, genres=3, ratings_per_pairing=1, pref_subjects=120, afc_trials=0, seed=5
    )
    simulation = simulate(config)
    trials = preference_trials(clean(simulation.ratings, simulation.choices).choices)
    shares = share_table(trials).set_index(["condition", "direction"])
    realised = simulation.truth["preference"]["p_first_realised"]
    for condition in schema.CONDITIONS:
        row = shares.loc[(condition, "total")]
        assert row["ci_low"] <= realised[condition] <= row["ci_high"], condition
        assert row["p_binomial"] < 1e-6  # all planted preferences are well above 50 %
    # Sign and size: GR (.82) > SR (.73) > GS (.65), as planted.
    total = shares.xs("total", level="direction")["share"]
    assert total["GR"] > total["SR"] > total["GS"] > 0.5
    # The machine row recovers the planted machine accuracy on GR.
    path = tmp_path / "machine.csv"
    simulation.machine_distances.to_csv(path, index=False)
    machine, _ = machine_share_table(trials, load_machine_distances(path))
    gr = machine.set_index(["condition", "direction"]).loc[("GR", "total")]
    assert gr["ci_low"] - 0.03 <= config.machine_gr <= gr["ci_high"] + 0.03


def test_expected_pooled_share_matches_monte_carlo():
    rng = np.random.default_rng(0)
    draws = 1 / (1 + np.exp(-(np.log(0.65 / 0.35) + rng.normal(0, 0.8, 400_000))))
    assert expected_pooled_share(0.65, 0.8) == pytest.approx(draws.mean(), abs=0.002)
    assert expected_pooled_share(0.7, 0.0) == pytest.approx(0.7)
