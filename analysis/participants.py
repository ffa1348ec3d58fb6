"""Who took part: the participant-level tables of an export (``participants``, ``questionnaire``) summarised
for the report — channels, devices and browsers, the screens' outcomes, time on task, playback problems and
the questionnaire's listening devices. Pure pandas on the documented export format; no Django."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.validation import validate_frame

SUMMARY_COLUMNS = (
    "participant_id",
    "entry_channel",
    "device_class",
    "browser_family",
    "headphone_screen",
    "screened_out_reason",
    "sound_check_passed",
    "assignments_completed",
    "total_time_s",
    "active_time_s",
    "playback_errors",
    "playback_stalls",
    "focus_changes",
)


@dataclass(frozen=True)
class ParticipantSummary:
    overview: pd.DataFrame  # quantity -> value
    outcomes: pd.DataFrame  # how each participant's session ended, counted
    devices: pd.DataFrame  # device class x browser family, counted
    time_on_task: pd.DataFrame  # minutes: median and quartiles, total and active
    listening: pd.DataFrame | None  # the questionnaire's listening devices, counted (when asked)


def _outcome(row: pd.Series) -> str:
    if isinstance(row["screened_out_reason"], str) and row["screened_out_reason"]:
        return f"screened out ({row['screened_out_reason'].replace('_', ' ')})"
    if row["assignments_completed"] > 0:
        return "completed"
    return "entered, did not finish"


def summarise(participants: pd.DataFrame, questionnaire: pd.DataFrame | None = None) -> ParticipantSummary:
    """The summary of ``participants`` (and ``questionnaire``) tables as the export format defines them."""
    validate_frame(participants, table="participants", columns=SUMMARY_COLUMNS, function="summarise", duplicates=None)
    people = participants.drop_duplicates("participant_id")
    simulated = int(people["simulated"].fillna(False).astype(bool).sum()) if "simulated" in people else 0
    screened = people[people["headphone_screen"] != "none"]
    done = screened[screened["headphone_screen"].isin(["passed", "failed"])]
    pass_rate = f"{(done['headphone_screen'] == 'passed').mean():.0%} of {len(done)}" if len(done) else "no screen"
    overview = pd.DataFrame(
        [
            ("participants", len(people)),
            ("of them simulated", simulated),
            ("channels", ", ".join(f"{k} {v}" for k, v in people["entry_channel"].value_counts().items())),
            ("sound check passed", f"{people['sound_check_passed'].mean():.0%}" if len(people) else "-"),
            ("headphone screen passed", pass_rate),
            ("completed at least one assignment", int((people["assignments_completed"] > 0).sum())),
            (
                "playback errors / stalls",
                f"{int(people['playback_errors'].sum())} / {int(people['playback_stalls'].sum())}",
            ),
            ("page hidden during a trial (times)", int(people["focus_changes"].sum())),
            ("trials skipped (media would not play)", int(people.get("skipped_trials", pd.Series(dtype=int)).sum())),
        ],
        columns=["quantity", "value"],
    )
    outcomes = people.apply(_outcome, axis=1).value_counts().rename_axis("outcome").reset_index(name="participants")
    devices = (
        people.groupby(["device_class", "browser_family"], observed=True).size().reset_index(name="participants")
    ).sort_values("participants", ascending=False)
    minutes = pd.DataFrame(
        {
            "session (entry to completion)": people["total_time_s"] / 60,
            "on trials": people["active_time_s"] / 60,
        }
    )
    time_on_task = minutes.describe(percentiles=[0.25, 0.5, 0.75]).T[["count", "25%", "50%", "75%"]]
    time_on_task = time_on_task.rename(columns={"50%": "median"}).round(2).rename_axis("minutes").reset_index()
    listening = None
    if questionnaire is not None and len(questionnaire):
        asked = questionnaire[questionnaire["item"] == "listening_device"]
        if len(asked):
            listening = asked["value"].value_counts().rename_axis("listening device").reset_index(name="participants")
    return ParticipantSummary(overview, outcomes, devices, time_on_task, listening)
