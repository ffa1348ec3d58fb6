"""Row factories for export tables (plain dicts with every column of docs/export-format.md).

Tests build small, hand-checkable DataFrames from these: ``ratings_frame(RatingRowFactory.build_batch(...))``.
"""

from __future__ import annotations

import factory
import pandas as pd

from exportformat import empty_table, schema

T0 = pd.Timestamp("2026-11-22T20:00:00Z")


def _time(n: int, offset_ms: int = 0) -> pd.Timestamp:
    return T0 + pd.Timedelta(milliseconds=10_000 * n + offset_ms)


class RatingRowFactory(factory.DictFactory):
    worker_id = "W0000000000000001"
    assignment_id = 1
    experiment_id = 1
    trial_index = factory.Sequence(lambda n: n)
    pairing_id = factory.Sequence(lambda n: n + 1)
    video_id = 1
    scene_label = "beach"
    clip_id = factory.LazyAttribute(lambda row: 100_000 + row.video_id)
    clip_start_s = 1.0
    clip_duration_s = 5.0
    music_id = 1
    genre_label = "ambient"
    excerpt_id = factory.LazyAttribute(lambda row: 200_000 + row.music_id)
    excerpt_start_s = 30.0
    excerpt_duration_s = 5.0
    rating = 4
    rt_ms = 2_500
    play_count = 1
    is_catch = False
    catch_passed = None
    presented_at = factory.Sequence(lambda n: _time(n))
    answered_at = factory.Sequence(lambda n: _time(n, 8_000))
    received_at = factory.Sequence(lambda n: _time(n, 8_200))


class ChoiceRowFactory(factory.DictFactory):
    worker_id = "W00000000000000aa"
    assignment_id = 1
    experiment_id = 2
    trial_index = factory.Sequence(lambda n: n)
    direction = "V2M"
    condition = "GR"
    query_id = 100_001
    query_label = "beach"
    query_source_id = 1
    left_id = 200_001
    left_label = "ambient"
    left_source_id = 1
    left_kind = "G"
    left_pairing_id = 1
    right_id = 200_002
    right_label = "heavy metal"
    right_source_id = 2
    right_kind = "R"
    right_pairing_id = 2
    search_source = None
    search_rank = None
    chosen_side = "left"
    chosen_id = factory.LazyAttribute(lambda row: row.left_id if row.chosen_side == "left" else row.right_id)
    chosen_kind = factory.LazyAttribute(lambda row: row.left_kind if row.chosen_side == "left" else row.right_kind)
    first_preferred = factory.LazyAttribute(
        lambda row: (
            None
            if row.condition == schema.PLAIN_CONDITION
            else (row.left_kind if row.chosen_side == "left" else row.right_kind) == row.condition[0]
        )
    )
    rt_ms = 3_000
    play_count = 2
    is_catch = False
    catch_passed = None
    presented_at = factory.Sequence(lambda n: _time(n))
    answered_at = factory.Sequence(lambda n: _time(n, 9_000))
    received_at = factory.Sequence(lambda n: _time(n, 9_100))


def table(name: str, rows: list[dict]) -> pd.DataFrame:
    """Rows -> a DataFrame with the export's dtypes (like the loader returns)."""
    template = empty_table(name)
    if not rows:
        return template
    frame = pd.DataFrame(rows, columns=list(schema.TABLES[name]))
    for column in template.columns:
        frame[column] = frame[column].astype(template[column].dtype)
    return frame


def ratings_frame(rows: list[dict]) -> pd.DataFrame:
    return table("ratings", rows)


def choices_frame(rows: list[dict]) -> pd.DataFrame:
    return table("choices", rows)


class StimulusRowFactory(factory.DictFactory):
    item_kind = "clip"
    item_id = factory.Sequence(lambda n: n + 1)
    source_id = 1
    label = "beach"
    start_s = 1.0
    duration_s = 5.0
    seed = 7
    ground_truth_id = None
    file = factory.LazyAttribute(lambda row: f"/media/{row.item_kind}s/{row.item_id}.mp4")
    source_file = "/media/videos/1.mp4"


def stimuli_frame(rows: list[dict]) -> pd.DataFrame:
    return table("stimuli", rows)


class MontageChoiceRowFactory(factory.DictFactory):
    """A montage preference answer (format 3): an S montage of ``left_model`` against R, left chosen."""

    worker_id = "W00000000000000bb"
    assignment_id = 1
    experiment_id = 4
    trial_index = factory.Sequence(lambda n: n)
    song_id = 1
    left_montage_id = factory.Sequence(lambda n: 2 * n + 1)
    left_kind = "S"
    left_model = "seg-vmnet@1"
    right_montage_id = factory.Sequence(lambda n: 2 * n + 2)
    right_kind = "R"
    right_model = None
    chosen_side = "left"
    chosen_montage_id = factory.LazyAttribute(
        lambda row: row.left_montage_id if row.chosen_side == "left" else row.right_montage_id
    )
    rt_ms = 4_000
    play_count = 2
    is_catch = False
    catch_passed = None
    presented_at = factory.Sequence(lambda n: _time(n))
    answered_at = factory.Sequence(lambda n: _time(n, 9_000))
    received_at = factory.Sequence(lambda n: _time(n, 9_100))


class MontageRatingRowFactory(factory.DictFactory):
    worker_id = "W00000000000000bb"
    assignment_id = 2
    experiment_id = 4
    trial_index = factory.Sequence(lambda n: n)
    montage_id = factory.Sequence(lambda n: n + 1)
    song_id = 1
    kind = "S"
    model = "seg-vmnet@1"
    rating = 5
    rt_ms = 3_000
    play_count = 1
    is_catch = False
    catch_passed = None
    presented_at = factory.Sequence(lambda n: _time(n))
    answered_at = factory.Sequence(lambda n: _time(n, 8_000))
    received_at = factory.Sequence(lambda n: _time(n, 8_200))


def montage_choices_frame(rows: list[dict]) -> pd.DataFrame:
    return table("montage_choices", rows)


def montage_ratings_frame(rows: list[dict]) -> pd.DataFrame:
    return table("montage_ratings", rows)
