"""Stand-in search features for the demo's preference test: one "energy" value per clip and excerpt.

In VM-NET the S ("search result") option is the query's nearest neighbour in a learnt joint
video-music embedding (``python -m training train-retrieval`` + ``rank``). Learning that embedding
needs backbone features of every clip and excerpt and pretrained weights the demo does not have;
with random weights the neighbours would be meaningless. The demo therefore feeds the experiments
app's ``features`` search source with a cheap, deterministic, content-based stand-in:

    clip energy    = scaled rank of the motion energy (mean |difference| of consecutive grey frames)
    excerpt energy = scaled rank of the mean z-score of log spectral centroid and loudness-modulation pace
    embedding      = (cos t, sin t) with t = energy * pi / 2

so the cosine similarity of a clip and an excerpt is cos(t_clip - t_excerpt): candidates are ranked
by how close their energies are (busy video <-> bright, lively music). The descriptors are the ones
``training.simulate`` uses for its simulated rater. This is a stand-in for a retrieval model, named
``stand-in:energy-v1`` wherever it is recorded (the preference items' ``search_source``, the export,
the report's Machine row); it is not a learnt model.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from tqdm.auto import tqdm

from annotation.files import local_path
from annotation.models import MusicExcerpt, RenderState, VideoClip
from mvfit_common.files import atomic_write

MODEL_VERSION = "stand-in:energy-v1"
MACHINE_NAME = "Stand-in search (energy)"


@dataclass(frozen=True)
class StandInFeatures:
    """Energies in [0, 1] per clip and excerpt id (scaled ranks within the library)."""

    clip_energy: dict[int, float]
    excerpt_energy: dict[int, float]

    def similarity(self, clip_id: int, excerpt_id: int) -> float:
        return math.cos((self.clip_energy[clip_id] - self.excerpt_energy[excerpt_id]) * math.pi / 2)


def _scaled_rank(values: np.ndarray) -> np.ndarray:
    return (rankdata(values) - 1) / max(len(values) - 1, 1)


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _embed(energy: np.ndarray) -> np.ndarray:
    angle = energy * np.pi / 2
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def compute_stand_in_features(*, out: Path, progress: bool = True) -> StandInFeatures:
    """Measure every prepared clip and excerpt of the library and write the ``features`` source file.

    Writes ``out`` (``.npz``: ``clip_ids``, ``clip_vectors``, ``excerpt_ids``, ``excerpt_vectors``,
    ``model_version`` -- the format of experiments.search -- plus the raw descriptors) atomically.
    """
    from training.simulate import audio_energy, motion_energy  # Django-free descriptor code

    clips = list(VideoClip.objects.filter(state=RenderState.READY).exclude(prepared_file="").order_by("pk"))
    excerpts = list(MusicExcerpt.objects.filter(state=RenderState.READY).exclude(prepared_file="").order_by("pk"))
    if len(clips) < 2 or len(excerpts) < 2:
        raise ValueError(
            f"stand-in search features need at least 2 prepared clips and 2 prepared excerpts "
            f"(found {len(clips)} and {len(excerpts)}); render the library first."
        )
    motion = []
    for clip in tqdm(clips, desc="features: clips", unit="clip", disable=not progress, leave=False):
        with local_path(clip.prepared_file) as path:
            motion.append(motion_energy(path))
    sound = []
    for excerpt in tqdm(excerpts, desc="features: excerpts", unit="excerpt", disable=not progress, leave=False):
        with local_path(excerpt.prepared_file) as path:
            sound.append(audio_energy(path))
    motion_a, sound_a = np.array(motion), np.array(sound)
    clip_energy = _scaled_rank(motion_a)
    excerpt_energy = _scaled_rank((_z(sound_a[:, 0]) + _z(sound_a[:, 1])) / 2)
    clip_ids = np.array([c.pk for c in clips], dtype=np.int64)
    excerpt_ids = np.array([e.pk for e in excerpts], dtype=np.int64)
    with atomic_write(out) as partial:  # keeps the .npz suffix, so np.savez adds none
        np.savez(
            partial,
            clip_ids=clip_ids,
            clip_vectors=_embed(clip_energy),
            excerpt_ids=excerpt_ids,
            excerpt_vectors=_embed(excerpt_energy),
            model_version=np.array(MODEL_VERSION),
            clip_energy=clip_energy,
            excerpt_energy=excerpt_energy,
            clip_motion_energy=motion_a,
            excerpt_log_centroid=sound_a[:, 0],
            excerpt_modulation_pace=sound_a[:, 1],
        )
    return StandInFeatures(
        clip_energy=dict(zip(clip_ids.tolist(), clip_energy.tolist(), strict=True)),
        excerpt_energy=dict(zip(excerpt_ids.tolist(), excerpt_energy.tolist(), strict=True)),
    )


def load_stand_in_features(path: Path) -> StandInFeatures:
    with np.load(path, allow_pickle=False) as data:
        return StandInFeatures(
            clip_energy=dict(zip(data["clip_ids"].tolist(), data["clip_energy"].tolist(), strict=True)),
            excerpt_energy=dict(zip(data["excerpt_ids"].tolist(), data["excerpt_energy"].tolist(), strict=True)),
        )


def write_machine_distances(features: StandInFeatures, out: Path) -> Path:
    """The analysis report's machine distance file (docs/analysis.md): 1 - cosine similarity."""
    with atomic_write(out) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["model", "clip_id", "excerpt_id", "distance"])
        for clip_id in sorted(features.clip_energy):
            for excerpt_id in sorted(features.excerpt_energy):
                distance = 1.0 - features.similarity(clip_id, excerpt_id)
                writer.writerow([MACHINE_NAME, clip_id, excerpt_id, f"{distance:.6f}"])
    return out
