"""Genre-fit profiles and their hierarchical correlation clustering (Langlois Figs. 2-3).

A video's *genre-fit profile* is its mean fit rating with each music genre. Videos whose profiles
correlate (e.g. nature scenes that suit classical and ambient music) cluster together; genres are
clustered the same way across videos. Distances are correlation distances (1 - Pearson r), so a
video that is rated high with everything is not separated from one rated low with everything if
both prefer the same genres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy
from scipy.spatial.distance import pdist, squareform

from analysis.validation import validate_frame

LINKAGES = ("average", "complete", "single", "weighted", "ward")


def genre_profiles(
    ratings: pd.DataFrame, *, value: str = "z", min_genres: int = 3, duplicates: str = "refuse"
) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Videos x genres matrix of mean ``value`` (``rating`` or the worker z-score ``z``).

    Cells a video never got rated in are filled with that video's mean over its other genres (a
    neutral value for correlation distance); videos with fewer than ``min_genres`` rated genres or
    a flat profile are dropped. Returns (profiles, scene label per video, notes).
    """
    ratings = validate_frame(
        ratings,
        table="ratings",
        columns=["video_id", "genre_label", "scene_label", value],
        function="genre_profiles",
        duplicates=duplicates,
    )
    notes: list[str] = []
    data = ratings.dropna(subset=[value, "video_id", "genre_label"])
    table = data.pivot_table(index="video_id", columns="genre_label", values=value, aggfunc="mean", observed=True)
    table = table.sort_index(axis=0).sort_index(axis=1)
    table.columns = table.columns.astype(str)
    observed = table.notna().sum(axis=1)
    few = observed < min_genres
    if few.any():
        notes.append(f"{int(few.sum())} video(s) rated with fewer than {min_genres} genres were left out.")
        table = table[~few]
    missing = int(table.isna().sum().sum())
    if missing:
        notes.append(
            f"{missing} video x genre cell(s) had no rating and were filled with the video's mean "
            f"({missing / table.size:.1%} of the matrix)."
        )
        table = table.T.fillna(table.mean(axis=1)).T
    flat = table.std(axis=1, ddof=0) <= 1e-12
    if flat.any():
        notes.append(f"{int(flat.sum())} video(s) with the same mean for every genre were left out.")
        table = table[~flat]
    scenes = data.drop_duplicates("video_id").set_index("video_id")["scene_label"].reindex(table.index)
    table.index.name = "video_id"
    table.columns.name = "genre_label"
    return table, scenes, notes


@dataclass
class Clustering:
    """Row (video) and column (genre) clusterings of a profile matrix."""

    row_linkage: np.ndarray
    col_linkage: np.ndarray
    video_clusters: pd.Series
    genre_clusters: pd.Series
    silhouettes: pd.Series
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_video_clusters(self) -> int:
        return int(self.video_clusters.nunique())


def correlation_linkage(matrix: np.ndarray, method: str = "average") -> np.ndarray:
    """Hierarchical clustering of the rows of ``matrix`` with correlation distance.

    Ward's criterion needs Euclidean geometry; for rows standardised to mean 0 and norm 1 the
    squared Euclidean distance is exactly 2 x (1 - r), so Ward runs on the standardised rows, which
    makes it Ward on correlation distance.
    """
    if method not in LINKAGES:
        raise ValueError(f"linkage must be one of {', '.join(LINKAGES)}, not {method!r}")
    x = np.asarray(matrix, dtype=float)
    if method == "ward":
        centred = x - x.mean(axis=1, keepdims=True)
        standardised = centred / np.linalg.norm(centred, axis=1, keepdims=True)
        return hierarchy.linkage(standardised, method="ward", metric="euclidean")
    distances = np.clip(pdist(x, metric="correlation"), 0, 2)
    return hierarchy.linkage(distances, method=method)


def cut(linkage: np.ndarray, k: int) -> np.ndarray:
    """Flat cluster labels 1..k, numbered in dendrogram leaf order (stable, readable labels)."""
    raw = hierarchy.fcluster(linkage, t=k, criterion="maxclust")
    order = hierarchy.leaves_list(linkage)
    relabel: dict[int, int] = {}
    for leaf in order:
        relabel.setdefault(int(raw[leaf]), len(relabel) + 1)
    return np.array([relabel[int(label)] for label in raw])


