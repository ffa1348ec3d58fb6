"""Figures of the report. Every function returns a matplotlib Figure (the report saves and embeds it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from exportformat import schema

FIT_CMAP = "RdBu_r"


def rating_overview(ratings: pd.DataFrame) -> plt.Figure:
    """Left: distribution of ratings. Right: each worker's mean vs SD (the calibration problem)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    counts = ratings["rating"].value_counts().reindex(range(schema.RATING_MIN, schema.RATING_MAX + 1), fill_value=0)
    left.bar(counts.index, counts.to_numpy(), color="#4c72b0")
    left.set_xticks(counts.index)
    left.set_xlabel("rating (1 extremely poor ... 7 extremely good fit)")
    left.set_ylabel("ratings")
    left.set_title("Rating distribution")
    per_worker = ratings.groupby("worker_id", observed=True)["rating"].agg(["mean", "std", "size"])
    sizes = 10 + 40 * per_worker["size"] / max(per_worker["size"].max(), 1)
    right.scatter(per_worker["mean"], per_worker["std"], s=sizes, alpha=0.5, color="#dd8452", edgecolor="none")
    right.set_xlabel("worker mean rating")
    right.set_ylabel("worker SD")
    right.set_title(f"Workers differ in location and scale (n={len(per_worker)})")
    fig.tight_layout()
    return fig


