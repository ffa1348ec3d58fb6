"""Distances between song segments and library items: from a published model, or from embeddings.

A *scorer* answers one question: for these song segments (or this video) and these library items, how
far is each pair (a ``(segments, items)`` array, smaller = better fit), and which model says so
(``model_version``, recorded in the provenance).

- :class:`EmbeddingScorer`: precomputed, comparable embeddings passed in (any model, computed anywhere);
  distance = 1 - cosine similarity, in [0, 2].
- :class:`ModelScorer`: a model of the registry, ``NAME@VERSION`` (``publish-model`` of a
  ``retrieval-compare`` model). It rebuilds the representations the model was trained with, embeds the
  song's segments with the music branch and each library item with its branch (the clip-level
  aggregation over the whole item; features go through the feature cache, so a library is extracted
  once), and scores pairs as the model does: cosine of the unit embeddings, or the BCE head's similarity
  2p - 1; distance = 1 - similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.errors import TrainingInputError
from training.montage.library import LibraryItem


def cosine_distances(queries: np.ndarray, items: np.ndarray) -> np.ndarray:
    queries, items = np.asarray(queries, dtype=np.float64), np.asarray(items, dtype=np.float64)
    if queries.ndim != 2 or items.ndim != 2 or queries.shape[1] != items.shape[1]:
        raise TrainingInputError(f"embeddings must be 2-D with one width, got {queries.shape} and {items.shape}.")
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    v = items / np.maximum(np.linalg.norm(items, axis=1, keepdims=True), 1e-12)
    return 1.0 - q @ v.T


class EmbeddingScorer:
    """Precomputed embeddings: ``queries`` (one row per segment, or per video) and ``items`` (one per item)."""

    def __init__(self, *, queries: np.ndarray, items: np.ndarray, model_version: str) -> None:
        self.queries, self.items, self.model_version = np.asarray(queries), np.asarray(items), model_version

    def _distances(self, n_queries: int, n_items: int) -> np.ndarray:
        if len(self.queries) != n_queries or len(self.items) != n_items:
            raise TrainingInputError(
                f"embeddings for {len(self.queries)} queries and {len(self.items)} items were passed; "
                f"there are {n_queries} queries (segments or videos) and {n_items} library items."
            )
        return cosine_distances(self.queries, self.items)

    def song_distances(self, song: Path, spans, clips: Sequence[LibraryItem], *, progress: bool = False) -> np.ndarray:
        return self._distances(len(spans), len(clips))

    def video_distances(self, video_path: Path, excerpts: Sequence[LibraryItem], *, progress: bool = False):
        return self._distances(1, len(excerpts))


class ModelScorer:
    """A published retrieval model, ``NAME@VERSION``, applied to new media."""

    def __init__(self, spec: str, *, models_dir: str | Path | None = None, cache_dir: str | Path | None = None):
        from training.features.cache import FeatureCache
        from training.features.extractors import BackboneSettings
        from training.registry import RegistryError, read_manifest
        from training.representations import build_representation
        from training.retrieval.av_runs import av_model_version, load_av_run
        from training.retrieval.protocol import Embedder
        from training.retrieval.publish import default_models_dir, run_kind

        name, sep, version = spec.partition("@")
        if not sep:
            raise TrainingInputError(f"--model {spec!r}: name a published model as NAME@VERSION.")
        try:
            _, manifest = read_manifest(models_dir or default_models_dir(), name, version)
        except RegistryError as exc:
            raise TrainingInputError(str(exc)) from exc
        run_dir = Path(manifest["run"])
        if run_kind(run_dir) != "mvfit-av-retrieval":
            raise TrainingInputError(
                f"model {spec} was published from a train-retrieval run, whose backbone features cannot embed a "
                "whole song's segments; publish a retrieval-compare model (docs/retrieval.md) for montages."
            )
        payload, model = load_av_run(run_dir)
        config = payload["config"]
        settings = BackboneSettings(**config["backbones"])
        self.audio = build_representation(config["audio"], modality="audio", settings=settings)
        self.video = build_representation(config["video"], modality="video", settings=settings)
        level = config["level"]
        self.how = config["aggregation"]["clip" if level == "clip" else "segment"]
        self.embedder = Embedder(model)
        self.cache = FeatureCache(cache_dir) if cache_dir else None
        self.spec = spec
        self.model_version = av_model_version(run_dir)

    def _rows(self, representation, path: Path, spans: Sequence[tuple[float, float]] | None) -> np.ndarray:
        from training.representations.base import aggregate, aggregate_spans
        from training.retrieval.library import load_frames

        frames = load_frames(representation, Path(path), self.cache)
        if spans is None:
            return aggregate(frames, self.how)[None, :]
        return aggregate_spans(frames, representation.hop_s, spans, self.how)

    def _similarity(self, video: np.ndarray, music: np.ndarray) -> np.ndarray:
        head = self.embedder.similarity()
        return head(video, music) if head is not None else video @ music.T

    def _embed_items(self, items: Sequence[LibraryItem], modality: str, progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm

        representation = self.video if modality == "video" else self.audio
        embed = self.embedder.video if modality == "video" else self.embedder.music
        rows = [
            self._rows(representation, item.path, None) for item in tqdm(items, desc="library", disable=not progress)
        ]
        return embed(np.concatenate(rows))

    def song_distances(self, song: Path, spans, clips: Sequence[LibraryItem], *, progress: bool = False) -> np.ndarray:
        """(segments, clips): the music branch on each segment of the song against each clip's video."""
        music = self.embedder.music(self._rows(self.audio, song, spans))
        video = self._embed_items(clips, "video", progress)
        return 1.0 - self._similarity(video, music).T

    def video_distances(self, video_path: Path, excerpts: Sequence[LibraryItem], *, progress: bool = False):
        """(1, excerpts): the video branch on the whole video against each excerpt's music."""
        video = self.embedder.video(self._rows(self.video, video_path, None))
        music = self._embed_items(excerpts, "audio", progress)
        return 1.0 - self._similarity(video, music)
