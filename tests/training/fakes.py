"""Stand-ins for the frozen backbones: "media" files are .npy arrays of planted features.

They let the data, caching, training and evaluation code be tested in milliseconds, separately from
the real backbones (which tests/training/test_end_to_end.py runs on real synthetic media).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data.write import write_export
from training.features.store import Stream


class NpyExtractor:
    """Returns the (T, D) array stored in the "media" file; counts calls to prove caching."""

    def __init__(self, name: str, dim: int, *, version: int = 1) -> None:
        self.name = name
        self.dim = dim
        self.version = version
        self.calls = 0

    def config(self) -> dict:
        return {"dim": self.dim, "version": self.version}

    def extract(self, path: Path) -> np.ndarray:
        self.calls += 1
        return np.load(path).reshape(-1, self.dim)


def standin_streams(video_dim: int = 8, audio_dim: int = 6) -> list[Stream]:
    return [
        Stream("rgb", "clip", NpyExtractor("fake-rgb", video_dim)),
        Stream("audio", "excerpt", NpyExtractor("fake-audio", audio_dim)),
    ]


def planted_feature_export(
    directory: Path,
    *,
    n_videos: int = 40,
    n_tracks: int = 16,
    trials_per_video: int = 6,
    p_rule: float = 1.0,
    seed: int = 0,
    video_dim: int = 8,
    audio_dim: int = 6,
    ground_truth: bool = False,
    m2v_trials: int = 0,
) -> Path:
    """An export whose clips and excerpts are .npy feature files with a planted class.

    Each clip / excerpt has a hidden class (0 or 1) written into its first feature dimension
    (plus noise). The simulated rater picks the option of the query's class with probability
    ``p_rule``. With ``ground_truth`` every clip also gets an excerpt of its own with correlated
    features (a music-video soundtrack), linked through ``ground_truth_id``.
    """
    rng = np.random.default_rng(seed)
    media = directory / "media"
    media.mkdir(parents=True, exist_ok=True)
    stimuli = []
    clip_class = rng.integers(0, 2, n_videos)
    track_class = np.arange(n_tracks) % 2
    latent = rng.normal(size=(n_videos, 3))
    for i in range(n_videos):
        frames = rng.normal(0, 0.3, size=(3, video_dim))
        frames[:, 0] += 2 * clip_class[i] - 1
        frames[:, 1:4] += latent[i]
        path = media / f"clip{i + 1}.npy"
        np.save(path, frames.astype(np.float32))
        stimuli.append(
            {
                "item_kind": "clip",
                "item_id": i + 1,
                "source_id": 100 + i,
                "label": f"class{clip_class[i]}",
                "duration_s": 2.0,
                "file": str(path),
                "ground_truth_id": (1000 + i + 1) if ground_truth else pd.NA,
            }
        )
    for j in range(n_tracks):
        examples = rng.normal(0, 0.3, size=(2, audio_dim))
        examples[:, 0] += 2 * track_class[j] - 1
        path = media / f"excerpt{j + 1}.npy"
        np.save(path, examples.astype(np.float32))
        stimuli.append(
            {
                "item_kind": "excerpt",
                "item_id": j + 1,
                "source_id": 500 + j,
                "label": f"class{track_class[j]}",
                "duration_s": 2.0,
                "file": str(path),
                "ground_truth_id": pd.NA,
            }
        )
    if ground_truth:
        # The soundtrack is a fixed linear function of the clip's latent features (plus a little noise).
        mixing = rng.normal(size=(3, audio_dim))
        for i in range(n_videos):
            examples = rng.normal(0, 0.1, size=(2, audio_dim)) + latent[i] @ mixing
            path = media / f"soundtrack{i + 1}.npy"
            np.save(path, examples.astype(np.float32))
            stimuli.append(
                {
                    "item_kind": "excerpt",
                    "item_id": 1000 + i + 1,
                    "source_id": 800 + i,
                    "label": "soundtrack",
                    "duration_s": 2.0,
                    "file": str(path),
                    "ground_truth_id": i + 1,
                }
            )
    choices = []
    for i in range(n_videos):
        for t in range(trials_per_video):
            match = rng.choice(np.flatnonzero(track_class == clip_class[i]))
            other = rng.choice(np.flatnonzero(track_class != clip_class[i]))
            left, right = (match, other) if rng.random() < 0.5 else (other, match)
            rule_pick = "left" if left == match else "right"
            chosen = rule_pick if rng.random() < p_rule else ("right" if rule_pick == "left" else "left")
            choices.append(
                {
                    "worker_id": f"W{rng.integers(0, 2**62):016x}",
                    "assignment_id": i + 1,
                    "experiment_id": 1,
                    "trial_index": t,
                    "direction": "V2M",
                    "query_id": i + 1,
                    "query_source_id": 100 + i,
                    "left_id": left + 1,
                    "left_source_id": 500 + left,
                    "right_id": right + 1,
                    "right_source_id": 500 + right,
                    "chosen_side": chosen,
                }
            )
        for t in range(m2v_trials):
            j = rng.integers(0, n_tracks)
            a, b = rng.choice(n_videos, 2, replace=False)
            choices.append(
                {
                    "worker_id": "W0000000000000001",
                    "assignment_id": 10_000 + i,
                    "experiment_id": 2,
                    "trial_index": t,
                    "direction": "M2V",
                    "query_id": j + 1,
                    "query_source_id": 500 + j,
                    "left_id": a + 1,
                    "left_source_id": 100 + a,
                    "right_id": b + 1,
                    "right_source_id": 100 + b,
                    "chosen_side": "left" if clip_class[a] == track_class[j] else "right",
                }
            )
    # One catch trial: it must be dropped by the reader.
    choices.append(
        {
            "worker_id": "W0000000000000000",
            "assignment_id": 999,
            "experiment_id": 1,
            "trial_index": 0,
            "direction": "V2M",
            "query_id": 1,
            "query_source_id": 100,
            "left_id": 1,
            "left_source_id": 500,
            "right_id": 2,
            "right_source_id": 501,
            "chosen_side": "left",
            "is_catch": True,
            "catch_passed": "true",
        }
    )
    return write_export(directory, stimuli=pd.DataFrame(stimuli), choices=pd.DataFrame(choices), source="test fakes")
