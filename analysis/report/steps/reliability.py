"""Report step: Reliability."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import figures, reliability
from analysis.report.context import Context, Section, Skip, Step, Writer, format_p


def run(ctx: Context, w: Writer, section: Section) -> None:
    ratings = ctx.need_ratings()
    if ratings["worker_id"].nunique() < 2:
        raise Skip("reliability needs ratings from at least two workers")
    rows = []
    summary: dict[str, Any] = {}
    for label, item in (("pairing", ("pairing_id",)), ("video x genre profile cell", ("video_id", "genre_label"))):
        try:
            result = reliability.split_half(
                ratings, item=item, n_splits=ctx.options.split_half_splits, seed=ctx.options.seed
            )
        except ValueError as exc:
            section.notes.append(f"split-half ({label}): {exc}")
            continue
        rows.append(
            {
                "statistic": f"split-half, Spearman-Brown ({label})",
                "value": result.reliability,
                "range": f"{result.ci_low:.3f}-{result.ci_high:.3f} over {result.n_splits} splits",
                "items": f"{result.n_items:,.0f}",
            }
        )
        summary[f"split_half_{item[-1]}"] = result.reliability
    for level in ("ordinal", "interval"):
        try:
            alpha = reliability.krippendorff_alpha(ratings, level=level)
        except ValueError as exc:
            section.notes.append(f"Krippendorff's alpha ({level}): {exc}")
            continue
        rows.append(
            {"statistic": f"Krippendorff's alpha ({level}), pairings", "value": alpha, "range": "", "items": ""}
        )
        summary[f"krippendorff_{level}"] = alpha
    loo = reliability.loo_worker_correlation(ratings)
    valid = loo["r"].dropna()
    if len(valid):
        rows.append(
            {
                "statistic": "worker vs leave-one-out mean r (median)",
                "value": float(valid.median()),
                "range": f"IQR {valid.quantile(0.25):.3f}-{valid.quantile(0.75):.3f}",
                "items": f"{len(valid)} workers",
            }
        )
        summary["loo_median_r"] = float(valid.median())
    if rows:
        w.table(section, "reliability", pd.DataFrame(rows), caption="Reliability of the fit ratings.")
    try:
        matrix, dropped = reliability.rating_matrix(ratings)
        table = reliability.icc(matrix).assign(p_value=lambda f: f["p_value"].map(format_p))
        w.table(
            section,
            "icc",
            table,
            caption=(
                f"Shrout & Fleiss ICCs on {matrix.shape[0]:,} pairings x k={matrix.shape[1]} ratings "
                f"({dropped:,} pairings with fewer ratings left out)."
            ),
        )
        section.text(
            "In a crowd design each pairing has its own raters, so the k 'judges' are rating slots, not "
            "people: ICC(1,1) / ICC(1,k) (one-way random) are the forms that match the design. The two-way "
            "forms are shown for completeness; with slots as judges they differ little from the one-way ones."
        )
        summary["icc"] = dict(zip(table["form"], table["icc"], strict=True))
    except ValueError as exc:
        section.notes.append(f"ICC: {exc}")
    w.table(section, "loo_worker_correlation", loo, caption="Per-worker leave-one-out correlation.", max_rows=10)
    if len(valid) >= 3:
        w.figure(section, "loo_correlation", figures.loo_histogram(loo), "Worker agreement with the crowd.")
    ctx.summary["reliability"] = summary


STEP = Step(name="reliability", key="reliability", title="Reliability", run=run)
