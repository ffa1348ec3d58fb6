"""The participants summary (analysis/participants.py) and the report's Participants section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.participants import summarise
from analysis.validation import AnalysisInputError


def table(n=6, **overrides):
    rows = {
        "participant_id": np.arange(1, n + 1),
        "entry_channel": ["mturk", "mturk", "link", "prolific", "panel", "mturk"][:n],
        "device_class": ["desktop", "mobile", "desktop", "desktop", "tablet", "desktop"][:n],
        "browser_family": ["Chrome", "Safari", "Firefox", "Chrome", "Safari", "Edge"][:n],
        "headphone_screen": ["passed", "passed", "failed", "passed", "incomplete", "passed"][:n],
        "screened_out_reason": [None, None, "headphones", None, None, None][:n],
        "sound_check_passed": [True] * n,
        "assignments_completed": [1, 1, 0, 2, 0, 1][:n],
        "total_time_s": [600.0, 900.0, np.nan, 1200.0, np.nan, 300.0][:n],
        "active_time_s": [300.0, 400.0, np.nan, 800.0, np.nan, 100.0][:n],
        "playback_errors": [0, 1, 0, 0, 0, 2][:n],
        "playback_stalls": [1, 0, 0, 0, 0, 3][:n],
        "focus_changes": [0, 2, 0, 1, 0, 0][:n],
    }
    return pd.DataFrame(rows | overrides)


def test_the_summary_counts_outcomes_devices_screens_and_time():
    answers = pd.DataFrame(
        {"item": ["listening_device", "listening_device", "age_band"], "value": ["Headphones", "Earbuds", "25-34"]}
    )
    summary = summarise(table(), answers)
    overview = dict(zip(summary.overview["quantity"], summary.overview["value"], strict=True))
    assert overview["participants"] == 6 and overview["headphone_screen passed".replace("_", " ")] == "80% of 5"
    assert overview["playback errors / stalls"] == "3 / 4"
    outcomes = dict(zip(summary.outcomes["outcome"], summary.outcomes["participants"], strict=True))
    assert outcomes == {"completed": 4, "screened out (headphones)": 1, "entered, did not finish": 1}
    assert summary.devices["participants"].sum() == 6
    median = summary.time_on_task.set_index("minutes").loc["session (entry to completion)", "median"]
    assert median == pytest.approx(12.5)  # median of 10, 15, 20, 5 minutes
    assert set(summary.listening["listening device"]) == {"Headphones", "Earbuds"}


def test_a_table_without_the_documented_columns_is_a_clear_error():
    with pytest.raises(AnalysisInputError, match="missing column"):
        summarise(table().drop(columns=["device_class"]))
    with pytest.raises(AnalysisInputError, match="headphone_screen"):
        summarise(table(headphone_screen=["maybe"] * 6))
