"""Column contract of an export (docs/export-format.md), shared by the loader and the simulator.

Each table is an ordered mapping column -> logical type. The logical types are
``str``, ``int`` (nullable integer), ``float``, ``bool`` (nullable boolean) and ``timestamp``
(UTC, millisecond precision). Keeping one definition here means the simulator cannot drift from
what the loader expects, and the tests check both against the tables in the markdown document.
"""

from __future__ import annotations

FORMAT_NAME = "mvfit-export"
FORMAT_VERSION = 1

TIMESTAMPS = {"presented_at": "timestamp", "answered_at": "timestamp", "received_at": "timestamp"}

RATINGS: dict[str, str] = {
    "worker_id": "str",
    "assignment_id": "int",
    "experiment_id": "int",
    "trial_index": "int",
    "pairing_id": "int",
    "video_id": "int",
    "scene_label": "str",
    "clip_id": "int",
    "clip_start_s": "float",
    "clip_duration_s": "float",
    "music_id": "int",
    "genre_label": "str",
    "excerpt_id": "int",
    "excerpt_start_s": "float",
    "excerpt_duration_s": "float",
    "rating": "int",
    "rt_ms": "int",
    "play_count": "int",
    "is_catch": "bool",
    "catch_passed": "bool",
    **TIMESTAMPS,
}

_OPTION = {
    "id": "int",
    "label": "str",
    "source_id": "int",
    "kind": "str",
    "pairing_id": "int",
}

CHOICES: dict[str, str] = {
    "worker_id": "str",
    "assignment_id": "int",
    "experiment_id": "int",
    "trial_index": "int",
    "direction": "str",
    "condition": "str",
    "query_id": "int",
    "query_label": "str",
    "query_source_id": "int",
    **{f"left_{key}": kind for key, kind in _OPTION.items()},
    **{f"right_{key}": kind for key, kind in _OPTION.items()},
    "search_source": "str",
    "search_rank": "int",
    "chosen_side": "str",
    "chosen_id": "int",
    "chosen_kind": "str",
    "first_preferred": "bool",
    "rt_ms": "int",
    "play_count": "int",
    "is_catch": "bool",
    "catch_passed": "bool",
    **TIMESTAMPS,
}

STIMULI: dict[str, str] = {
    "item_kind": "str",
    "item_id": "int",
    "source_id": "int",
    "label": "str",
    "start_s": "float",
    "duration_s": "float",
    "seed": "int",
    "ground_truth_id": "int",
    "file": "str",
    "source_file": "str",
}

TABLES: dict[str, dict[str, str]] = {"ratings": RATINGS, "choices": CHOICES, "stimuli": STIMULI}

RATING_MIN, RATING_MAX = 1, 7
DIRECTIONS = ("V2M", "M2V")
CONDITIONS = ("GR", "GS", "SR")
PLAIN_CONDITION = "none"
