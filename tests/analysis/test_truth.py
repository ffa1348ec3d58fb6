"""Truth inference: Dawid-Skene and GLAD against majority vote on planted crowds; ratings; bad input; CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.crowds import PlantedCrowd, planted_choices
from analysis.simulate import SimulationConfig, simulate
from analysis.truth import infer_choices, infer_ratings
from exportformat import write_export


def accuracy(result, truth) -> float:
    planted = truth["items"].set_index(["query_id", "a_id", "b_id"])["true_id"]
    inferred = result.items.set_index(["query_id", "option_a", "option_b"])["label_id"]
    return float((inferred.to_numpy() == planted.loc[list(inferred.index)].to_numpy()).mean())


SPAMMY = {"items": 300, "workers": 20, "answers_per_item": 5, "accuracy": (0.6, 0.95), "spammer_share": 0.3}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_beats_majority_vote_on_a_crowd_with_spammers(seed):
    choices, truth = planted_choices(PlantedCrowd(**SPAMMY, seed=seed))
    assert truth["workers"]["spammer"].sum() >= 3
    mv = accuracy(infer_choices(choices, method="mv"), truth)
    ds = accuracy(infer_choices(choices, method="ds"), truth)
    assert ds > mv


def test_glad_beats_majority_vote_and_both_models_find_the_spammers():
    choices, truth = planted_choices(PlantedCrowd(**SPAMMY, seed=4))
    glad = infer_choices(choices, method="glad")
    assert accuracy(glad, truth) > accuracy(infer_choices(choices, method="mv"), truth)
    for result in (glad, infer_choices(choices, method="ds")):
        skills = result.workers.merge(truth["workers"], on="worker_id")
        spammers, honest = skills.loc[skills["spammer"], "skill"], skills.loc[~skills["spammer"], "skill"]
        assert spammers.max() < honest.median()
        # Among honest workers the estimated skill follows the planted accuracy.
        assert honest.corr(skills.loc[~skills["spammer"], "accuracy"], method="spearman") > 0.6


def test_labels_do_not_depend_on_which_side_an_option_was_shown():
    choices, _ = planted_choices(PlantedCrowd(items=120, workers=15, answers_per_item=5, spammer_share=0.2, seed=5))
    swapped = choices.copy()
    for column in ("id", "label", "source_id", "kind", "pairing_id"):
        swapped[f"left_{column}"], swapped[f"right_{column}"] = choices[f"right_{column}"], choices[f"left_{column}"]
    swapped["chosen_side"] = np.where(choices["chosen_side"] == "left", "right", "left")
    first, second = infer_choices(choices), infer_choices(swapped)
    pd.testing.assert_frame_equal(first.items, second.items)


def test_output_columns_and_confidences():
    choices, _ = planted_choices(PlantedCrowd(items=50, workers=10, answers_per_item=3, seed=6))
    items = infer_choices(choices, method="ds").items
    assert len(items) == 50
    assert ((items["label_id"] == items["option_a"]) | (items["label_id"] == items["option_b"])).all()
    assert items["confidence"].between(0.5, 1).all()
    chose_a = items["label_id"] == items["option_a"]
    np.testing.assert_allclose(items["confidence"], np.where(chose_a, items["p_a"], 1 - items["p_a"]))
    assert (items["answers"] == 3).all()


def test_ratings_binary_drops_neutral_answers_and_ordinal_gives_an_expected_rating():
    simulation = simulate(
        SimulationConfig(videos=12, songs=8, genres=4, ratings_per_pairing=5, pref_subjects=0, afc_trials=0, seed=1)
    )
    ratings = simulation.ratings
    real = ratings[~ratings["is_catch"]]
    binary = infer_ratings(ratings, method="ds")
    assert any("carry no vote" in note for note in binary.notes)
    assert set(binary.items["label"]) <= {"fit", "poor"}
    mean_rating = real.groupby("pairing_id")["rating"].mean()
    joined = binary.items.set_index("pairing_id")["p_fit"]
    assert joined.corr(mean_rating.loc[joined.index], method="spearman") > 0.7
    ordinal = infer_ratings(ratings, method="mv", mode="ordinal")
    assert len(ordinal.items) == real["pairing_id"].nunique()
    assert ordinal.items["expected_rating"].between(1, 7).all()
    assert ordinal.items.set_index("pairing_id")["expected_rating"].corr(mean_rating) > 0.99


def test_bad_input_gives_clear_errors():
    choices, _ = planted_choices(PlantedCrowd(items=10, workers=5, answers_per_item=2))
    with pytest.raises(ValueError, match="method must be one of"):
        infer_choices(choices, method="bayes")
    with pytest.raises(ValueError, match="no non-catch answers"):
        infer_choices(choices.iloc[:0])
    simulation = simulate(SimulationConfig(videos=4, songs=3, genres=3, pref_subjects=0, afc_trials=0))
    bad = simulation.ratings.copy()
    bad["rating"] = bad["rating"].astype("Int64")
    row = bad.index[~bad["is_catch"]][0]
    bad.loc[row, "rating"] = 9
    with pytest.raises(ValueError, match=r"rating outside 1\.\.7"):
        infer_ratings(bad)
    with pytest.raises(ValueError, match="missing column"):
        infer_ratings(simulation.ratings.drop(columns=["pairing_id"]))


def test_cli_writes_labels_and_worker_skills(tmp_path, capsys):
    choices, _ = planted_choices(PlantedCrowd(items=60, workers=12, answers_per_item=4, seed=7))
    write_export(
        tmp_path / "export",
        tables={"choices": choices},
        provenance={"source": "planted crowd", "experiments": [{"id": 1, "slug": "p", "kind": "2afc", "seed": 0}]},
        parquet=False,
    )
    labels, workers = tmp_path / "labels.csv", tmp_path / "workers.csv"
    argv = ["truth", str(tmp_path / "export"), "--out", str(labels), "--workers-out", str(workers), "--no-clean"]
    assert main(argv) == 0
    assert "ds: 60 items" in capsys.readouterr().out
    table = pd.read_csv(labels)
    assert len(table) == 60 and {"label_id", "p_a", "confidence", "query_id"} <= set(table.columns)
    assert len(pd.read_csv(workers)) == 12
    assert main(["truth", str(tmp_path / "export"), "--out", str(labels), "--iterations", "0"]) == 2
