"""Report step: Genre-fit profiles and clustering (Langlois Figs. 2-3)."""

from __future__ import annotations

import html

import pandas as pd

from analysis import figures, profiles
from analysis.report.context import Context, Section, Skip, Step, Writer


def run(ctx: Context, w: Writer, section: Section) -> None:
    ratings = ctx.need_ratings()
    options = ctx.options
    value = options.profile_value
    matrix, scenes, notes = profiles.genre_profiles(ratings, value=value)
    section.notes.extend(notes)
    if matrix.shape[0] < 3 or matrix.shape[1] < 3:
        raise Skip(
            f"clustering needs at least 3 videos and 3 genres with ratings (have {matrix.shape[0]} x {matrix.shape[1]})"
        )
    clustering = profiles.cluster_profiles(
        matrix,
        method=options.linkage,
        video_clusters=options.video_clusters,
        genre_clusters=options.genre_clusters,
        max_k=options.max_k,
    )
    ctx.clustering, ctx.profile_matrix = clustering, matrix
    section.notes.extend(clustering.notes)
    value_label = "mean z-score (per-worker calibrated)" if value == "z" else "mean rating"
    section.text(
        f"{matrix.shape[0]:,} videos x {matrix.shape[1]} genres; {value_label}; correlation distance, "
        f"{html.escape(options.linkage)} linkage; {clustering.n_video_clusters} video clusters, "
        f"{clustering.genre_clusters.nunique()} genre clusters."
    )
    shown, shown_clusters = profiles.sample_for_display(
        matrix, clustering, max_rows=options.clustermap_max_videos, seed=options.seed
    )
    sampled = len(shown) < len(matrix)
    w.figure(
        section,
        "genre_fit_clustermap",
        figures.genre_fit_clustermap(
            shown,
            scenes,
            shown_clusters,
            method=options.linkage,
            value_label=value_label,
            title="Genre-fit profiles of videos, hierarchically clustered",
        ),
        (
            "Videos x genres, rows and columns clustered by correlation distance"
            + (
                f" (cluster-stratified sample of {len(shown)} of {len(matrix):,} videos, as Langlois showed 100)"
                if sampled
                else ""
            )
            + ". Row colours: scene category and video cluster."
        ),
    )
    means = profiles.cluster_mean_profiles(matrix, clustering)
    composition = pd.crosstab(clustering.video_clusters, scenes.reindex(matrix.index))
    composition.index.name, composition.columns.name = "cluster", None
    w.figure(
        section,
        "cluster_profiles",
        figures.cluster_profiles_figure(means, composition, value_label),
        "What each video cluster likes, and which scenes it holds.",
    )
    tables = profiles.memberships(matrix, scenes, clustering)
    w.table(section, "video_clusters", tables["video_clusters"], caption="Video cluster memberships.", max_rows=10)
    w.table(section, "genre_clusters", tables["genre_clusters"], caption="Genre cluster memberships.", max_rows=30)
    ctx.save_csv("genre_profiles", matrix, index=True)
    w.table(section, None, composition.reset_index(), caption="Scene composition of the video clusters (counts).")
    if len(clustering.silhouettes):
        w.table(
            section,
            "cluster_silhouettes",
            clustering.silhouettes.reset_index(),
            caption="Mean silhouette by number of video clusters (the best one is used unless --video-clusters is set).",
        )
    ctx.summary["profiles"] = {
        "videos": matrix.shape[0],
        "genres": matrix.shape[1],
        "video_clusters": clustering.n_video_clusters,
        "genre_clusters": int(clustering.genre_clusters.nunique()),
    }


STEP = Step(name="profiles", key="profiles", title="Genre-fit profiles and clustering (Langlois Figs. 2-3)", run=run)
