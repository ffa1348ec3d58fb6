"""Report step: Mixed model: scene x genre with worker random intercepts."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis import figures
from analysis.calibration import fit_mixed_model
from analysis.report.context import Context, Section, Skip, Step, Writer, format_p


def run(ctx: Context, w: Writer, section: Section) -> None:
    ratings = ctx.need_ratings()
    if len(ratings) < 20 or ratings["worker_id"].nunique() < 3:
        raise Skip("the mixed model needs at least 20 ratings from at least 3 workers")
    options = ctx.options
    result = fit_mixed_model(
        ratings,
        max_rows=options.mixed_max_rows,
        item_effects=options.item_effects,
        item_max_rows=options.item_max_rows,
        seed=options.seed,
    )
    formula = "rating ~ scene x genre + (1 | worker)"
    if result.item_effects:
        formula = "rating ~ scene x genre + (1 | worker) + (1 | video) + (1 | music track)"
    section.text(
        f"<code>{html.escape(formula)}</code>, REML, fitted on {result.n_rows:,} of {result.n_rows_total:,} "
        f"ratings ({result.n_workers:,} workers); converged: {result.converged}; "
        f"REML criterion {result.reml_criterion:.4f} (optimiser: {html.escape(result.optimizer)})."
    )
    variance = pd.DataFrame({"component": list(result.variance), "variance": list(result.variance.values())}).assign(
        sd=lambda f: np.sqrt(f["variance"])
    )
    w.table(section, "mixed_variance", variance, caption="Variance components.")
    section.text(
        f"Share of rating variance due to worker bias (worker ICC): <b>{result.worker_icc:.3f}</b>. "
        "This is the part of the raw ratings that calibration removes."
    )
    tests = result.tests.assign(p_value=lambda f: f["p_value"].map(format_p))
    w.table(section, "mixed_tests", tests, caption="Wald tests on the cell means (complete grid of cells).")
    w.table(
        section,
        "mixed_cell_means",
        result.cell_means,
        caption="Estimated mean rating per scene x genre cell (fixed effects) with 95% CIs.",
        max_rows=12,
    )
    if result.cell_means["scene_label"].nunique() >= 2 and result.cell_means["genre_label"].nunique() >= 2:
        w.figure(
            section,
            "mixed_cell_means",
            figures.cell_means_heatmap(result.cell_means, "Model-estimated fit by scene and genre"),
            "Fixed-effect cell means of the mixed model (worker bias removed).",
        )
    section.notes.extend(result.notes)
    ctx.summary["mixed"] = {
        "variance": result.variance,
        "worker_icc": result.worker_icc,
        "n_rows": result.n_rows,
        "converged": result.converged,
        "reml_criterion": result.reml_criterion,
        "optimizer": result.optimizer,
        "tests": result.tests.to_dict(orient="records"),
    }


STEP = Step(name="mixed model", key="mixed", title="Mixed model: scene x genre with worker random intercepts", run=run)
