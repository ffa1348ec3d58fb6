"""Genre-fit profiles and correlation clustering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from sklearn.metrics import adjusted_rand_score

from analysis.profiles import (
    choose_k,
    cluster_mean_profiles,
    cluster_profiles,
    correlation_linkage,
    cut,
    genre_profiles,
    memberships,
    sample_for_display,
)

GENRES = ["ambient", "classical", "country", "metal", "rock", "techno"]


def test_profiles_are_per_video_genre_means_with_missing_cells_filled_by_the_video_mean():
    rows = [
        (1, "beach", "ambient", 6),
        (1, "beach", "ambient", 4),
        (1, "beach", "metal", 1),
        (1, "beach", "rock", 2),
        (2, "city", "ambient", 2),
        (2, "city", "metal", 7),
        (2, "city", "country", 3),
        (3, "city", "ambient", 4),
        (3, "city", "metal", 4),
        (3, "city", "rock", 4),
    ]
    data = pd.DataFrame(rows, columns=["video_id", "scene_label", "genre_label", "rating"])
    profiles, scenes, notes = genre_profiles(data, value="rating", min_genres=3)
    assert list(profiles.index) == [1, 2]  # video 3 is flat (4 everywhere): no correlation profile
    assert profiles.loc[1, "ambient"] == 5.0 and profiles.loc[1, "metal"] == 1.0
    assert profiles.loc[1, "country"] == pytest.approx((5 + 1 + 2) / 3)  # filled with the video's mean
    assert profiles.loc[2, "rock"] == pytest.approx(4.0)
    assert scenes.to_dict() == {1: "beach", 2: "city"}
    assert any("filled with the video's mean" in n for n in notes)
    assert any("same mean for every genre" in n for n in notes)


def two_groups(rng, n=20):
    pattern = np.array([2.0, 1.5, 1.0, -1.0, -1.5, -2.0])
    sign = np.repeat([1, -1], n // 2)
    values = sign[:, None] * pattern + rng.normal(0, 0.4, (n, 6)) + rng.normal(0, 3, (n, 1))  # offsets are ignored
    return pd.DataFrame(values, index=pd.Index(np.arange(n) + 1, name="video_id"), columns=GENRES), sign


@pytest.mark.parametrize("method", ["average", "complete", "single", "weighted", "ward"])
def test_anticorrelated_profiles_form_two_clusters(method):
    profiles, sign = two_groups(np.random.default_rng(0))
    result = cluster_profiles(profiles, method=method, video_clusters=2, genre_clusters=2)
    assert adjusted_rand_score(sign, result.video_clusters) == 1.0
    # Genres: the first three go together, the last three together.
    assert adjusted_rand_score([0, 0, 0, 1, 1, 1], result.genre_clusters.loc[GENRES]) == 1.0


def test_ward_on_standardised_rows_is_ward_on_correlation_distance():
    # For rows centred and scaled to unit norm, squared Euclidean distance = 2 (1 - r).
    x = np.random.default_rng(1).normal(size=(5, 7))
    centred = x - x.mean(axis=1, keepdims=True)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    np.testing.assert_allclose(pdist(unit, "sqeuclidean"), 2 * pdist(x, "correlation"))


@settings(max_examples=25, deadline=None)
@given(
    scales=st.lists(st.floats(0.1, 10), min_size=12, max_size=12),
    shifts=st.lists(st.floats(-5, 5), min_size=12, max_size=12),
)
def test_clustering_ignores_each_videos_level_and_spread(scales, shifts):
    profiles, _ = two_groups(np.random.default_rng(2), n=12)
    moved = profiles.mul(scales, axis=0).add(shifts, axis=0)
    np.testing.assert_allclose(
        correlation_linkage(profiles.to_numpy()), correlation_linkage(moved.to_numpy()), atol=1e-8
    )


def test_silhouette_picks_three_for_three_separated_groups():
    rng = np.random.default_rng(3)
    patterns = np.array([[3, 0, 0, -3, 0, 0], [0, 3, 0, 0, -3, 0], [0, 0, 3, 0, 0, -3]], dtype=float)
    values = np.repeat(patterns, 10, axis=0) + rng.normal(0, 0.3, (30, 6))
    linkage = correlation_linkage(values)
    k, scores = choose_k(values, linkage, max_k=6)
    assert k == 3 and scores.idxmax() == 3


def test_cut_labels_clusters_in_dendrogram_order():
    profiles, _ = two_groups(np.random.default_rng(4))
    linkage = correlation_linkage(profiles.to_numpy())
    labels = cut(linkage, 2)
    from scipy.cluster.hierarchy import leaves_list

    first_leaf = leaves_list(linkage)[0]
    assert labels[first_leaf] == 1 and set(labels) == {1, 2}


def test_memberships_and_cluster_means_are_exportable(tmp_path):
    profiles, sign = two_groups(np.random.default_rng(5))
    scenes = pd.Series(np.where(sign > 0, "beach", "city"), index=profiles.index)
    result = cluster_profiles(profiles, video_clusters=2, genre_clusters=2)
    tables = memberships(profiles, scenes, result)
    videos = tables["video_clusters"]
    assert list(videos.columns) == ["video_id", "scene_label", "cluster", "leaf_order"]
    assert sorted(videos["leaf_order"]) == list(range(len(profiles)))
    assert pd.crosstab(videos["cluster"], videos["scene_label"]).to_numpy().max(axis=1).tolist() == [10, 10]
    videos.to_csv(tmp_path / "v.csv", index=False)
    assert pd.read_csv(tmp_path / "v.csv").shape == videos.shape
    means = cluster_mean_profiles(profiles, result)
    assert means.shape == (2, 6)


def test_display_sample_keeps_every_cluster_and_respects_the_cap():
    profiles, _ = two_groups(np.random.default_rng(6), n=40)
    result = cluster_profiles(profiles, video_clusters=2, genre_clusters=2)
    shown, labels = sample_for_display(profiles, result, max_rows=10, seed=0)
    assert len(shown) <= 10 and set(labels) == {1, 2}
    assert labels.index.equals(shown.index)


def test_too_small_profiles_are_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 videos and 3 genres"):
        cluster_profiles(pd.DataFrame(np.eye(2)))
