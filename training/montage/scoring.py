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
    """Precomputed embeddings of the song (or the video) and of the library's items, in one space.

    ``items``: one row per library item, in the library's order. The query side is either ``queries``
    (one row per segment, or one for the video: the caller segmented the song the same way) or
    ``frames`` with ``hop_s`` (rows every ``hop_s`` seconds over the whole song or video, e.g. an OpenL3
    or a joint-space sequence): each segment is the mean of the rows whose centre lies inside it, the
    video the mean of all rows.
    """

    def __init__(
        self,
        *,
        items: np.ndarray,
        model_version: str,
        queries: np.ndarray | None = None,
        frames: np.ndarray | None = None,
        hop_s: float | None = None,
    ) -> None:
        if (queries is None) == (frames is None) or (frames is not None and not (hop_s or 0) > 0):
            raise TrainingInputError("pass either per-segment 'queries', or 'frames' with a positive 'hop_s'.")
        self.items, self.model_version = np.asarray(items, dtype=np.float64), model_version
        self.queries = None if queries is None else np.asarray(queries, dtype=np.float64)
        self.frames = None if frames is None else np.asarray(frames, dtype=np.float64)
        self.hop_s = hop_s

    def _check_items(self, n_items: int) -> None:
        if len(self.items) != n_items:
            raise TrainingInputError(f"embeddings for {len(self.items)} items were passed; the library has {n_items}.")

    def song_distances(self, song: Path, spans, clips: Sequence[LibraryItem], *, progress: bool = False) -> np.ndarray:
        self._check_items(len(clips))
        if self.frames is not None:
            from training.representations.base import aggregate_spans

            return cosine_distances(aggregate_spans(self.frames, self.hop_s, spans, "mean"), self.items)
        if len(self.queries) != len(spans):
            raise TrainingInputError(
                f"embeddings for {len(self.queries)} segments were passed; the song has {len(spans)} segments."
            )
        return cosine_distances(self.queries, self.items)

    def video_distances(self, video_path: Path, excerpts: Sequence[LibraryItem], *, progress: bool = False):
        self._check_items(len(excerpts))
        rows = self.frames if self.frames is not None else self.queries
        return cosine_distances(rows.mean(axis=0, keepdims=True), self.items)


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
