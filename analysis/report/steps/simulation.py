"""Report step: Simulated export: planted vs recovered structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import profiles
from analysis.report.context import Context, Section, Skip, Step, Writer


def run(ctx: Context, w: Writer, section: Section) -> None:
    simulation = ctx.export.simulation
    if not simulation:
        raise Skip("not a simulated export")
    from sklearn.metrics import adjusted_rand_score

    truth = simulation.get("truth", {})
    rows = []
    if ctx.clustering is not None and "video_clusters" in truth:
        planted = pd.Series(truth["video_clusters"]["cluster"], index=truth["video_clusters"]["video_id"])
        found = ctx.clustering.video_clusters
        common = found.index.intersection(planted.index)
        ari = adjusted_rand_score(planted.loc[common], found.loc[common])
        rows.append(
            {
                "quantity": "video clusters, adjusted Rand index",
                "planted": f"{planted.nunique()} clusters",
                "recovered": f"{found.nunique()} clusters",
                "agreement": f"ARI {ari:.3f}",
            }
        )
        k = planted.nunique()
        if found.nunique() != k and ctx.profile_matrix is not None and len(common) > k:
            at_k = profiles.cut(ctx.clustering.row_linkage, k)
            ari_k = adjusted_rand_score(planted.loc[ctx.profile_matrix.index], at_k)
            rows.append(
                {
                    "quantity": "video clusters cut at the planted k",
                    "planted": f"{k} clusters",
                    "recovered": f"{k} clusters",
                    "agreement": f"ARI {ari_k:.3f}",
                }
            )
        if "genre_clusters" in truth:
            genres = pd.Series(truth["genre_clusters"]["cluster"], index=truth["genre_clusters"]["genre_label"])
            found_g = ctx.clustering.genre_clusters
            shared = found_g.index.intersection(genres.index)
            rows.append(
                {
                    "quantity": "genre clusters, adjusted Rand index",
                    "planted": f"{genres.nunique()} clusters",
                    "recovered": f"{found_g.nunique()} clusters",
                    "agreement": f"ARI {adjusted_rand_score(genres.loc[shared], found_g.loc[shared]):.3f}",
                }
            )
            k_genres = genres.nunique()
            if found_g.nunique() != k_genres and len(shared) > k_genres:
                at_k = pd.Series(profiles.cut(ctx.clustering.col_linkage, k_genres), index=found_g.index)
                rows.append(
                    {
                        "quantity": "genre clusters cut at the planted k",
                        "planted": f"{k_genres} clusters",
                        "recovered": f"{k_genres} clusters",
                        "agreement": f"ARI {adjusted_rand_score(genres.loc[shared], at_k.loc[shared]):.3f}",
                    }
                )
    if ctx.shares is not None and "preference" in truth:
        planted = truth["preference"]
        human = ctx.shares[(ctx.shares["subject"] == "Human") & (ctx.shares["direction"] == "total")]
        tests = ctx.summary.get("preference_subject_tests", [])
        subject_ci = {t["condition"]: t for t in tests if t["direction"] == "total"}
        for _, row in human.iterrows():
            condition = row["condition"]
            population = planted.get("p_first_expected", {}).get(condition)
            if population is not None and row["n"] and np.isfinite(row["ci_low"]):
                inside = row["ci_low"] <= population <= row["ci_high"]
                rows.append(
                    {
                        "quantity": f"preference {condition}, GEE headline share vs population share",
                        "planted": f"{100 * population:.1f}%",
                        "recovered": f"{100 * row['share']:.1f}% [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]",
                        "agreement": "inside GEE 95% CI" if inside else "outside GEE 95% CI",
                    }
                )
            test = subject_ci.get(condition)
            if population is not None and test and test.get("ci_low") is not None:
                inside = test["ci_low"] <= population <= test["ci_high"]
                rows.append(
                    {
                        "quantity": f"preference {condition}, mean subject share vs population share",
                        "planted": f"{100 * population:.1f}%",
                        "recovered": (
                            f"{100 * test['mean_share']:.1f}% [{100 * test['ci_low']:.1f}, {100 * test['ci_high']:.1f}]"
                        ),
                        "agreement": "inside t 95% CI" if inside else "outside t 95% CI",
                    }
                )
    if ctx.cleaned is not None and "ratings" in truth:
        workers = truth["ratings"]["workers"]
        careless = pd.Series(workers["careless"], index=workers["worker_id"])
        flagged = set(ctx.cleaned.worker_flags.loc[ctx.cleaned.worker_flags["table"] == "ratings", "worker_id"])
        seen = careless.index.intersection(pd.Index(ctx.export.ratings["worker_id"].unique()))
        truly = set(careless.loc[seen][careless.loc[seen]].index)
        caught = len(truly & flagged)
        rows.append(
            {
                "quantity": "careless workers excluded",
                "planted": f"{len(truly)} careless",
                "recovered": f"{len(flagged)} flagged",
                "agreement": f"recall {caught / len(truly):.2f}, precision {caught / len(flagged):.2f}"
                if truly and flagged
                else "-",
            }
        )
    if not rows:
        raise Skip("nothing to compare with the planted truth in this export")
    w.table(section, "simulation_recovery", pd.DataFrame(rows), caption="Does the analysis find what was planted?")


STEP = Step(
    name="simulation check", key="simulation", title="Simulated export: planted vs recovered structure", run=run
)
