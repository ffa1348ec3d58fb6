"""Public analysis functions refuse bad input with errors that name the function, column and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.bradley_terry import comparisons
from analysis.calibration import fit_mixed_model, zscore_by_worker
from analysis.cleaning import clean
from analysis.preference import clustered_share_table, preference_trials, share_table
from analysis.profiles import genre_profiles
from analysis.reliability import krippendorff_alpha, loo_worker_correlation, rating_matrix, split_half
from analysis.validation import DUPLICATE_KEYS, AnalysisInputError, validate_frame
from exportformat import schema
from tests.factories.analysis import ChoiceRowFactory, RatingRowFactory, choices_frame, ratings_frame


def crowd(seed: int = 0) -> pd.DataFrame:
    """12 workers rate 24 pairings (4 scenes x 6 genres; 3 videos, 6 songs) with integer 1..7 ratings."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(12):
        for pairing in range(24):
            video, music = pairing % 4, pairing // 4
            rating = int(np.clip(np.rint(4 + (video - 1.5) * (music - 2.5) / 3 + rng.normal(0, 1)), 1, 7))
            rows.append(
                RatingRowFactory(
                    worker_id=f"W{w:016x}",
                    assignment_id=w,
                    pairing_id=pairing + 1,
                    video_id=video + 1,
                    scene_label=f"scene{video}",
                    music_id=music + 1,
                    genre_label=f"genre{music}",
                    rating=rating,
                )
            )
    return ratings_frame(rows)


RATING_FUNCTIONS = {
    "fit_mixed_model": lambda frame: fit_mixed_model(frame, max_rows=None),
    "zscore_by_worker": zscore_by_worker,
    "genre_profiles": lambda frame: genre_profiles(frame, value="rating"),
    "split_half": lambda frame: split_half(frame, n_splits=5),
    "krippendorff_alpha": lambda frame: krippendorff_alpha(frame, level="interval"),
    "loo_worker_correlation": loo_worker_correlation,
    "rating_matrix": rating_matrix,
}


@pytest.mark.parametrize("name", RATING_FUNCTIONS)
@pytest.mark.parametrize("bad", [0, 8])
def test_ratings_outside_the_scale_are_refused(name, bad):
    frame = crowd()
    frame.loc[5, "rating"] = bad
    with pytest.raises(
        AnalysisInputError, match=rf"(?s){name}: .*column 'rating' must be 1 … 7; bad value\(s\) \[{bad}\]"
    ):
        RATING_FUNCTIONS[name](frame)


@pytest.mark.parametrize("name", RATING_FUNCTIONS)
def test_text_and_fractional_ratings_are_refused_with_a_message(name):
    frame = crowd().astype({"rating": object})
    frame.loc[3, "rating"] = "5"
    frame.loc[4, "rating"] = 3.5
    with pytest.raises(AnalysisInputError) as caught:
        RATING_FUNCTIONS[name](frame)
    message = str(caught.value)
    assert "column 'rating' must be a number (text is not converted" in message and "['5'] in row(s) 3" in message
    assert "must be a whole number; bad value(s) [3.5] in row(s) 4" in message


@pytest.mark.parametrize("name", RATING_FUNCTIONS)
def test_duplicated_rows_are_refused_or_removed_on_request(name):
    frame = crowd()
    doubled = pd.concat([frame, frame.iloc[:40]], ignore_index=True)
    with pytest.raises(AnalysisInputError, match=rf"{name}: 40 duplicated ratings row\(s\).*duplicates='drop'"):
        RATING_FUNCTIONS[name](doubled)


def test_dropping_duplicates_restores_the_result_on_clean_data():
    frame = crowd()
    doubled = pd.concat([frame, frame.iloc[:100]], ignore_index=True)
    assert krippendorff_alpha(doubled, level="interval", duplicates="drop") == pytest.approx(
        krippendorff_alpha(frame, level="interval")
    )
    z = zscore_by_worker(doubled, duplicates="drop")
    assert z.iloc[: len(frame)].to_numpy() == pytest.approx(zscore_by_worker(frame).to_numpy(), nan_ok=True)
    assert z.iloc[len(frame) :].isna().all()  # the dropped repeats get no z-score
    with pytest.raises(ValueError, match="duplicates must be one of"):
        krippendorff_alpha(frame, level="interval", duplicates="keep")