def choose_k(matrix: np.ndarray, linkage: np.ndarray, *, max_k: int = 10) -> tuple[int, pd.Series]:
    """Number of clusters with the best mean silhouette (correlation distance), searched in 2..max_k."""
    from sklearn.metrics import silhouette_score

    n = len(matrix)
    distances = squareform(np.clip(pdist(np.asarray(matrix, dtype=float), metric="correlation"), 0, 2))
    scores = {}
    for k in range(2, min(max_k, n - 1) + 1):
        labels = cut(linkage, k)
        if len(set(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(distances, labels, metric="precomputed"))
    if not scores:
        return 1, pd.Series(dtype=float, name="silhouette")
    series = pd.Series(scores, name="silhouette")
    series.index.name = "k"
    return int(series.idxmax()), series


def cluster_profiles(
    profiles: pd.DataFrame,
    *,
    method: str = "average",
    video_clusters: int | None = None,
    genre_clusters: int | None = None,
    max_k: int = 10,
) -> Clustering:
    """Cluster videos (rows) and genres (columns); ``None`` cluster counts are chosen by silhouette."""
    n_videos, n_genres = profiles.shape
    if n_videos < 3 or n_genres < 3:
        raise ValueError(f"clustering needs at least 3 videos and 3 genres (got {n_videos} x {n_genres})")
    notes: list[str] = []
    values = profiles.to_numpy(dtype=float)
    row_linkage = correlation_linkage(values, method)
    columns = values.T
    flat_genres = columns.std(axis=1) <= 1e-12
    if flat_genres.any():
        raise ValueError("a genre has the same mean fit for every video; correlation distance is undefined")
    col_linkage = correlation_linkage(columns, method)
    if video_clusters is None:
        video_clusters, silhouettes = choose_k(values, row_linkage, max_k=max_k)
        notes.append(f"{video_clusters} video clusters chosen by the best mean silhouette in 2..{max_k}.")
    else:
        silhouettes = pd.Series(dtype=float, name="silhouette")
    if genre_clusters is None:
        genre_clusters, _ = choose_k(columns, col_linkage, max_k=min(max_k, n_genres - 1))
    video_labels = cut(row_linkage, min(video_clusters, n_videos))
    genre_labels = cut(col_linkage, min(genre_clusters, n_genres))
    return Clustering(
        row_linkage=row_linkage,
        col_linkage=col_linkage,
        video_clusters=pd.Series(video_labels, index=profiles.index, name="cluster"),
        genre_clusters=pd.Series(genre_labels, index=profiles.columns, name="cluster"),
        silhouettes=silhouettes,
        method=method,
        notes=notes,
    )


def memberships(profiles: pd.DataFrame, scenes: pd.Series, clustering: Clustering) -> dict[str, pd.DataFrame]:
    """Exportable tables: video and genre cluster memberships with dendrogram leaf order."""
    video_order = np.empty(len(profiles), dtype=int)
    video_order[hierarchy.leaves_list(clustering.row_linkage)] = np.arange(len(profiles))
    genre_order = np.empty(profiles.shape[1], dtype=int)
    genre_order[hierarchy.leaves_list(clustering.col_linkage)] = np.arange(profiles.shape[1])
    videos = pd.DataFrame(
        {
            "video_id": profiles.index.to_numpy(),
            "scene_label": scenes.reindex(profiles.index).to_numpy(),
            "cluster": clustering.video_clusters.to_numpy(),
            "leaf_order": video_order,
        }
    )
    genres = pd.DataFrame(
        {
            "genre_label": profiles.columns.to_numpy(),
            "cluster": clustering.genre_clusters.to_numpy(),
            "leaf_order": genre_order,
        }
    )
    return {"video_clusters": videos, "genre_clusters": genres}


def cluster_mean_profiles(profiles: pd.DataFrame, clustering: Clustering) -> pd.DataFrame:
    """Clusters x genres mean profile, genres in dendrogram order."""
    order = profiles.columns[hierarchy.leaves_list(clustering.col_linkage)]
    means = profiles.groupby(clustering.video_clusters).mean()[order]
    means.index.name = "cluster"
    return means


def sample_for_display(
    profiles: pd.DataFrame, clustering: Clustering, *, max_rows: int, seed: int
) -> tuple[pd.DataFrame, pd.Series]:
    """A cluster-stratified random sample of at most ``max_rows`` videos (Langlois showed 100)."""
    if len(profiles) <= max_rows:
        return profiles, clustering.video_clusters
    rng = np.random.default_rng(seed)
    labels = clustering.video_clusters
    chosen: list[object] = []
    for _label, members in labels.groupby(labels):
        take = min(len(members), max(1, round(max_rows * len(members) / len(labels))))
        chosen.extend(rng.choice(members.index.to_numpy(), size=take, replace=False).tolist())
    index = pd.Index(chosen[:max_rows])
    return profiles.loc[index], labels.loc[index]
