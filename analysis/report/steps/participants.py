"""Report step: Participants — channels, devices, screens, time on task, playback, listening devices."""

from __future__ import annotations

from analysis.participants import summarise
from analysis.report.context import Context, Section, Skip, Step, Writer


def _figure(summary):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    outcomes = summary.outcomes.set_index("outcome")["participants"]
    left.barh(outcomes.index, outcomes.values, color="#4c72b0")
    left.set_title("How sessions ended")
    left.set_xlabel("participants")
    devices = summary.devices.assign(label=lambda d: d["device_class"] + " / " + d["browser_family"])
    right.barh(devices["label"], devices["participants"], color="#55a868")
    right.set_title("Device and browser")
    right.set_xlabel("participants")
    fig.tight_layout()
    return fig


def run(ctx: Context, w: Writer, section: Section) -> None:
    participants = getattr(ctx.export, "participants", None)
    if participants is None or len(participants) == 0:
        raise Skip("the export has no participants table (export format 1, or a simulated export)")
    summary = summarise(participants, getattr(ctx.export, "questionnaire", None))
    w.table(section, "participants_overview", summary.overview, caption="Participants at a glance.")
    w.figure(section, "participants", _figure(summary), "How sessions ended, and the devices and browsers used.")
    w.table(section, "participant_outcomes", summary.outcomes, caption="How each session ended.")
    w.table(section, "time_on_task", summary.time_on_task, caption="Minutes per participant (completed sessions).")
    if summary.listening is not None:
        w.table(section, "listening_devices", summary.listening, caption="Listening device (questionnaire).")
    section.text(
        "Devices and browsers come from the user agent (reduced to a class and a family at export). "
        "Exclusions of answers by rule are in the next section; here are the participants screened out before "
        "they answered anything (sound check, headphone screen)."
    )
    ctx.summary["participants"] = {
        row.quantity: (row.value if isinstance(row.value, int | str) else int(row.value))
        for row in summary.overview.itertuples()
    }
    ctx.summary["participant_outcomes"] = dict(
        zip(summary.outcomes["outcome"], map(int, summary.outcomes["participants"]), strict=True)
    )


STEP = Step(name="participants", key="participants", title="Participants", run=run)
