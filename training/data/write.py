"""Write an export directory in the documented format (for synthetic data sets and tests).

Callers give the columns that matter to training; every other documented column is filled with a
neutral value, and ``exportformat.write_export`` writes the files (no ratings: that table is empty).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import exportformat

_STIMULUS_DEFAULTS = {"start_s": 0.0, "seed": 0}
_CHOICE_DEFAULTS = {
    "condition": "none",
    "left_pairing_id": 0,
    "right_pairing_id": 0,
    "rt_ms": 1500,
    "play_count": 1,
    "is_catch": False,
}


def write_export(
    directory: str | Path, *, stimuli: pd.DataFrame, choices: pd.DataFrame, source: str, simulation: dict | None = None
) -> Path:
    """Write manifest.json, choices.csv, stimuli.csv and an empty ratings.csv into ``directory``."""
    stimuli = stimuli.copy()
    for column, default in _STIMULUS_DEFAULTS.items():
        stimuli[column] = stimuli[column].fillna(default) if column in stimuli else default
    choices = choices.copy()
    for column, default in _CHOICE_DEFAULTS.items():
        choices[column] = choices[column].fillna(default) if column in choices else default
    choices["chosen_id"] = choices["left_id"].where(choices["chosen_side"] == "left", choices["right_id"])
    now = datetime.now(UTC)
    for column in ("presented_at", "answered_at", "received_at"):
        if column not in choices:
            choices[column] = now
    choices = choices.sort_values(list(exportformat.schema.SORT_KEYS))
    experiments = sorted({int(e) for e in choices["experiment_id"]})
    return exportformat.write_export(
        directory,
        tables={"choices": choices, "stimuli": stimuli},
        provenance={
            "source": source,
            "experiments": [
                {"id": e, "slug": f"synthetic-{e}", "kind": "2afc", "seed": 0, "config": {}} for e in experiments
            ],
            "simulation": simulation,
        },
        parquet=False,
    ).directory
