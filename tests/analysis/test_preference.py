"""The preference test: Table IV shares, intervals, tests, subject level, and the machine row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.preference import (
    binomial_p_value,
    load_machine_distances,
    machine_share_table,
    preference_trials,
    share_table,
    subject_shares,
    subject_tests,
    table_iv,
)
from tests.factories.analysis import ChoiceRowFactory, choices_frame


def test_binomial_p_value_by_hand():
    # P(X >= 9) under Bin(10, 1/2) = 11/1024; two-sided doubles it.
    assert binomial_p_value(9, 10) == pytest.approx(22 / 1024)
    assert binomial_p_value(5, 10) == 1.0


def preference_rows(worker: str, condition: str, direction: str, firsts: list[bool], start: int = 0):
    first_kind, second_kind = condition[0], condition[1]
    rows = []
    for i, first in enumerate(firsts):
        left_first = i % 2 == 0  # alternate sides; the kind decides, not the side
        rows.append(
            ChoiceRowFactory(
                worker_id=worker,
                condition=condition,
                direction=direction,
                query_id=start + i,
                left_kind=first_kind if left_first else second_kind,
                right_kind=second_kind if left_first else first_kind,
                chosen_side=("left" if left_first == first else "right"),
            )
        )
    return rows


def test_share_table_counts_first_option_preferences_per_condition_and_direction():
    rows = preference_rows("Wa", "GR", "V2M", [True, True, True, False])
    rows += preference_rows("Wa", "GR", "M2V", [True, False], start=100)
    rows += preference_rows("Wa", "SR", "V2M", [False, False, True], start=200)
    rows.append(ChoiceRowFactory(worker_id="Wa", condition="GR", is_catch=True, catch_passed=True, query_id=999))
    trials = preference_trials(choices_frame(rows))
    table = share_table(trials).set_index(["condition", "direction"])
    assert table.loc[("GR", "V2M"), ["n", "k"]].tolist() == [4, 3]
    assert table.loc[("GR", "M2V"), ["n", "k"]].tolist() == [2, 1]
    assert table.loc[("GR", "total"), ["n", "k"]].tolist() == [6, 4]
    assert table.loc[("SR", "V2M"), "share"] == pytest.approx(1 / 3)
    assert table.loc[("GS", "total"), "n"] == 0 and np.isnan(table.loc[("GS", "total"), "share"])
    assert table.loc[("GR", "V2M"), "p_binomial"] == pytest.approx(binomial_p_value(3, 4))
    wide = table_iv(share_table(trials))
    assert list(wide.columns) == ["V2M", "M2V", "total"]
    assert wide.loc[("Human", "GR"), "V2M"].startswith("75.00 [")


def test_subject_level_t_test_by_hand():
    rows = []
    for worker, share in (("Wa", [1] * 6 + [0] * 4), ("Wb", [1] * 8 + [0] * 2), ("Wc", [1] * 7 + [0] * 3)):
        rows += preference_rows(worker, "GS", "V2M", [bool(x) for x in share])
    per_subject = subject_shares(preference_trials(choices_frame(rows)))
    tests = subject_tests(per_subject).set_index(["condition", "direction"])
    row = tests.loc[("GS", "V2M")]
    # shares 0.6, 0.8, 0.7: mean 0.7, SD 0.1, t = 0.2 / (0.1 / sqrt 3)
    assert row["subjects"] == 3 and row["mean_share"] == pytest.approx(0.7)
    assert row["t"] == pytest.approx(0.2 / (0.1 / np.sqrt(3)))


def machine_file(tmp_path, text):
    path = tmp_path / "machine.csv"
    path.write_text(text)
    return path


def test_machine_prefers_the_option_closer_to_the_query(tmp_path):
    rows = [
        # V2M: query clip 11, G excerpt 21 (d 0.2) vs R excerpt 22 (d 0.5): machine prefers G.
        ChoiceRowFactory(
            direction="V2M", condition="GR", query_id=11, left_id=22, left_kind="R", right_id=21, right_kind="G"
        ),
        # M2V: query excerpt 21, G clip 11 (d 0.2) vs R clip 12 (d 0.1): machine prefers R.
        ChoiceRowFactory(
            direction="M2V", condition="GR", query_id=21, left_id=11, left_kind="G", right_id=12, right_kind="R"
        ),
        # Same V2M question seen by another subject: counted once.
        ChoiceRowFactory(
            worker_id="Wother",
            direction="V2M",
            condition="GR",
            query_id=11,
            left_id=22,
            left_kind="R",
            right_id=21,
            right_kind="G",
        ),
        # Missing distance for excerpt 23: skipped.
        ChoiceRowFactory(
            direction="V2M", condition="SR", query_id=11, left_id=23, left_kind="S", right_id=22, right_kind="R"
        ),
    ]
    distances = load_machine_distances(
        machine_file(tmp_path, "clip_id,excerpt_id,distance\n11,21,0.2\n11,22,0.5\n12,21,0.1\n")
    )
    table, notes = machine_share_table(preference_trials(choices_frame(rows)), distances)
    table = table.set_index(["condition", "direction"])
    assert table.loc[("GR", "V2M"), ["n", "k"]].tolist() == [1, 1]
    assert table.loc[("GR", "M2V"), ["n", "k"]].tolist() == [1, 0]
    assert table.loc[("GR", "total"), "share"] == 0.5
    assert (table["subject"] == "Machine").all()
    assert notes == ["Machine: 1 question(s) without distances for both options were skipped."]


def test_several_models_give_several_machine_rows(tmp_path):
    rows = [
        ChoiceRowFactory(
            direction="V2M", condition="GR", query_id=11, left_id=21, left_kind="G", right_id=22, right_kind="R"
        )
    ]
    distances = load_machine_distances(
        machine_file(tmp_path, "model,clip_id,excerpt_id,distance\nA,11,21,1\nA,11,22,2\nB,11,21,3\nB,11,22,2\n")
    )
    table, _ = machine_share_table(preference_trials(choices_frame(rows)), distances)
    shares = table[table["direction"] == "V2M"].set_index(["subject", "condition"])["share"]
    assert shares.loc[("A", "GR")] == 1.0 and shares.loc[("B", "GR")] == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clip,excerpt_id,distance\n1,2,0.5\n", "missing column"),
        ("clip_id,excerpt_id,distance\n1,2,0.5\n1,2,0.6\n", "duplicate"),
        ("clip_id,excerpt_id,distance\n1,2,\n", "without a distance"),
        ("clip_id,excerpt_id,distance\nx,2,0.5\n", "must be integers"),
    ],
)
def test_bad_machine_files_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_machine_distances(machine_file(tmp_path, text))


def test_plain_2afc_and_catch_trials_are_not_preference_trials():
    rows = [
        ChoiceRowFactory(condition="none", left_kind=None, right_kind=None),
        ChoiceRowFactory(condition="GR", is_catch=True, catch_passed=True),
        ChoiceRowFactory(condition="GS", left_kind="G", right_kind="S"),
    ]
    trials = preference_trials(choices_frame(rows))
    assert list(trials["condition"]) == ["GS"] and trials["first"].tolist() == [True]
    assert isinstance(trials, pd.DataFrame)
