"""The latent crowd model: planted video and genre clusters, scene shifts and the fit matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.simulate.config import GENRE_NAMES, GENRES, SCENE_NAMES, SimulationConfig, label_names


@dataclass
class Latent:
    fit: np.ndarray  # videos x songs
    video_cluster: np.ndarray
    video_scene: np.ndarray
    song_genre: np.ndarray
    genre_cluster: np.ndarray
    affinity: np.ndarray  # clusters x genres
    scene_names: list[str]
    genre_names: list[str]


def _cluster_profiles(rng: np.random.Generator, clusters: int, genre_clusters: int, sd: float) -> np.ndarray:
    """Cluster x genre-cluster affinities, built so that planted clusters are distinct by construction
    (recovering them is then a question of rating noise, not of luck in the draw):

    * as many video as genre clusters: video cluster c prefers genre cluster c (like Langlois'
      nature scenes preferring calm music), so both clusterings are identifiable;
    * fewer video clusters than genre clusters: mutually uncorrelated (orthogonal after centring)
      video-cluster profiles;
    * otherwise random normal profiles.
    """
    if clusters == genre_clusters and clusters > 1:
        block = np.eye(clusters) - 1 / clusters
        block /= block.std(axis=1, keepdims=True)
        return sd * (block + rng.normal(0, 0.2, size=block.shape))
    raw = rng.normal(0, 1, size=(clusters, genre_clusters))
    if clusters <= genre_clusters - 1:
        centred = raw - raw.mean(axis=1, keepdims=True)
        basis = np.linalg.qr(np.eye(genre_clusters) - 1 / genre_clusters)[0][:, : genre_clusters - 1]
        coordinates = np.linalg.qr((centred @ basis).T)[0].T  # orthonormal rows in the centred subspace
        raw = coordinates @ basis.T * np.sqrt(genre_clusters)
    return sd * raw


def draw_latent(config: SimulationConfig, rng: np.random.Generator) -> Latent:
    g, c = config.n_genres, config.video_clusters
    genre_names = label_names(GENRE_NAMES, g)
    scene_names = label_names(SCENE_NAMES, config.scenes)
    families = np.array([family for _, family in GENRES])[np.arange(g) % len(GENRES)]
    genre_cluster = families % min(config.genre_clusters, g)
    if len(np.unique(genre_cluster)) < min(config.genre_clusters, g):  # more genre clusters than families
        genre_cluster = rng.permutation(np.arange(g) % min(config.genre_clusters, g))
    block = _cluster_profiles(rng, c, min(config.genre_clusters, g), config.affinity_sd)
    affinity = block[:, genre_cluster] + rng.normal(0, 0.25 * config.affinity_sd, size=(c, g))
    # Scenes belong to clusters in contiguous blocks (coast scenes to one, urban to another, ...).
    scene_cluster = np.arange(config.scenes) * c // config.scenes
    video_cluster = rng.permutation(np.arange(config.videos) % c)
    video_scene = np.empty(config.videos, dtype=int)
    for cluster in range(c):
        members = np.flatnonzero(video_cluster == cluster)
        scenes = np.flatnonzero(scene_cluster == cluster)
        if len(scenes) == 0:  # more clusters than scenes: share scene labels
            scenes = np.array([cluster % config.scenes])
        video_scene[members] = rng.choice(scenes, size=len(members))
    song_genre = rng.permutation(np.arange(config.songs) % g)
    scene_shift = rng.normal(0, config.scene_sd, size=(config.scenes, g))
    video_profile = rng.normal(0, config.video_sd, size=(config.videos, g))
    fit = (
        affinity[video_cluster][:, song_genre]
        + scene_shift[video_scene][:, song_genre]
        + video_profile[:, song_genre]
        + rng.normal(0, config.video_offset_sd, size=(config.videos, 1))
        + rng.normal(0, config.song_offset_sd, size=(1, config.songs))
    )
    return Latent(fit, video_cluster, video_scene, song_genre, genre_cluster, affinity, scene_names, genre_names)
