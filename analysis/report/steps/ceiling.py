"""Report step: 2AFC agreement and noise ceiling, with model accuracies next to it (docs/analysis.md)."""

from __future__ import annotations

from analysis import preference
from analysis.agreement import agreement, ceiling_comparison, model_accuracy
from analysis.crowd_figures import ceiling_figure
from analysis.report.context import Context, Section, Skip, Step, Writer

BOOTSTRAP = 1000


def run(ctx: Context, w: Writer, section: Section) -> None:
    assert ctx.cleaned is not None
    choices = ctx.cleaned.choices
    if choices.empty:
        raise Skip("no 2AFC or preference answers in this export")
    result = agreement(choices, bootstrap=BOOTSTRAP, seed=ctx.options.seed)
    section.notes.extend(result.notes)
    section.text(
        "How often one subject agrees with themselves on a repeated item (sides swapped) and two subjects "
        "agree on the same item, and the ceiling this sets on any model's accuracy against single human "
        f"answers: (1 + sqrt(2A - 1)) / 2 for between-subject agreement A. 95% intervals: bootstrap over "
        f"subjects ({BOOTSTRAP} draws)."
    )
    w.table(section, "agreement", result.table, caption="Test-retest consistency, between-subject agreement, ceilings.")
    trials = preference.preference_trials(choices)
    accuracy = None
    if ctx.options.machine_distances and not trials.empty:
        distances = preference.load_machine_distances(ctx.options.machine_distances)
        picks, notes = preference.machine_choices(trials, distances)
        section.notes.extend(notes)
        accuracy = model_accuracy(trials, picks)
    if accuracy is None or accuracy.empty:
        section.notes.append(
            "No model accuracies to compare (needs preference trials and --machine-distances): ceilings only."
        )
        ctx.summary["agreement"] = result.table.to_dict(orient="records")
        return
    comparison = ceiling_comparison(agreement(trials, bootstrap=BOOTSTRAP, seed=ctx.options.seed), accuracy)
    w.table(
        section,
        "ceiling_vs_models",
        comparison,
        caption=(
            "Preference test: each model's accuracy against single human answers (Wilson 95%) next to the human "
            "ceiling of the same group; share_of_margin = (accuracy - 50%) / (ceiling - 50%). A ceiling resting "
            "on few subject pairs (between_pairs) is imprecise."
        ),
    )
    w.figure(section, "ceiling_vs_models", ceiling_figure(comparison), "Human ceiling and model accuracies.")
    ctx.summary["agreement"] = result.table.to_dict(orient="records")
    ctx.summary["ceiling_vs_models"] = comparison.to_dict(orient="records")


STEP = Step(name="2AFC ceiling", key="ceiling", title="2AFC agreement and noise ceiling", run=run)
