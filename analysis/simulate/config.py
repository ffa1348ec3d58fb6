"""The simulator's parameters, label names and result type."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# (genre, family): calm genres suit nature scenes, energetic ones urban scenes (Langlois Fig. 2), the
# rest leisure scenes. Interleaved by family so that any prefix of the list covers all families.
GENRES = (
    ("classical piano", 0),
    ("heavy metal", 1),
    ("pop", 2),
    ("ambient", 0),
    ("house techno", 1),
    ("funk", 2),
    ("country", 0),
    ("alternative rock", 1),
    ("hip hop", 2),
    ("smooth jazz", 0),
    ("bebop jazz", 1),
    ("reggae", 2),
    ("violin & cello", 0),
    ("punk", 1),
    ("latin", 2),
    ("folk", 0),
    ("drum and bass", 1),
    ("chiptune", 2),
    ("new age", 0),
    ("dubstep", 1),
    ("gospel", 2),
    ("acoustic guitar", 0),
    ("blues", 1),
    ("disco", 2),
    ("opera", 0),
)
GENRE_NAMES = tuple(name for name, _ in GENRES)
# Ordered so that contiguous blocks form the planted video clusters: nature, urban, leisure, ...
SCENE_NAMES = (
    "beach",
    "forest",
    "mountains",
    "city street",
    "machinery",
    "construction",
    "sports",
    "amusement park",
    "ocean",
    "pasture",
    "sunset",
    "airport",
)
EPOCH = np.datetime64("2026-11-01T08:00:00.000", "ms")


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the latent crowd model; defaults make a small, fast, realistic export."""

    videos: int = 60
    songs: int = 30
    ratings_per_pairing: int = 3
    genres: int = 10
    scenes: int = 8
    video_clusters: int = 3
    genre_clusters: int = 3
    affinity_sd: float = 1.0
    scene_sd: float = 0.25
    video_sd: float = 0.3
    video_offset_sd: float = 0.3
    song_offset_sd: float = 0.3
    noise_sd: float = 1.0
    worker_bias_sd: float = 0.6
    worker_scale_sd: float = 0.25
    careless_share: float = 0.05
    trials_per_assignment: int = 50
    catch_per_assignment: int = 2
    assignments_per_worker: float = 4.0
    catch_pass_attentive: float = 0.97
    catch_pass_careless: float = 0.3
    # preference test (VM-NET): 0 subjects switches it off
    pref_subjects: int = 53
    pref_questions: int = 120
    pref_items: int = 200
    p_gr: float = 0.82
    p_gs: float = 0.65
    p_sr: float = 0.73
    subject_sd: float = 0.5
    machine_gr: float = 0.78
    # plain 2AFC (Langlois): 0 trials switches it off
    afc_trials: int = 2_000
    afc_trials_per_assignment: int = 40
    afc_sensitivity: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        positive = ("videos", "songs", "ratings_per_pairing", "genres", "scenes", "video_clusters", "genre_clusters")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.trials_per_assignment < 1 or self.afc_trials_per_assignment < 1:
            raise ValueError("trials per assignment must be at least 1")
        for name in ("careless_share", "catch_pass_attentive", "catch_pass_careless"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability")
        for name in ("p_gr", "p_gs", "p_sr", "machine_gr"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie strictly between 0 and 1")
        if self.pref_subjects and self.pref_questions < 6:
            raise ValueError("pref_questions must be at least 6 (one per condition and direction)")
        if self.pref_subjects and self.pref_items < max(3, -(-self.pref_questions // 2)):
            raise ValueError(
                "pref_items must be at least 3 and at least half of pref_questions: a subject never sees "
                "the same query twice in one direction"
            )
        if self.afc_trials and self.songs < 2:
            raise ValueError("2AFC needs at least two songs")

    @property
    def n_genres(self) -> int:
        return min(self.genres, self.songs)

    @property
    def preference(self) -> dict[str, float]:
        return {"GR": self.p_gr, "GS": self.p_gs, "SR": self.p_sr}


@dataclass
class Simulation:
    ratings: pd.DataFrame
    choices: pd.DataFrame
    stimuli: pd.DataFrame
    machine_distances: pd.DataFrame
    truth: dict[str, Any]
    config: SimulationConfig
    experiments: list[dict[str, Any]] = field(default_factory=list)
    # montages, montage_choices, montage_ratings of a montage study (analysis.simulate.montage); empty: none
    montage_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """What manifest.json says about this export's origin (the writer adds versions, counts, checksums)."""
        return {
            "source": "mvfit simulator",
            "experiments": self.experiments,
            "pseudonymised": True,
            "simulation": {"generator": "analysis.simulate", "config": asdict(self.config), "truth": self.truth},
        }


def label_names(names: tuple[str, ...], count: int) -> list[str]:
    return [names[i] if i < len(names) else f"{names[i % len(names)]} {i // len(names) + 1}" for i in range(count)]


def pseudonyms(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct worker pseudonyms shaped like the platform's (``W`` + 16 hex digits)."""
    raw = rng.integers(0, 2**63, size=count * 2, dtype=np.int64)
    unique = np.unique(raw)[:count]
    while len(unique) < count:  # collisions among 2**63 values: practically never
        unique = np.unique(np.concatenate([unique, rng.integers(0, 2**63, size=count, dtype=np.int64)]))[:count]
    rng.shuffle(unique)
    return np.array([f"W{value:016x}" for value in unique.astype(np.uint64)], dtype=object)
