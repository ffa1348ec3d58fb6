"""Compute (or load from the cache) the features of every stimulus a run needs, then pool them.

A *stream* is one extractor applied to one kind of stimulus: "rgb" and "flow" to clips, "audio" to
excerpts. The visual embedding of a clip is the concatenation of its pooled visual streams, the
audio embedding of an excerpt its pooled audio stream(s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from training.data.export import Export
from training.errors import TrainingInputError
from training.features.cache import FeatureCache, FeatureExtractor

POOLINGS = ("mean", "mean-std")


@dataclass(frozen=True)
class Stream:
    """One extractor applied to one kind of stimulus."""

    name: str  # "rgb", "flow", "audio"
    item_kind: str  # "clip" or "excerpt"
    extractor: FeatureExtractor


def stream_description(streams: list[Stream]) -> list[dict]:
    """What a run records about its streams (and checks again before reusing the run's model)."""
    return [
        {
            "name": s.name,
            "item_kind": s.item_kind,
            "extractor": s.extractor.name,
            "dim": s.extractor.dim,
            "config": s.extractor.config(),
        }
        for s in streams
    ]


@dataclass
class FeatureStore:
    """Per-stream (T, D) arrays of each stimulus, keyed by item id."""

    streams: list[Stream]
    arrays: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)

    def kind_streams(self, item_kind: str) -> list[Stream]:
        return [s for s in self.streams if s.item_kind == item_kind]

    def dim(self, item_kind: str, *, pooling: str = "mean") -> int:
        factor = 2 if pooling == "mean-std" else 1
        return factor * sum(s.extractor.dim for s in self.kind_streams(item_kind))

    def matrix(self, item_kind: str, ids: Iterable[int], *, pooling: str = "mean") -> np.ndarray:
        """(N, D) float32: each item's pooled streams, concatenated in stream order."""
        if pooling not in POOLINGS:
            raise TrainingInputError(f"pooling must be one of {POOLINGS}, not {pooling!r}.")
        ids = [int(i) for i in ids]
        blocks = []
        for stream in self.kind_streams(item_kind):
            per_item = self.arrays[stream.name]
            missing = [i for i in ids if i not in per_item]
            if missing:
                raise KeyError(f"{stream.name} features missing for {item_kind} id(s) {missing[:5]}")
            blocks.append(np.stack([per_item[i].mean(axis=0) for i in ids]))
            if pooling == "mean-std":
                blocks.append(np.stack([per_item[i].std(axis=0) for i in ids]))
        if not blocks:
            raise TrainingInputError(f"no feature stream is configured for {item_kind}s.")
        return np.concatenate(blocks, axis=1).astype(np.float32)


def compute_features(
    export: Export,
    needed: Mapping[str, Iterable[int]],
    streams: list[Stream],
    cache: FeatureCache,
    *,
    media_root: Path | None = None,
    progress: bool = True,
) -> FeatureStore:
    """Features of every needed ``{item_kind: ids}`` for every stream, extracting what is not cached.

    All media paths are checked before any backbone runs, so a missing file fails fast; extracted
    features are stored one by one, so an interrupted run resumes where it stopped.
    """
    wanted = {kind: sorted({int(i) for i in ids}) for kind, ids in needed.items()}
    paths = {
        (kind, item_id): export.media_path(kind, item_id, media_root=media_root)
        for kind, ids in wanted.items()
        for item_id in ids
    }
    missing = [path for path in paths.values() if not path.is_file()]
    if missing:
        sample = "\n  ".join(str(p) for p in missing[:5])
        raise TrainingInputError(
            f"{len(missing)} media file(s) listed in stimuli.csv do not exist, e.g.:\n  {sample}\n"
            "Run training on the machine that holds the media, or pass --media-root for storage keys."
        )
    store = FeatureStore(streams=streams)
    for stream in streams:
        ids = wanted.get(stream.item_kind, [])
        arrays: dict[int, np.ndarray] = {}
        todo = []
        for item_id in ids:
            cached = cache.load(stream.extractor, paths[(stream.item_kind, item_id)])
            if cached is None:
                todo.append(item_id)
            else:
                arrays[item_id] = cached
        bar = tqdm(
            todo,
            desc=f"{stream.name} ({stream.extractor.name})",
            unit=stream.item_kind,
            disable=not progress or not todo,
        )
        for item_id in bar:
            path = paths[(stream.item_kind, item_id)]
            try:
                array = np.asarray(stream.extractor.extract(path), dtype=np.float32)
            except TrainingInputError:
                raise
            except (OSError, RuntimeError, ValueError) as exc:
                raise TrainingInputError(
                    f"{stream.extractor.name} could not process {stream.item_kind} {item_id} ({path}): {exc}"
                ) from exc
            if array.ndim != 2 or array.shape[1] != stream.extractor.dim or array.shape[0] == 0:
                raise TrainingInputError(
                    f"{stream.extractor.name} returned shape {array.shape} for {path}; "
                    f"expected (T>0, {stream.extractor.dim})."
                )
            cache.store(stream.extractor, path, array)
            arrays[item_id] = array
        store.arrays[stream.name] = arrays
    return store
