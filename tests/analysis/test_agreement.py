"""2AFC reliability and noise ceiling: hand-computed cases, planted crowds, the subject bootstrap, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.agreement import agreement, aligned_answers, ceiling_from_agreement
from analysis.cli import main
from analysis.crowds import PlantedCrowd, planted_choices
from exportformat import write_export
from tests.factories.analysis import ChoiceRowFactory, choices_frame


def answer(worker: str, chosen: int, *, left: int = 200_001, right: int = 200_002, query: int = 100_001, n: int = 0):
    return ChoiceRowFactory(
        worker_id=worker,
        condition="none",
        left_kind=None,
        right_kind=None,
        query_id=query,
        left_id=left,
        right_id=right,
        chosen_side="left" if chosen == left else "right",
        trial_index=n,
    )


def test_hand_computed_agreement_aligns_by_chosen_option_not_side():
    rows = [
        # s1 chooses excerpt 1 twice, once on the left and once on the right (a swapped repeat): consistent.
        answer("W" + "1" * 16, 200_001, n=0),
        answer("W" + "1" * 16, 200_001, left=200_002, right=200_001, n=1),
        # s2 always clicks "left": on the swapped repeat that is the other excerpt, so inconsistent.
        answer("W" + "2" * 16, 200_001, n=0),
        answer("W" + "2" * 16, 200_002, left=200_002, right=200_001, n=1),
        answer("W" + "3" * 16, 200_002, n=0),
    ]
    table = agreement(choices_frame(rows), bootstrap=0).table.set_index("group")
    row = table.loc["all"]
    assert row["retest_pairs"] == 2 and row["retest_swapped_pairs"] == 2
    assert row["test_retest"] == pytest.approx(0.5)
    # First answers: 1, 1, 2 -> pairs (s1,s2) agree, (s1,s3) and (s2,s3) disagree.
    assert row["between_pairs"] == 3
    assert row["between"] == pytest.approx(1 / 3)
    assert row["ceiling"] == pytest.approx(0.5)  # agreement below 1/2 implies no better than chance
    assert row["personal_ceiling"] == pytest.approx(0.5)


def test_ceiling_formula_inverts_the_agreement_of_two_independent_answers():
    p = np.array([0.5, 0.6, 0.8, 0.95, 1.0])
    a = p**2 + (1 - p) ** 2
    np.testing.assert_allclose(ceiling_from_agreement(a), np.maximum(p, 1 - p))
    assert ceiling_from_agreement(0.3) == 0.5


def test_planted_agreement_is_recovered_and_persistent_taste_separates_retest_from_between():
    crowd = PlantedCrowd(
        items=600,
        workers=60,
        answers_per_item=6,
        repeat_share=0.4,
        idiosyncrasy_sd=1.2,
        difficulty_share=0.5,
        accuracy=(0.6, 0.95),
        seed=11,
    )
    choices, truth = planted_choices(crowd)
    row = agreement(choices, bootstrap=400, seed=1).table.set_index("group").loc["all"]
    assert row["test_retest"] == pytest.approx(truth["expected_test_retest"], abs=0.03)
    assert row["between"] == pytest.approx(truth["expected_between"], abs=0.02)
    assert row["test_retest_low"] <= truth["expected_test_retest"] <= row["test_retest_high"]
    assert row["between_low"] <= truth["expected_between"] <= row["between_high"]
    assert truth["expected_test_retest"] > truth["expected_between"] + 0.03
    assert row["test_retest"] > row["between"]
    # The between-subject ceiling is an upper bound on the planted Bayes rate (Jensen), and close to it.
    assert row["ceiling"] >= truth["ceiling"] - 0.01
    assert row["ceiling"] - truth["ceiling"] < 0.05


def test_ceiling_equals_the_bayes_rate_when_items_are_equally_hard():
    choices, truth = planted_choices(PlantedCrowd(items=500, workers=40, answers_per_item=6, accuracy=(0.8, 0.8)))
    assert truth["ceiling"] == pytest.approx(0.8)
    row = agreement(choices, bootstrap=300).table.set_index("group").loc["all"]
    assert row["ceiling"] == pytest.approx(0.8, abs=0.02)
    assert row["ceiling_low"] <= 0.8 <= row["ceiling_high"]


def test_left_clickers_are_inconsistent_on_swapped_repeats():
    crowd = PlantedCrowd(items=100, workers=10, answers_per_item=3, spammer_share=1.0, spammer_kind="left")
    choices, truth = planted_choices(PlantedCrowd(**{**crowd.__dict__, "repeat_share": 1.0}))
    assert (choices["chosen_side"] == "left").all()
    row = agreement(choices, bootstrap=0).table.set_index("group").loc["all"]
    assert truth["expected_test_retest"] == 0.0
    assert row["test_retest"] == 0.0


def test_the_bootstrap_never_pairs_a_subject_with_its_own_copy():
    rows = [answer("W" + "1" * 16, 200_001), answer("W" + "2" * 16, 200_002)]
    row = agreement(choices_frame(rows), bootstrap=200, seed=3).table.set_index("group").loc["all"]
    # In every draw the two answers disagree, or one subject is drawn twice (and is not paired with itself).
    assert row["between"] == 0.0
    assert row["between_low"] == row["between_high"] == 0.0


def test_groups_per_direction_and_condition():
    choices, _ = planted_choices(PlantedCrowd(items=80, workers=12, answers_per_item=3, seed=2))
    other, _ = planted_choices(PlantedCrowd(items=80, workers=12, answers_per_item=3, seed=3, experiment_id=2))
    other["direction"] = "M2V"
    both = choices_frame([*choices.to_dict("records"), *other.to_dict("records")])
    table = agreement(both, bootstrap=0).table
    assert list(table["group"]) == ["all", "M2V none", "V2M none"]
    assert table.set_index("group").loc["all", "answers"] == len(both)


def test_bad_input_is_refused_with_the_column_named():
    choices, _ = planted_choices(PlantedCrowd(items=10, workers=5, answers_per_item=2))
    with pytest.raises(ValueError, match="chosen_id"):
        aligned_answers(choices.drop(columns=["chosen_id"]))
    broken = choices.copy()
    broken.loc[0, "chosen_id"] = 999
    with pytest.raises(ValueError, match="neither left_id nor right_id"):
        aligned_answers(broken)
    with pytest.raises(ValueError, match="group_by"):
        agreement(choices, group_by=("worker_id",))


def test_cli_prints_the_ceiling_and_writes_the_table_and_json(tmp_path, capsys):
    choices, truth = planted_choices(PlantedCrowd(items=200, workers=30, answers_per_item=5, repeat_share=0.3))
    write_export(
        tmp_path / "export",
        tables={"choices": choices},
        provenance={"source": "planted crowd", "experiments": [{"id": 1, "slug": "p", "kind": "2afc", "seed": 0}]},
        parquet=False,
    )
    out = tmp_path / "out"
    assert main(["agreement", str(tmp_path / "export"), "--out", str(out), "--bootstrap", "50", "--no-clean"]) == 0
    assert "no model can be right about single human answers more often than" in capsys.readouterr().out
    ceiling = json.loads((out / "human_ceiling.json").read_text())
    assert ceiling["low"] <= ceiling["accuracy"] <= ceiling["high"]
    assert ceiling["accuracy"] == pytest.approx(truth["ceiling"], abs=0.05)
    assert (out / "agreement.csv").read_text().startswith("group,")
    assert main(["agreement", str(tmp_path / "missing")]) == 2
    assert main(["agreement", str(tmp_path / "export"), "--bootstrap", "0", "--ceiling-group", "M2V GR"]) == 2
    assert "no agreement group 'M2V GR' (groups: 'all')" in capsys.readouterr().err


def preference_answer(worker: str, query: int, first_chosen: bool, *, first_left: bool = True, n: int = 0):
    """A GR answer to (query: G = excerpt 200_001, R = 200_002)."""
    left, right = (200_001, 200_002) if first_left else (200_002, 200_001)
    chosen_left = first_chosen == first_left
    return ChoiceRowFactory(
        worker_id=worker,
        condition="GR",
        query_id=query,
        left_id=left,
        right_id=right,
        left_kind="G" if first_left else "R",
        right_kind="R" if first_left else "G",
        chosen_side="left" if chosen_left else "right",
        trial_index=n,
    )


def test_model_accuracy_counts_human_answers_matching_the_models_pick_next_to_the_ceiling():
    from analysis.agreement import ceiling_comparison, model_accuracy
    from analysis.preference import preference_trials

    rows = [
        # query 1: three subjects prefer G, one R (the second shown mirrored); query 2: 1 G, 1 R.
        preference_answer("W" + "1" * 16, 1, True),
        preference_answer("W" + "2" * 16, 1, True, first_left=False),
        preference_answer("W" + "3" * 16, 1, True),
        preference_answer("W" + "4" * 16, 1, False),
        preference_answer("W" + "1" * 16, 2, True, n=1),
        preference_answer("W" + "2" * 16, 2, False, n=1),
    ]
    trials = preference_trials(choices_frame(rows))
    machine = pd.DataFrame(
        {
            "direction": "V2M",
            "condition": "GR",
            "query_id": [1, 2],
            "first_id": 200_001,
            "second_id": 200_002,
            "model": "vmnet",
            "first": [True, False],  # prefers G on query 1, R on query 2
        }
    )
    accuracy = model_accuracy(trials, machine).set_index("group")
    # Query 1: 3 of 4 answers chose G; query 2: 1 of 2 chose R -> 4 of 6.
    assert accuracy.loc["V2M GR", "correct"] == 4 and accuracy.loc["V2M GR", "answers"] == 6
    assert accuracy.loc["all", "accuracy"] == pytest.approx(4 / 6)
    table = ceiling_comparison(agreement(trials, bootstrap=0), accuracy.reset_index()).set_index("group")
    # Between pairs: query 1 has 3 agreeing of 6, query 2 none of 1 -> A = 3/7, below 1/2: ceiling 1/2.
    assert table.loc["all", "between"] == pytest.approx(3 / 7)
    assert table.loc["all", "ceiling"] == 0.5
    assert table.loc["all", "accuracy"] == pytest.approx(4 / 6)
    assert np.isnan(table.loc["all", "share_of_margin"])  # no margin above chance to share


def test_ceiling_figure_draws_one_bar_per_group_and_a_point_per_model_and_group():
    from analysis.crowd_figures import ceiling_figure

    comparison = pd.DataFrame(
        {
            "group": ["all", "all", "V2M GR", "V2M GR"],
            "ceiling": [0.7, 0.7, 0.8, 0.8],
            "ceiling_low": [0.65, 0.65, 0.75, 0.75],
            "ceiling_high": [0.75, 0.75, 0.85, 0.85],
            "model": ["m1", "m2", "m1", "m2"],
            "accuracy": [0.55, 0.6, 0.52, 0.58],
            "accuracy_low": [0.5, 0.55, 0.47, 0.53],
            "accuracy_high": [0.6, 0.65, 0.57, 0.63],
        }
    )
    figure = ceiling_figure(comparison)
    axes = figure.axes[0]
    bars = [patch.get_height() for patch in axes.patches]
    assert bars == pytest.approx([70, 80])
    points = [line for line in axes.lines if line.get_marker() == "o"]
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in points])
    assert sorted(np.round(values, 6)) == [52, 55, 58, 60]