def cell_means_heatmap(cell_means: pd.DataFrame, title: str) -> plt.Figure:
    table = cell_means.pivot(index="scene_label", columns="genre_label", values="estimate")
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * table.shape[1] + 2.5), max(3, 0.35 * table.shape[0] + 1.8)))
    sns.heatmap(table, cmap=FIT_CMAP, center=float(np.nanmean(table.to_numpy())), ax=ax, cbar_kws={"label": "fit"})
    ax.set_xlabel("music genre")
    ax.set_ylabel("scene category")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def loo_histogram(loo: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    values = loo["r"].dropna()
    ax.hist(values, bins=min(40, max(5, len(values) // 3)), color="#55a868")
    if len(values):
        ax.axvline(values.median(), color="black", linestyle="--", linewidth=1, label=f"median {values.median():.2f}")
        ax.legend()
    ax.set_xlabel("correlation of a worker's ratings with the others' mean (leave-one-out)")
    ax.set_ylabel("workers")
    ax.set_title("Worker agreement with the crowd")
    fig.tight_layout()
    return fig


def scene_palette(labels) -> dict[str, tuple[float, ...]]:
    """The one home of scene colours: every figure that colours scenes takes this mapping.

    Built from all scene labels of the analysis (not from what one figure happens to show), so a
    scene has the same colour in the clustermap and in the cluster-profile figure.
    """
    levels = sorted({str(label) for label in labels if not pd.isna(label)})
    colours = sns.color_palette("tab20" if len(levels) <= 20 else "husl", len(levels))
    return dict(zip(levels, colours, strict=True))


def _cluster_palette(clusters: pd.Series) -> dict[object, tuple[float, ...]]:
    levels = sorted(clusters.dropna().unique(), key=str)
    return dict(zip(levels, sns.color_palette("Set2", len(levels)), strict=True))


def subtree_linkage(linkage: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The full tree restricted to the leaves ``keep`` (sorted positions), as a linkage matrix.

    Leaf ``i`` of the result is ``keep[i]``. Every merge of two parts that both hold kept leaves
    stays, at its original height and with its children in the original order, so the kept leaves
    appear in the full tree's leaf order and a cut at any height splits them exactly as the full
    tree's cut does (nothing is recomputed on the subset).
    """
    keep = np.asarray(keep, dtype=int)
    n = len(linkage) + 1
    if len(keep) < 2 or np.any(np.diff(keep) <= 0) or keep[0] < 0 or keep[-1] >= n:
        raise ValueError("keep must hold at least two distinct leaf positions of the tree, sorted")
    node: list[int | None] = [None] * (2 * n - 1)
    for new, leaf in enumerate(keep):
        node[leaf] = new
    rows: list[list[float]] = []
    counts: list[int] = [1] * len(keep)
    for i, (left, right, height, _) in enumerate(linkage):
        a, b = node[int(left)], node[int(right)]
        if a is not None and b is not None:
            counts.append(counts[a] + counts[b])
            rows.append([a, b, height, counts[-1]])
            node[n + i] = len(keep) + len(rows) - 1
        else:
            node[n + i] = a if a is not None else b
    return np.array(rows, dtype=float)


def cut_height(linkage: np.ndarray, k: int) -> float:
    """A height that cuts the (monotone) tree into ``k`` clusters: midway between two merges."""
    heights = np.sort(linkage[:, 2])
    if k <= 1:
        return float(heights[-1]) * 1.02
    if k > len(heights):  # every leaf on its own
        return float(heights[0]) / 2
    return float((heights[-(k - 1)] + heights[-k]) / 2)


def genre_fit_clustermap(
    profiles: pd.DataFrame,
    scenes: pd.Series,
    clustering,
    *,
    shown: pd.Index | None = None,
    value_label: str,
    title: str,
    scene_colours: dict[str, tuple[float, ...]] | None = None,
):
    """Langlois Figs. 2-3: videos x genres mean fit, rows and columns clustered (correlation distance).

    The dendrograms are the full data's (``clustering``, an ``analysis.profiles.Clustering`` of
    ``profiles``); ``shown`` picks the videos to draw (all by default) and they keep the full tree's
    order and cut (:func:`subtree_linkage`); the dashed line marks the cut into the video clusters.
    """
    keep = np.arange(len(profiles)) if shown is None else np.sort(profiles.index.get_indexer(shown))
    if np.any(keep < 0):
        raise ValueError("shown holds videos that are not rows of profiles")
    rows = profiles.iloc[keep]
    row_linkage = subtree_linkage(clustering.row_linkage, keep)
    scene_colours = scene_colours or scene_palette(scenes.reindex(profiles.index))
    row_scenes = scenes.reindex(rows.index).astype(str)
    clusters = clustering.video_clusters.reindex(rows.index)
    cluster_colours = _cluster_palette(clustering.video_clusters)
    row_colors = pd.DataFrame({"scene": row_scenes.map(scene_colours), "cluster": clusters.map(cluster_colours)})
    show_rows = len(rows) <= 60
    labels = rows.copy()
    if show_rows:
        labels.index = [f"{scenes.get(v, '?')} #{v}" for v in rows.index]
        row_colors.index = labels.index
    grid = sns.clustermap(
        labels,
        row_linkage=row_linkage,
        col_linkage=clustering.col_linkage,
        row_colors=row_colors,
        cmap=FIT_CMAP,
        center=0 if value_label.startswith("mean z") else None,
        figsize=(max(7, 0.3 * profiles.shape[1] + 4), max(7, 0.11 * len(rows) + 4)),
        yticklabels=show_rows,
        xticklabels=True,
        dendrogram_ratio=(0.15, 0.12),
        cbar_pos=(0.02, 0.9, 0.025, 0.08),
    )
    grid.ax_row_dendrogram.axvline(
        cut_height(clustering.row_linkage, clustering.n_video_clusters), color="#444", linestyle="--", linewidth=0.8
    )
    grid.ax_cbar.set_title("mean z" if value_label.startswith("mean z") else "mean\nrating", fontsize=8)
    grid.ax_heatmap.set_xlabel("music genre")
    grid.ax_heatmap.set_ylabel("video" if not show_rows else "")
    shown_scenes = sorted(set(row_scenes))
    handles = [plt.Rectangle((0, 0), 1, 1, color=scene_colours[scene]) for scene in shown_scenes]
    grid.figure.legend(
        handles,
        shown_scenes,
        title="scene",
        loc="upper left",
        bbox_to_anchor=(1.0, 0.98),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )
    grid.figure.suptitle(title, y=1.02, fontsize=11)
    return grid.figure


def cluster_profiles_figure(
    means: pd.DataFrame,
    composition: pd.DataFrame,
    value_label: str,
    *,
    scene_colours: dict[str, tuple[float, ...]] | None = None,
) -> plt.Figure:
    """Mean genre-fit profile per video cluster, with the clusters' scene composition."""
    scene_colours = scene_colours or scene_palette(composition.columns)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(7, 0.32 * means.shape[1] + 2.5), 2.2 + 0.45 * (len(means) + len(composition.columns) / 3))
    )
    sns.heatmap(means, cmap=FIT_CMAP, center=0 if value_label.startswith("z") else None, ax=top, annot=False)
    top.set_ylabel("video cluster")
    top.set_xlabel("music genre")
    top.set_title(f"Mean genre-fit profile per video cluster ({value_label})")
    share = composition.div(composition.sum(axis=1), axis=0)
    share.columns = share.columns.astype(str)
    share.plot(
        kind="barh", stacked=True, ax=bottom, color=[scene_colours[c] for c in share.columns], width=0.8, legend=False
    )
    bottom.set_xlabel("share of the cluster's videos")
    bottom.set_ylabel("video cluster")
    bottom.invert_yaxis()
    bottom.legend(title="scene", fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


@contextmanager
def _seeded_legacy_random(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for seaborn's jitter, and put the caller's state back after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def preference_shares(shares: pd.DataFrame) -> plt.Figure:
    """Pooled share preferring the first option with Wilson 95 % intervals (Table IV as a figure)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    subjects = list(dict.fromkeys(shares["subject"]))
    groups = [(s, d) for s in subjects for d in ("V2M", "M2V", "total")]
    colours = dict(zip(groups, sns.color_palette("tab10", len(groups)), strict=True))
    offsets = np.linspace(-0.3, 0.3, len(groups)) if len(groups) > 1 else np.zeros(1)
    for offset, group in zip(offsets, groups, strict=True):
        part = shares[(shares["subject"] == group[0]) & (shares["direction"] == group[1]) & (shares["n"] > 0)]
        x = np.array([schema.CONDITIONS.index(c) for c in part["condition"]]) + offset
        y = 100 * part["share"].to_numpy()
        err = 100 * np.vstack([part["share"] - part["ci_low"], part["ci_high"] - part["share"]])
        marker = "o" if group[0] == "Human" else "s"
        ax.errorbar(x, y, yerr=err, fmt=marker, color=colours[group], label=f"{group[0]} {group[1]}", capsize=3)
    ax.axhline(50, color="green", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(schema.CONDITIONS)), schema.CONDITIONS)
    ax.set_ylabel("% preferring first option")
    ax.set_ylim(0, 100)
    ax.set_title("Preference test: pooled shares with Wilson 95% CIs (cf. VM-NET Table IV)")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    return fig


def subject_boxplot(per_subject: pd.DataFrame, shares: pd.DataFrame | None = None, *, seed: int = 0) -> plt.Figure:
    """VM-NET Fig. 7: per-subject share preferring the first option, per condition and direction.

    Dashed green line: chance (50 %). Dots: subjects. Red diamonds: the headline (GEE) share.
    """
    data = per_subject[per_subject["direction"] != "total"].copy()
    data["percent"] = 100 * data["share"]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    order = [c for c in schema.CONDITIONS if c in set(data["condition"])]
    hue_order = [d for d in schema.DIRECTIONS if d in set(data["direction"])]
    common = {"data": data, "x": "condition", "y": "percent", "hue": "direction", "order": order}
    sns.boxplot(**common, hue_order=hue_order, ax=ax, fliersize=0, palette="pastel")
    with _seeded_legacy_random(seed):  # seaborn jitters the dots with np.random's global state
        sns.stripplot(
            **common, hue_order=hue_order, dodge=True, ax=ax, size=3, alpha=0.6, palette="dark:#333333", legend=False
        )
    if shares is not None and not shares.empty:
        pooled = shares[(shares["subject"] == "Human") & shares["direction"].isin(hue_order)]
        width = 0.8 / max(len(hue_order), 1)
        for _, row in pooled.iterrows():
            if row["condition"] not in order or row["n"] == 0:
                continue
            x = order.index(row["condition"]) - 0.4 + width * (hue_order.index(row["direction"]) + 0.5)
            ax.plot(x, 100 * row["share"], marker="D", color="crimson", markersize=6, zorder=5)
    ax.axhline(50, color="green", linestyle="--", linewidth=1)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("pair type")
    ax.set_ylabel("% of a subject's answers preferring the first option")
    ax.set_title("Preference test: individual differences (cf. VM-NET Fig. 7)")
    ax.legend(loc="lower right", fontsize=8, title="direction")
    fig.tight_layout()
    return fig


def bt_items_figure(strengths: pd.DataFrame, labels: pd.Series | None, title: str) -> plt.Figure:
    data = strengths.sort_values("log_strength")
    n = len(data)
    fig, ax = plt.subplots(figsize=(7, max(3, min(0.16 * n + 1.5, 14))))
    y = np.arange(n)
    ax.errorbar(data["log_strength"], y, xerr=1.96 * data["se"], fmt="o", markersize=3, color="#4c72b0", capsize=0)
    if labels is not None and n <= 80:
        ax.set_yticks(y, [f"{labels.get(i, '')} #{i}" for i in data["item"]], fontsize=6)
    else:
        ax.set_yticks([])
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("Bradley-Terry log-strength (centred) with 95% CI")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def bt_category_heatmap(table: pd.DataFrame, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * table.shape[1] + 2.5), max(3, 0.35 * table.shape[0] + 1.8)))
    sns.heatmap(table, cmap=FIT_CMAP, center=0, ax=ax, cbar_kws={"label": "log-strength"})
    ax.set_title(title)
    fig.tight_layout()
    return fig


def power_curve(table: pd.DataFrame, *, x: str, ys: dict[str, str], target: float, xlabel: str, ylabel: str):
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for column, label in ys.items():
        ax.plot(table[x], table[column], marker="o", label=label)
    ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def montage_figure(ranking: pd.DataFrame, preferences: pd.DataFrame, retrieval: pd.DataFrame) -> plt.Figure:
    """The montage study in three panels: Bradley-Terry scores of every system with worker-bootstrap
    CIs; each model's share of judgments preferred over R (GEE, worker clusters) with its CI; and R@K
    of each model against its BT score (when retrieval metrics are given)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    left, middle, right = axes
    table = ranking.sort_values("bt_score")
    y = np.arange(len(table))
    error = np.vstack([table["bt_score"] - table["ci_low"], table["ci_high"] - table["bt_score"]]).clip(min=0)
    colours = ["#4c72b0" if s not in ("G", "R", "anti") else "#999999" for s in table["system"]]
    left.errorbar(table["bt_score"], y, xerr=np.nan_to_num(error), fmt="none", ecolor="#555", capsize=3)
    left.scatter(table["bt_score"], y, color=colours, zorder=3)
    left.set_yticks(y, table["system"])
    left.axvline(0, color="#bbb", lw=0.8, ls="--")
    left.set_xlabel("Bradley-Terry score (log-strength, centred)")
    left.set_title("All systems (95% worker-bootstrap CI)")
    order = {system: position for position, system in enumerate(table["system"])}  # as in the left panel
    versus_r = preferences[preferences["opponent"] == "R"]
    versus_r = versus_r.assign(_order=versus_r["model"].map(order)).sort_values("_order")
    if versus_r.empty:
        middle.text(0.5, 0.5, "no model-vs-R judgments", ha="center", va="center", transform=middle.transAxes)
    else:
        ym = np.arange(len(versus_r))
        err = np.vstack([versus_r["share"] - versus_r["ci_low"], versus_r["ci_high"] - versus_r["share"]])
        middle.errorbar(versus_r["share"], ym, xerr=np.nan_to_num(err.clip(min=0)), fmt="o", color="#4c72b0", capsize=3)
        middle.set_yticks(ym, versus_r["model"])
        middle.set_ylim(-0.7, len(versus_r) - 0.3)
        middle.set_xlim(0, 1)
    middle.axvline(0.5, color="#bbb", lw=0.8, ls="--")
    middle.set_xlabel("share preferring the model's montage over R")
    middle.set_title("Model vs random (GEE, worker clusters)")
    ok = retrieval[retrieval.get("status", pd.Series(dtype=object)) == "ok"] if not retrieval.empty else retrieval
    if ok.empty:
        right.text(
            0.5, 0.5, "no retrieval metrics\n(--models-dir)", ha="center", va="center", transform=right.transAxes
        )
    else:
        scores = ranking.set_index("system")["bt_score"]
        for direction, marker in (("V2M", "o"), ("M2V", "s")):
            part = ok[ok["direction"] == direction]
            for k, colour in (("r_at_1", "#4c72b0"), ("r_at_5", "#dd8452"), ("r_at_10", "#55a868")):
                right.scatter(
                    part[k],
                    scores.reindex(part["model"]).to_numpy(),
                    marker=marker,
                    color=colour,
                    label=f"{k.replace('r_at_', 'R@')} {direction}",
                )
        for _, row in ok[ok["direction"] == "V2M"].iterrows():
            right.annotate(row["model"], (row["r_at_1"], scores.get(row["model"], np.nan)), fontsize=7, alpha=0.7)
        right.legend(fontsize=7, ncol=2)
    right.set_xlabel("recall at K (retrieval of the ground truth)")
    right.set_ylabel("human Bradley-Terry score")
    right.set_title("Does recall predict what people prefer?")
    fig.tight_layout()
    return fig
