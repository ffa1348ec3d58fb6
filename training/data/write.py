"""Write an export directory in the documented format (for synthetic data sets and tests).

Callers give the columns that matter to training; every other documented column is filled with a
neutral value, so the files pass any reader of docs/export-format.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analysis import schema
from training.features.cache import atomic_write_bytes

_STIMULUS_DEFAULTS = {"start_s": 0.0, "seed": 0, "ground_truth_id": pd.NA, "source_file": ""}
_CHOICE_DEFAULTS = {
    "condition": "none",
    "query_label": "",
    "left_label": "",
    "right_label": "",
    "left_kind": "",
    "right_kind": "",
    "left_pairing_id": 0,
    "right_pairing_id": 0,
    "search_source": "",
    "search_rank": pd.NA,
    "chosen_kind": "",
    "first_preferred": "",
    "rt_ms": 1500,
    "play_count": 1,
    "is_catch": False,
    "catch_passed": "",
}


def _csv_text(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_export(
    directory: str | Path, *, stimuli: pd.DataFrame, choices: pd.DataFrame, source: str, simulation: dict | None = None
) -> Path:
    """Write manifest.json, choices.csv, stimuli.csv and an empty ratings.csv into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stimuli = stimuli.copy()
    for column, default in _STIMULUS_DEFAULTS.items():
        if column not in stimuli:
            stimuli[column] = default
    stimuli["ground_truth_id"] = stimuli["ground_truth_id"].astype("Int64")
    choices = choices.copy()
    for column, default in _CHOICE_DEFAULTS.items():
        if column not in choices:
            choices[column] = default
        elif default is not pd.NA:
            choices[column] = choices[column].fillna(default)
    choices["is_catch"] = choices["is_catch"].astype(bool)
    choices["chosen_id"] = choices["left_id"].where(choices["chosen_side"] == "left", choices["right_id"])
    stamp = schema.format_timestamp(now)
    for column in ("presented_at", "answered_at", "received_at"):
        if column not in choices:
            choices[column] = stamp
    choices = choices[list(schema.CHOICES)].sort_values(list(schema.SORT_KEYS))
    experiments = sorted({int(e) for e in choices["experiment_id"]})
    manifest = {
        "format": schema.FORMAT_NAME,
        "format_version": schema.FORMAT_VERSION,
        "exported_at": stamp,
        "source": source,
        "experiments": [
            {"id": e, "slug": f"synthetic-{e}", "kind": "2afc", "seed": 0, "config": {}} for e in experiments
        ],
        "row_counts": {"ratings": 0, "choices": len(choices), "stimuli": len(stimuli)},
        "pseudonymised": True,
        "simulation": simulation,
    }
    atomic_write_bytes(directory / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    atomic_write_bytes(directory / "stimuli.csv", _csv_text(stimuli[list(schema.STIMULI)]))
    atomic_write_bytes(directory / "choices.csv", _csv_text(choices))
    atomic_write_bytes(directory / "ratings.csv", (",".join(schema.RATINGS) + "\n").encode("utf-8"))
    return directory