@pytest.mark.parametrize("name", RATING_FUNCTIONS)
def test_a_missing_column_is_named(name):
    column = {
        "fit_mixed_model": "scene_label",
        "genre_profiles": "video_id",
        "rating_matrix": "received_at",
        "zscore_by_worker": "worker_id",
    }.get(name, "pairing_id")
    frame = crowd().drop(columns=[column])
    with pytest.raises(AnalysisInputError, match=rf"{name}: missing column\(s\) '{column}' in the ratings table"):
        RATING_FUNCTIONS[name](frame)


def test_an_empty_required_cell_is_named():
    frame = crowd().astype({"worker_id": object})
    frame.loc[7, "worker_id"] = None
    with pytest.raises(AnalysisInputError, match=r"column 'worker_id' is empty in row\(s\) 7"):
        zscore_by_worker(frame)


def test_choice_functions_validate_too():
    rows = [
        ChoiceRowFactory(condition="GS", query_id=1, left_kind="G", right_kind="S"),
        ChoiceRowFactory(condition="GS", query_id=1, left_kind="G", right_kind="S"),  # the same answer again
    ]
    frame = choices_frame(rows)
    with pytest.raises(AnalysisInputError, match="preference_trials: 1 duplicated choices row"):
        preference_trials(frame)
    assert len(preference_trials(frame, duplicates="drop")) == 1
    with pytest.raises(AnalysisInputError, match="comparisons: 1 duplicated choices row"):
        comparisons(frame)
    bad = frame.iloc[:1].astype({"direction": object})
    bad.loc[0, "direction"] = "sideways"
    with pytest.raises(AnalysisInputError, match=r"column 'direction' must be one of `V2M`, `M2V`; bad value\(s\)"):
        preference_trials(bad)
    trials = pd.DataFrame({"worker_id": ["Wa"], "condition": ["GS"], "direction": ["V2M"], "first": ["yes"]})
    with pytest.raises(AnalysisInputError, match="column 'first' must be true or false"):
        share_table(trials)
    with pytest.raises(AnalysisInputError, match=r"clustered_share_table: missing column\(s\) 'first'"):
        clustered_share_table(trials.drop(columns=["first"]))


def test_clean_counts_out_of_range_ratings_but_refuses_text():
    frame = crowd()
    frame.loc[0, "rating"] = 9
    result = clean(frame, choices_frame([]))
    invalid = result.exclusions.set_index(["table", "rule"]).loc[("ratings", "invalid"), "rows_removed"]
    assert invalid == 1
    text = crowd().astype({"rating": object})
    text.loc[2, "rating"] = "seven"
    with pytest.raises(AnalysisInputError, match=r"(?s)clean: .*column 'rating' must be a number.*\['seven'\]"):
        clean(text, choices_frame([]))


def test_rules_come_from_the_export_schema():
    # one home: the validator's range is the schema's, and the duplicate key is the cleaning rule's
    frame = pd.DataFrame({"worker_id": ["Wa"], "rating": [schema.RATING_MAX]})
    assert validate_frame(frame, table="ratings", columns=["worker_id", "rating"], function="f") is frame
    frame.loc[0, "rating"] = schema.RATING_MAX + 1
    with pytest.raises(AnalysisInputError, match=f"must be {schema.RATING_MIN} … {schema.RATING_MAX}"):
        validate_frame(frame, table="ratings", columns=["rating"], function="f")
    assert set(DUPLICATE_KEYS) == {"ratings", "choices", "montage_ratings", "montage_choices"}
    assert all(set(key) <= set(schema.TABLES[table]) for table, key in DUPLICATE_KEYS.items())
    with pytest.raises(AnalysisInputError, match="expected a pandas DataFrame"):
        validate_frame([1, 2], table="ratings", columns=["rating"], function="f")


@settings(max_examples=60, deadline=None)
@given(ratings=st.lists(st.integers(-3, 12), min_size=1, max_size=30))
def test_exactly_the_ratings_outside_the_scale_are_refused(ratings):
    frame = pd.DataFrame({"worker_id": [f"W{i}" for i in range(len(ratings))], "rating": ratings})
    outside = [r for r in ratings if not schema.RATING_MIN <= r <= schema.RATING_MAX]
    if outside:
        with pytest.raises(AnalysisInputError, match=r"must be 1 … 7") as caught:
            validate_frame(frame, table="ratings", columns=["worker_id", "rating"], function="f")
        assert f"bad value(s) {list(dict.fromkeys(outside))[:5]}" in str(caught.value)  # first five, in order
    else:
        assert validate_frame(frame, table="ratings", columns=["worker_id", "rating"], function="f") is frame
