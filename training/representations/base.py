"""The one interface of a frame-level representation, and temporal aggregation over time spans.

A *representation* turns one media file into a (T, D) float32 array, one row per analysis frame, like
the frozen backbones of :mod:`training.features.extractors` (it is a
:class:`~training.features.cache.FeatureExtractor`, so its output is cached the same way), plus:

``modality``  ``"audio"`` or ``"video"``;
``hop_s``     seconds between consecutive rows: row k describes the frame that starts at k * hop_s;
``cacheable`` whether outputs go through the feature cache (False when reading them is already cheap).

Knowing the time of each row is what lets one set of frame features serve every level: a whole clip
is aggregated from all its rows, a segment [start, end) from the rows whose centre lies inside it.

Temporal aggregation (``AGGREGATIONS``): ``mean`` (Seg-VM-Net's segment features) or
``mean-var-max`` (VM-NET's music-level statistics and Prétet et al.'s pretrained embeddings: mean,
variance and maximum of each dimension, concatenated, so 3 D values).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from training.errors import TrainingInputError

AGGREGATIONS = ("mean", "mean-var-max")
MODALITIES = ("audio", "video")


class Representation(Protocol):
    name: str
    dim: int
    modality: str
    hop_s: float
    cacheable: bool

    def config(self) -> dict: ...

    def extract(self, path: Path) -> np.ndarray: ...


@dataclass(frozen=True)
class Timed:
    """Gives a frozen-backbone extractor (no notion of time) the attributes of a representation."""

    extractor: object
    modality: str
    hop_s: float
    cacheable: bool = True

    @property
    def name(self) -> str:
        return self.extractor.name

    @property
    def dim(self) -> int:
        return self.extractor.dim

    def config(self) -> dict:
        return self.extractor.config()

    def extract(self, path: Path) -> np.ndarray:
        return self.extractor.extract(path)


def aggregated_dim(dim: int, how: str) -> int:
    check_aggregation(how)
    return dim if how == "mean" else 3 * dim


def check_aggregation(how: str) -> None:
    if how not in AGGREGATIONS:
        raise TrainingInputError(f"temporal aggregation must be one of {', '.join(AGGREGATIONS)}, not {how!r}.")


def aggregate(frames: np.ndarray, how: str) -> np.ndarray:
    """(T, D) rows → one (D,) or (3 D,) vector."""
    check_aggregation(how)
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or len(frames) == 0:
        raise ValueError(f"need a non-empty (T, D) array of frames, got shape {frames.shape}.")
    mean = frames.mean(axis=0)
    if how == "mean":
        return mean.astype(np.float32)
    return np.concatenate([mean, frames.var(axis=0), frames.max(axis=0)]).astype(np.float32)


def span_rows(n_rows: int, hop_s: float, start_s: float, end_s: float) -> np.ndarray:
    """Indices of the rows whose centre lies in [start_s, end_s); the nearest row when none does."""
    centres = (np.arange(n_rows) + 0.5) * hop_s
    inside = np.flatnonzero((centres >= start_s) & (centres < end_s))
    if len(inside):
        return inside
    middle = 0.5 * (start_s + end_s)
    return np.array([int(np.clip(np.argmin(np.abs(centres - middle)), 0, n_rows - 1))])


def aggregate_spans(frames: np.ndarray, hop_s: float, spans: Iterable[Sequence[float]], how: str) -> np.ndarray:
    """One aggregated row per (start_s, end_s) span: (len(spans), D or 3 D) float32."""
    rows = [aggregate(frames[span_rows(len(frames), hop_s, start, end)], how) for start, end in spans]
    if not rows:
        raise ValueError("no spans to aggregate.")
    return np.stack(rows)


def frames_of_spans(frames: np.ndarray, hop_s: float, spans: Iterable[Sequence[float]]) -> np.ndarray:
    """The rows of every span, concatenated in order (a span listed twice contributes its rows twice)."""
    return np.concatenate([frames[span_rows(len(frames), hop_s, start, end)] for start, end in spans], axis=0)
