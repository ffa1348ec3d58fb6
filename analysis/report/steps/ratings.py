"""Report step: Fit ratings: overview and calibration."""

from __future__ import annotations

import pandas as pd

from analysis import figures
from analysis.calibration import zscore_by_worker
from analysis.report.context import Context, Section, Skip, Step, Writer


def run(ctx: Context, w: Writer, section: Section) -> None:
    assert ctx.cleaned is not None
    ratings = ctx.cleaned.ratings
    if ratings.empty:
        raise Skip("no fit ratings in this export (after exclusions)")
    ratings = ratings.assign(z=zscore_by_worker(ratings))
    ctx.ratings = ratings
    per_pairing = ratings.groupby("pairing_id", observed=True).size()
    overview = {
        "ratings": len(ratings),
        "workers": ratings["worker_id"].nunique(),
        "pairings": int(per_pairing.size),
        "videos": ratings["video_id"].nunique(),
        "music tracks": ratings["music_id"].nunique(),
        "scene categories": ratings["scene_label"].nunique(),
        "genres": ratings["genre_label"].nunique(),
        "ratings per pairing (median, min-max)": f"{per_pairing.median():g} ({per_pairing.min()}-{per_pairing.max()})",
        "mean rating (SD)": f"{ratings['rating'].mean():.2f} ({ratings['rating'].std():.2f})",
    }
    w.table(section, None, pd.DataFrame(list(overview.items()), columns=["quantity", "value"]))
    w.figure(section, "rating_overview", figures.rating_overview(ratings), "Ratings and worker calibration.")
    undefined = int(ratings["z"].isna().sum())
    section.text(
        "Per-worker z-scores (rating minus the worker's mean, divided by the worker's SD) remove each "
        "worker's location and scale; they are the default input of the genre-fit profiles."
    )
    if undefined:
        section.notes.append(f"{undefined} rating(s) have no z-score (worker with one rating or a constant rating).")
    ctx.summary["ratings"] = {k: (v if isinstance(v, int | str) else int(v)) for k, v in overview.items()}


STEP = Step(name="ratings", key="ratings", title="Fit ratings: overview and calibration", run=run)
