"""Figures (issue 13, finding 5): the clustermap draws the full data's tree, and scenes have one palette."""

from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster import hierarchy

from analysis import figures, profiles


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(4, 60),
    method=st.sampled_from(profiles.LINKAGES),
    share=st.floats(0.05, 1.0),
    k=st.integers(1, 6),
)
def test_the_subtree_keeps_the_full_trees_order_and_cut(seed, n, method, share, k):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, 6))
    full = profiles.correlation_linkage(data, method)
    keep = np.sort(rng.choice(n, size=max(2, round(share * n)), replace=False))
    sub = figures.subtree_linkage(full, keep)
    assert hierarchy.is_valid_linkage(sub)
    full_order = hierarchy.leaves_list(full)
    assert keep[hierarchy.leaves_list(sub)].tolist() == [leaf for leaf in full_order if leaf in set(keep)]
    height = figures.cut_height(full, min(k, n))
    full_labels = hierarchy.fcluster(full, height, criterion="distance")[keep]
    sub_labels = hierarchy.fcluster(sub, height, criterion="distance")
    # the same partition of the kept leaves (label numbers may differ)
    assert len(set(zip(full_labels, sub_labels, strict=True))) == len(set(full_labels)) == len(set(sub_labels))


def test_subtree_linkage_refuses_bad_leaf_lists():
    full = profiles.correlation_linkage(np.random.default_rng(0).normal(size=(6, 5)))
    for keep in ([3], [2, 2, 4], [4, 2], [0, 6]):
        with pytest.raises(ValueError, match="leaf positions"):
            figures.subtree_linkage(full, np.array(keep))


@pytest.fixture(scope="module")
def study():
    rng = np.random.default_rng(3)
    videos, genres, clusters = 150, 8, 3
    centre = rng.normal(size=(clusters, genres))
    membership = rng.integers(0, clusters, size=videos)
    matrix = pd.DataFrame(
        centre[membership] + rng.normal(0, 0.9, size=(videos, genres)),
        index=pd.Index(np.arange(videos) + 1, name="video_id"),
        columns=[f"genre {g}" for g in range(genres)],
    )
    scene_names = np.array([f"scene {s:02d}" for s in range(17)])
    scenes = pd.Series(scene_names[rng.integers(0, 17, size=videos)], index=matrix.index)
    clustering = profiles.cluster_profiles(matrix, video_clusters=3, genre_clusters=3)
    shown, _ = profiles.sample_for_display(matrix, clustering, max_rows=40, seed=1)
    return matrix, scenes, clustering, shown


def _heatmap_rows(figure) -> list[str]:
    for axis in figure.axes:
        labels = [t.get_text() for t in axis.get_yticklabels()]
        if labels and all("#" in label for label in labels):
            return labels
    raise AssertionError("no heatmap with video labels")


def test_the_clustermap_draws_a_sample_in_the_full_trees_order(study):
    matrix, scenes, clustering, shown = study
    figure = figures.genre_fit_clustermap(
        matrix, scenes, clustering, shown=shown.index, value_label="mean z-score", title="t"
    )
    drawn = [int(label.rsplit("#", 1)[1]) for label in _heatmap_rows(figure)]
    in_full_order = [v for v in matrix.index[hierarchy.leaves_list(clustering.row_linkage)] if v in set(shown.index)]
    assert drawn == in_full_order
    heatmap = next(a for a in figure.axes if a.get_xlabel() == "music genre")
    genre_order = matrix.columns[hierarchy.leaves_list(clustering.col_linkage)].tolist()
    assert [t.get_text() for t in heatmap.get_xticklabels()] == genre_order
    # the displayed videos of one cluster are contiguous, as they are in the full tree
    cluster_runs = clustering.video_clusters.loc[drawn]
    assert (cluster_runs != cluster_runs.shift()).sum() == cluster_runs.nunique()
    # the dashed line on the row dendrogram cuts the full tree into the report's video clusters
    height = figures.cut_height(clustering.row_linkage, clustering.n_video_clusters)
    at_line = hierarchy.fcluster(clustering.row_linkage, height, criterion="distance")
    assert len(set(zip(at_line, clustering.video_clusters, strict=True))) == clustering.n_video_clusters
    dendrogram = next(a for a in figure.axes if any(line.get_linestyle() == "--" for line in a.get_lines()))
    cut_line = next(line for line in dendrogram.get_lines() if line.get_linestyle() == "--")
    assert cut_line.get_xdata()[0] == pytest.approx(height)
    low, high = sorted(dendrogram.get_xlim())
    assert low <= height <= high
    plt.close(figure)


def _legend_colours(legend) -> dict[str, str]:
    return {
        text.get_text(): mcolors.to_hex(handle.get_facecolor())
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


def test_scenes_have_the_same_colour_in_the_clustermap_and_the_cluster_profiles(study):
    matrix, scenes, clustering, shown = study
    clustermap = figures.genre_fit_clustermap(
        matrix, scenes, clustering, shown=shown.index, value_label="mean z-score", title="t"
    )
    composition = pd.crosstab(clustering.video_clusters, scenes.reindex(matrix.index))
    composition.columns.name = None
    means = profiles.cluster_mean_profiles(matrix, clustering)
    bars = figures.cluster_profiles_figure(means, composition, "z")
    in_clustermap = _legend_colours(clustermap.legends[0])
    in_profiles = _legend_colours(next(a.get_legend() for a in bars.axes if a.get_legend()))
    assert len(in_clustermap) >= 10 and set(in_clustermap) <= set(in_profiles)
    assert {scene: in_profiles[scene] for scene in in_clustermap} == in_clustermap
    assert len(set(in_profiles.values())) == len(in_profiles)  # 17 scenes, 17 colours
    plt.close(clustermap)
    plt.close(bars)


def _png(figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def test_the_subject_boxplot_is_the_same_picture_every_time_and_leaves_numpys_state_alone():
    rng = np.random.default_rng(0)
    per_subject = pd.DataFrame(
        {
            "worker_id": np.repeat([f"W{i}" for i in range(12)], 2),
            "condition": "GR",
            "direction": np.tile(["V2M", "M2V"], 12),
            "share": rng.uniform(0.4, 1.0, size=24),
        }
    )
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    first, second = _png(figures.subject_boxplot(per_subject)), _png(figures.subject_boxplot(per_subject))
    assert first == second
    assert (np.random.get_state()[1] == before).all()
    assert _png(figures.subject_boxplot(per_subject, seed=1)) != first
