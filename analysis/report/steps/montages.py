"""Report step: Montages (issue 16) — the crowd as the judge of machine montages.

Present only when the export has montage judgments (``montage_choices`` / ``montage_ratings``); for any
other export the section is left out silently (:class:`analysis.report.context.Omit`). The statistics are
:func:`analysis.montage.analyse_montages`; this step lays them out.
"""

from __future__ import annotations

import html

from analysis import figures
from analysis.montage import PREFERENCE_METHOD, RATING_METHOD, analyse_montages, has_montage_judgments
from analysis.report.context import Context, Omit, Section, Step, Writer, format_p


def run(ctx: Context, w: Writer, section: Section) -> None:
    if not has_montage_judgments(ctx.export):
        raise Omit
    result = analyse_montages(
        ctx.export,
        rules=ctx.options.rules,
        models_dir=ctx.options.models_dir,
        bootstrap=ctx.options.montage_bootstrap,
        seed=ctx.options.seed,
        ridge=ctx.options.bt_ridge,
    )
    c = result.counts
    section.text(
        f"{c['judgments']:,} judgments of two montages of one song by {c['workers']:,} workers on "
        f"{c['songs']:,} songs, after the exclusion rules ({c['excluded_workers']} worker(s) flagged); "
        f"{c['ratings']:,} montage ratings. Systems: each retrieval model (S), R (random clips), anti "
        "(farthest clips), G (the song's real video). Shares: "
        + html.escape(PREFERENCE_METHOD)
        + "; the pooled_* columns treat every judgment as independent and are shown only for comparison."
    )
    if not result.bradley_terry.empty:
        w.table(
            section,
            "montage_bradley_terry",
            result.bradley_terry.drop(columns=["method"], errors="ignore"),
            caption=(
                "Bradley-Terry ranking of all systems from all pairs: centred log-strength, model-based SE, 95% "
                f"percentile CI from {ctx.options.montage_bootstrap} worker-bootstrap resamples, p_best = share of "
                "resamples in which the system ranks first."
            ),
        )
        pref = result.preferences.drop(columns=["method"])
        w.table(
            section,
            "montage_preferences",
            pref.assign(**{col: pref[col].map(format_p) for col in ("p_gee", "p_holm", "p_pooled_binomial")}),
            caption="Share of judgments preferring each model's montage over each opponent (GEE headline, Holm).",
        )
    if not result.ratings.empty:
        w.table(
            section,
            "montage_rating_means",
            result.ratings.drop(columns=["method"]),
            caption=f"Mean 7-point fit rating per system ({RATING_METHOD}).",
        )
    if not result.retrieval.empty:
        w.table(
            section,
            "montage_retrieval",
            result.retrieval,
            caption="Retrieval metrics of the same models (registry rankings vs the export's ground truth).",
        )
    if not result.correlation.empty:
        w.table(
            section,
            "montage_recall_vs_preference",
            result.correlation.assign(p_exact=result.correlation["p_exact"].map(format_p)),
            caption="Spearman correlation across models of each retrieval metric with the human BT score.",
        )
    if not result.bradley_terry.empty:
        w.figure(
            section,
            "montages",
            figures.montage_figure(result.bradley_terry, result.preferences, result.retrieval),
            "Bradley-Terry scores with worker-bootstrap CIs; each model's share preferred over R (GEE CI); R@K "
            "against the human score.",
        )
    section.notes.extend(result.notes)
    ctx.summary["montages"] = {
        "counts": c,
        "bradley_terry": result.bradley_terry.to_dict(orient="records"),
        "preferences": result.preferences.to_dict(orient="records"),
    }


STEP = Step(name="montages", key="montages", title="Montages: the crowd judges machine soundtracks", run=run)
