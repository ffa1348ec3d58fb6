"""Report step: Preference test (VM-NET Table IV, Fig. 7)."""

from __future__ import annotations

import pandas as pd

from analysis import figures, preference
from analysis.report.context import Context, Section, Skip, Step, Writer, format_p

HEADLINE = ["subject", "method", "condition", "direction", "n", "k", "share", "ci_low", "ci_high"]
P_COLUMNS = ("p_gee", "p_holm", "p_t", "p_wilcoxon", "p_pooled_binomial")


def run(ctx: Context, w: Writer, section: Section) -> None:
    assert ctx.cleaned is not None
    trials = preference.preference_trials(ctx.cleaned.choices)
    if trials.empty:
        raise Skip("no preference-test trials (condition GR/GS/SR) in this export")
    human = preference.clustered_share_table(trials)
    shares = human[HEADLINE]
    long = human
    machine_notes: list[str] = []
    if ctx.options.machine_distances:
        distances = preference.load_machine_distances(ctx.options.machine_distances)
        machine, machine_notes = preference.machine_share_table(trials, distances)
        if not machine.empty:
            machine = machine.assign(method=preference.MACHINE_METHOD)
            shares = pd.concat([shares, machine[HEADLINE]], ignore_index=True)
            # for a machine the exact binomial over distinct comparisons is the test itself
            as_long = machine.assign(
                pooled_share=machine["share"],
                pooled_ci_low=machine["ci_low"],
                pooled_ci_high=machine["ci_high"],
                p_pooled_binomial=machine["p_binomial"],
            )
            long = pd.concat([human, as_long.reindex(columns=human.columns)], ignore_index=True)
    else:
        section.notes.append("No machine distance file given (--machine-distances): the Machine row is left out.")
    section.notes.extend(machine_notes)
    ctx.shares = shares
    section.text(
        "Percent of answers preferring the first option of each pair (G over R, G over S, S over R). "
        "Human rows: share, 95% CI and test against 50% from a GEE (logistic, exchangeable working correlation "
        "within subjects, robust SE, t with subjects - 1 df), so a subject's answers are not counted as "
        "independent subjects; Holm's adjustment across the table's cells. Machine rows: exact binomial over "
        "distinct comparisons (a question shown again with sides swapped counts once)."
    )
    wide = preference.table_iv(shares)
    wide.columns.name = None
    w.table(section, None, wide.reset_index(), caption="Table IV, reproduced (humans: GEE headline).")
    w.table(
        section,
        "preference_shares",
        long.assign(**{column: long[column].map(format_p) for column in P_COLUMNS}),
        caption=(
            "Per condition and direction: GEE headline (share, CI, p_gee, Holm-adjusted p_holm, working correlation "
            "rho); subject-level tests (mean subject share, t-test CI and p_t, Wilcoxon p_wilcoxon); and, labelled "
            "pooled_*, the naive pooled binomial (Wilson CI, exact test), which treats every answer as independent "
            "and is anti-conservative when subjects differ (docs/analysis.md)."
        ),
    )
    per_subject = preference.subject_shares(trials)
    tests = preference.subject_tests(per_subject)
    w.table(
        section,
        "preference_subject_tests",
        tests.assign(p_t=tests["p_t"].map(format_p), p_wilcoxon=tests["p_wilcoxon"].map(format_p)),
        caption=(
            "Subject-level tests (mean of per-subject shares vs 50%: t-test with 95% CI, Wilcoxon signed-rank), "
            "without multiple-comparison adjustment."
        ),
    )
    ctx.save_csv("preference_per_subject", per_subject, register=False)
    w.figure(
        section,
        "preference_shares",
        figures.preference_shares(shares),
        "Preference shares with 95% CIs (humans: GEE; machines: exact binomial over comparisons).",
    )
    if per_subject["worker_id"].nunique() >= 2:
        w.figure(
            section,
            "preference_boxplot",
            figures.subject_boxplot(per_subject, shares),
            "Per-subject preference shares (box: middle 50% of subjects; dots: subjects; diamond: GEE share).",
        )
    ctx.summary["preference"] = shares.to_dict(orient="records")
    ctx.summary["preference_clustered"] = human.to_dict(orient="records")
    ctx.summary["preference_subject_tests"] = tests.to_dict(orient="records")


STEP = Step(name="preference test", key="preference", title="Preference test (VM-NET Table IV, Fig. 7)", run=run)
