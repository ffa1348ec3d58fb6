"""Column contract of an export (docs/export-format.md): the one definition every writer and reader uses.

Each table is an ordered mapping column -> logical type. The logical types are
``str``, ``int`` (nullable integer), ``float``, ``bool`` (nullable boolean) and ``timestamp``
(UTC, millisecond precision). The platform's exporter (experiments), the analysis loader and
simulator, and training's reader and synthetic writer all take the columns from here, so none can
drift from another; tests check this module against the tables in the markdown document.

Plain Python only (no Django, no pandas): ``experiments`` and ``training`` import it too.
"""

from __future__ import annotations

from datetime import UTC, datetime

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

SORT_KEYS = ("experiment_id", "assignment_id", "trial_index")

RATING_MIN, RATING_MAX = 1, 7
DIRECTIONS = ("V2M", "M2V")
CONDITIONS = ("GR", "GS", "SR")
PLAIN_CONDITION = "none"


def format_timestamp(value: datetime | None) -> str:
    """A timestamp cell: ISO 8601 in UTC, millisecond precision, ``Z`` suffix; ``None`` -> empty cell."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
