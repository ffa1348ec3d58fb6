"""The demo's stand-in retrieval model for montages: the energy features of :mod:`demo.services.features`.

A montage (docs/montage.md) needs a distance between every segment of a song and every clip of the
library. A real study names a published retrieval model (``NAME@VERSION``); the demo has no trained
model (no pretrained weights), so it uses the same documented stand-in as its preference test's S
option, extended from excerpts to song segments:

    segment energy = where the segment's (log spectral centroid, modulation pace), z-scored with the
                     library's excerpt statistics and averaged, falls among the library's excerpts
                     (the excerpts' own scaled ranks, linearly interpolated, clipped to [0, 1])
    distance       = 1 - cos((energy(segment) - energy(clip)) * pi / 2)

so a segment's distance to a clip is exactly the stand-in's distance between an excerpt of the same
energy and that clip. The scorer follows the montage generator's scorer protocol
(``song_distances`` + ``model_version``); its name in provenance, exports and reports is
:data:`MODEL_NAME`. It touches no database: it reads the features file the demo wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from demo.services.features import MODEL_VERSION

MODEL_NAME = "stand-in@energy-v1"
RATE = 16000
MIN_SEGMENT_S = 0.1


class StandInMontageScorer:
    """Distances between song segments and library clips by the demo's energy stand-in."""

    model_version = MODEL_VERSION

    def __init__(self, features: Path) -> None:
        with np.load(features, allow_pickle=False) as data:
            self.clip_energy = dict(zip(data["clip_ids"].tolist(), data["clip_energy"].tolist(), strict=True))
            centroid = np.asarray(data["excerpt_log_centroid"], dtype=np.float64)
            pace = np.asarray(data["excerpt_modulation_pace"], dtype=np.float64)
            excerpt_energy = np.asarray(data["excerpt_energy"], dtype=np.float64)
        if len(centroid) < 2:
            raise ValueError(f"{features}: the stand-in needs the descriptors of at least 2 excerpts.")
        self._centroid = (centroid.mean(), centroid.std() or 1.0)
        self._pace = (pace.mean(), pace.std() or 1.0)
        combined = self._combine(centroid, pace)
        order = np.argsort(combined, kind="stable")
        self._scale = (combined[order], excerpt_energy[order])

    def _combine(self, centroid: np.ndarray, pace: np.ndarray) -> np.ndarray:
        return ((centroid - self._centroid[0]) / self._centroid[1] + (pace - self._pace[0]) / self._pace[1]) / 2

    def segment_energies(self, wave: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
        """Energy in [0, 1] of each ``(start_s, end_s)`` span of a mono 16 kHz signal."""
        from training.simulate import wave_energy

        descriptors = []
        for start_s, end_s in spans:
            lo = round(start_s * RATE)
            hi = max(round(end_s * RATE), lo + int(MIN_SEGMENT_S * RATE))
            piece = wave[lo:hi]
            if len(piece) < MIN_SEGMENT_S * RATE:  # the song's last sliver: measure its last 0.1 s
                piece = wave[-int(MIN_SEGMENT_S * RATE) :]
            descriptors.append(wave_energy(piece))
        values = np.asarray(descriptors, dtype=np.float64).reshape(-1, 2)
        combined = self._combine(values[:, 0], values[:, 1])
        return np.clip(np.interp(combined, *self._scale), 0.0, 1.0)

    def clip_energies(self, clips: Sequence) -> np.ndarray:
        missing = [clip.item_id for clip in clips if clip.item_id not in self.clip_energy]
        if missing:
            raise ValueError(f"the stand-in features have no energy for clip(s) {missing[:5]}: recompute them.")
        return np.array([self.clip_energy[clip.item_id] for clip in clips], dtype=np.float64)

    def song_distances(self, song: Path, spans, clips: Sequence, *, progress: bool = False) -> np.ndarray:
        from training.montage.media import decode_song

        segments = self.segment_energies(decode_song(Path(song), rate=RATE).astype(np.float64), spans)
        return 1.0 - np.cos((segments[:, None] - self.clip_energies(clips)[None, :]) * np.pi / 2)


def fit_from_distance(distance: float | np.ndarray) -> float | np.ndarray:
    """The demo crowd's fit term ``-|energy difference|`` recovered from a stand-in distance."""
    return -np.arccos(np.clip(1.0 - np.asarray(distance, dtype=np.float64), -1.0, 1.0)) * 2 / np.pi
