"""Report step: Exclusions."""

from __future__ import annotations

from analysis.cleaning import clean
from analysis.report.context import Context, Section, Skip, Step, Writer


def run(ctx: Context, w: Writer, section: Section) -> None:
    ctx.cleaned = clean(ctx.export.ratings, ctx.export.choices, ctx.options.rules)
    log = ctx.cleaned.exclusions
    if log.empty:
        raise Skip("the export has neither ratings nor choices")
    section.text(
        "Rules run in the order listed, per table. <em>workers flagged</em> counts the workers a rule "
        "catches on its own; <em>rows removed</em> counts rows not already removed by an earlier rule; "
        "<em>attentive dropped</em> (attention-check rules) is how many attentive workers, failing each check "
        f"with probability {ctx.options.rules.catch_lapse_rate:.0%}, the rule is expected to drop in this study."
    )
    w.table(section, "exclusions", log, caption="Exclusion rules with counts.")
    w.table(section, "worker_flags", ctx.cleaned.worker_flags, caption="Flagged workers (pseudonyms).", max_rows=15)
    section.notes.extend(ctx.cleaned.notes)
    ctx.summary["exclusions"] = log.to_dict(orient="records")


STEP = Step(name="exclusions", key="exclusions", title="Exclusions", run=run)
