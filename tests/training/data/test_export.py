from __future__ import annotations

import pandas as pd
import pytest

from exportformat import schema
from tests.support.export_doc import documented_columns
from tests.training.fakes import planted_feature_export
from training.data.export import CHOICE_COLUMNS, STIMULUS_COLUMNS, read_export
from training.data.items import preference_items, retrieval_pairs
from training.errors import TrainingInputError


def test_reads_a_written_export_and_drops_catch_trials(tmp_path):
    planted_feature_export(tmp_path, n_videos=6, trials_per_video=2)
    export = read_export(tmp_path)
    assert export.dropped_catch_trials == 1
    assert len(export.choices) == 12
    items = preference_items(export)
    assert list(items.columns[:7]) == ["direction", "query_kind", "query_id", "option_kind", "a_id", "b_id", "label"]
    assert set(items["label"]) <= {0, 1}
    assert all(len(v) == 1 for v in items["videos"])


def test_label_says_whether_the_left_option_was_chosen(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=3)
    export = read_export(tmp_path)
    items = preference_items(export)
    chosen_left = export.choices["chosen_id"].to_numpy() == export.choices["left_id"].to_numpy()
    assert (items["label"].to_numpy() == chosen_left.astype(int)).all()


def test_m2v_items_carry_both_option_videos(tmp_path):
    planted_feature_export(tmp_path, n_videos=5, trials_per_video=1, m2v_trials=2)
    items = preference_items(read_export(tmp_path), direction="M2V")
    assert (items["query_kind"] == "excerpt").all()
    assert all(len(v) == 2 for v in items["videos"])


def test_missing_direction_is_a_clear_error(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=1)
    with pytest.raises(TrainingInputError, match="no non-catch M2V choices"):
        preference_items(read_export(tmp_path), direction="M2V")


def test_missing_column_names_the_column(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=1)
    choices = pd.read_csv(tmp_path / "choices.csv").drop(columns=["chosen_side"])
    choices.to_csv(tmp_path / "choices.csv", index=False)
    with pytest.raises(TrainingInputError, match="chosen_side"):
        read_export(tmp_path)


def test_inconsistent_chosen_id_names_the_line(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=1)
    choices = pd.read_csv(tmp_path / "choices.csv", dtype=str, keep_default_na=False)
    choices.loc[1, "chosen_id"] = "99999"
    choices.to_csv(tmp_path / "choices.csv", index=False)
    with pytest.raises(TrainingInputError, match=r"line\(s\) \[3\]"):
        read_export(tmp_path)


def test_unknown_stimulus_reference_is_reported(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=1)
    stimuli = pd.read_csv(tmp_path / "stimuli.csv", dtype=str, keep_default_na=False)
    stimuli = stimuli[~((stimuli["item_kind"] == "clip") & (stimuli["item_id"] == "2"))]
    stimuli.to_csv(tmp_path / "stimuli.csv", index=False)
    with pytest.raises(TrainingInputError, match="clip 2"):
        read_export(tmp_path)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(TrainingInputError, match="does not exist"):
        read_export(tmp_path / "nope")


def test_ground_truth_pairs_come_from_stimuli(tmp_path):
    planted_feature_export(tmp_path, n_videos=5, trials_per_video=1, ground_truth=True)
    pairs = retrieval_pairs(read_export(tmp_path))
    assert sorted(pairs["clip_id"]) == [1, 2, 3, 4, 5]
    assert (pairs["excerpt_id"] == pairs["clip_id"] + 1000).all()
    assert (pairs["video"] == pairs["clip_id"] + 99).all()


def test_without_music_videos_ground_truth_pairs_explain_the_alternative(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=1)
    with pytest.raises(TrainingInputError, match="--pairs chosen"):
        retrieval_pairs(read_export(tmp_path))


def test_chosen_pairs_link_query_and_chosen_option(tmp_path):
    planted_feature_export(tmp_path, n_videos=4, trials_per_video=2)
    export = read_export(tmp_path)
    pairs = retrieval_pairs(export, source="chosen")
    expected = set(zip(export.choices["query_id"], export.choices["chosen_id"], strict=True))
    assert set(zip(pairs["clip_id"], pairs["excerpt_id"], strict=True)) == expected


def test_the_reader_asks_only_for_documented_columns():
    assert set(CHOICE_COLUMNS) <= set(schema.CHOICES)
    assert set(STIMULUS_COLUMNS) <= set(schema.STIMULI)


def test_the_synthetic_writer_writes_the_documented_columns_in_order(tmp_path):
    planted_feature_export(tmp_path, n_videos=3, trials_per_video=1)
    for table in schema.TABLES:
        header = (tmp_path / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == documented_columns(table), table
