"""Report step: Preference test (VM-NET Table IV, Fig. 7)."""

from __future__ import annotations

import pandas as pd

from analysis import figures, preference
from analysis.report.context import Context, Section, Skip, Step, Writer, format_p


def run(ctx: Context, w: Writer, section: Section) -> None:
    assert ctx.cleaned is not None
    trials = preference.preference_trials(ctx.cleaned.choices)
    if trials.empty:
        raise Skip("no preference-test trials (condition GR/GS/SR) in this export")
    shares = preference.share_table(trials)
    machine_notes: list[str] = []
    if ctx.options.machine_distances:
        distances = preference.load_machine_distances(ctx.options.machine_distances)
        machine, machine_notes = preference.machine_share_table(trials, distances)
        shares = pd.concat([shares, machine], ignore_index=True)
    else:
        section.notes.append("No machine distance file given (--machine-distances): the Machine row is left out.")
    section.notes.extend(machine_notes)
    ctx.shares = shares
    section.text(
        "Percent of answers preferring the first option of each pair (G over R, G over S, S over R), "
        "with Wilson 95% intervals and sample sizes; machine rows count each distinct question once."
    )
    wide = preference.table_iv(shares)
    wide.columns.name = None
    w.table(section, None, wide.reset_index(), caption="Table IV, reproduced.")
    long = shares.assign(p_binomial=shares["p_binomial"].map(format_p))
    w.table(section, "preference_shares", long, caption="Pooled shares with exact binomial tests against 50%.")
    per_subject = preference.subject_shares(trials)
    tests = preference.subject_tests(per_subject)
    w.table(
        section,
        "preference_subject_tests",
        tests.assign(p_t=tests["p_t"].map(format_p), p_wilcoxon=tests["p_wilcoxon"].map(format_p)),
        caption=(
            "Subject-level tests (mean of per-subject shares vs 50%: t-test with 95% CI, Wilcoxon signed-rank). "
            "Use these when subjects differ; the pooled binomial test treats all answers as independent."
        ),
    )
    ctx.save_csv("preference_per_subject", per_subject, register=False)
    w.figure(section, "preference_shares", figures.preference_shares(shares), "Pooled preference shares with 95% CIs.")
    if per_subject["worker_id"].nunique() >= 2:
        w.figure(
            section,
            "preference_boxplot",
            figures.subject_boxplot(per_subject, shares, seed=ctx.options.seed),
            "Per-subject preference shares (box: middle 50% of subjects; dots: subjects; diamond: pooled).",
        )
    ctx.summary["preference"] = shares.to_dict(orient="records")
    ctx.summary["preference_subject_tests"] = tests.to_dict(orient="records")


STEP = Step(name="preference test", key="preference", title="Preference test (VM-NET Table IV, Fig. 7)", run=run)
