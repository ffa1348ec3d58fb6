"""Simulated 2AFC choices on the stimuli of a real export (e.g. the demo library).

A library with few real answers still has real media. This module invents a rater with a known,
content-based taste so the whole training pipeline can be exercised on those media:

    energy(clip)    = z(motion energy: mean |difference| of consecutive grey frames at 10 fps)
    energy(excerpt) = mean of z(log spectral centroid) and z(pace: centroid of the loudness modulation)
    fit(clip, excerpt) = -|rank(energy(clip)) - rank(energy(excerpt))|   (ranks scaled to [0, 1])
    P(left chosen)  = logistic(sensitivity * (fit(clip, left) - fit(clip, right)))

i.e. busy videos go with bright, lively music and calm videos with dark, steady music, loosely
Langlois' "urban scenes - rock/techno, nature scenes - ambient/classical". The descriptors and the
parameters go into manifest.json under "simulation", so the planted truth can be checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import rankdata
from tqdm.auto import tqdm

import exportformat
from training.data.export import Export, read_export
from training.data.write import write_export
from training.errors import TrainingInputError


@dataclass(frozen=True)
class SimulatedRater:
    trials_per_clip: int = 12
    sensitivity: float = 6.0
    seed: int = 0


def motion_energy(path: Path) -> float:
    from training.inputs.video import read_frames

    frames = read_frames(path, fps=10, size=64).astype(np.float32).mean(axis=3)
    if len(frames) < 2:
        return 0.0
    return float(np.abs(np.diff(frames, axis=0)).mean())


def audio_energy(path: Path) -> tuple[float, float]:
    """(brightness, pace): log spectral centroid in Hz, and the centroid (Hz) of the loudness
    envelope's modulation spectrum between 0.5 and 20 Hz (a fast beat gives a high value)."""
    from training.inputs.audio import read_audio

    wave = read_audio(path, sample_rate=16000).astype(np.float64)
    if len(wave) < 16000:
        raise TrainingInputError(f"{path}: less than 1 s of audio.")
    return wave_energy(wave)


def wave_energy(wave: np.ndarray) -> tuple[float, float]:
    """:func:`audio_energy` of a mono 16 kHz signal already in memory (e.g. one segment of a song)."""
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1 or len(wave) < 1600:
        raise TrainingInputError(
            f"wave_energy needs a mono signal of at least 0.1 s at 16 kHz, got shape {wave.shape}."
        )
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    frequencies = np.fft.rfftfreq(len(wave), 1 / 16000)
    brightness = float(np.log(max((spectrum * frequencies).sum() / max(spectrum.sum(), 1e-12), 1.0)))
    hop = 160  # 10 ms envelope frames
    envelope = np.sqrt(np.mean(wave[: len(wave) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    modulation = np.abs(np.fft.rfft((envelope - envelope.mean()) * np.hanning(len(envelope))))
    rates = np.fft.rfftfreq(len(envelope), hop / 16000)
    band = (rates >= 0.5) & (rates <= 20)
    pace = float((modulation[band] * rates[band]).sum() / max(modulation[band].sum(), 1e-12))
    return brightness, pace


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _scaled_rank(values: np.ndarray) -> np.ndarray:
    return (rankdata(values) - 1) / max(len(values) - 1, 1)


def simulate_choices(
    export_dir: str | Path,
    out: str | Path,
    rater: SimulatedRater = SimulatedRater(),
    *,
    media_root: Path | None = None,
    progress: bool = True,
) -> Path:
    """Write an export with the input's stimuli and simulated V2M choices among all its excerpts."""
    export: Export = read_export(export_dir)
    out = Path(out)
    if out.resolve() == Path(export_dir).resolve():
        raise TrainingInputError("--out must be a new directory, not the input export.")
    clips = sorted(int(i) for kind, i in export.stimuli.index if kind == "clip")
    excerpts = sorted(int(i) for kind, i in export.stimuli.index if kind == "excerpt")
    if len(clips) < 3 or len(excerpts) < 2:
        raise TrainingInputError(
            f"{export.directory / 'stimuli.csv'} lists {len(clips)} clip(s) and {len(excerpts)} excerpt(s); "
            "simulating choices needs at least 3 clips (for a split by video) and 2 excerpts."
        )
    motion = np.array(
        [
            motion_energy(export.media_path("clip", i, media_root=media_root))
            for i in tqdm(clips, desc="motion energy", unit="clip", disable=not progress)
        ]
    )
    audio = np.array(
        [
            audio_energy(export.media_path("excerpt", i, media_root=media_root))
            for i in tqdm(excerpts, desc="audio energy", unit="excerpt", disable=not progress)
        ]
    )
    clip_rank = _scaled_rank(_z(motion))
    excerpt_rank = _scaled_rank((_z(audio[:, 0]) + _z(audio[:, 1])) / 2)
    rng = np.random.default_rng(rater.seed)
    source = export.stimuli.reset_index()
    source_of = {
        (k, int(i)): int(s) for k, i, s in zip(source["item_kind"], source["item_id"], source["source_id"], strict=True)
    }
    label_of = {
        (k, int(i)): lab for k, i, lab in zip(source["item_kind"], source["item_id"], source["label"], strict=True)
    }
    choices = []
    for c, clip in enumerate(clips):
        worker = f"W{int(rng.integers(0, 2**62)):016x}"
        for t in range(rater.trials_per_clip):
            left, right = rng.choice(len(excerpts), size=2, replace=False)
            fit_left = -abs(clip_rank[c] - excerpt_rank[left])
            fit_right = -abs(clip_rank[c] - excerpt_rank[right])
            p_left = expit(rater.sensitivity * (fit_left - fit_right))
            choices.append(
                {
                    "worker_id": worker,
                    "assignment_id": c + 1,
                    "experiment_id": 1,
                    "trial_index": t,
                    "direction": "V2M",
                    "query_id": clip,
                    "query_label": label_of[("clip", clip)],
                    "query_source_id": source_of[("clip", clip)],
                    "left_id": excerpts[left],
                    "left_label": label_of[("excerpt", excerpts[left])],
                    "left_source_id": source_of[("excerpt", excerpts[left])],
                    "right_id": excerpts[right],
                    "right_label": label_of[("excerpt", excerpts[right])],
                    "right_source_id": source_of[("excerpt", excerpts[right])],
                    "chosen_side": "left" if rng.random() < p_left else "right",
                }
            )
    out.mkdir(parents=True, exist_ok=True)
    simulation = {
        "rule": "busy video <-> bright, lively music (training.simulate)",
        **asdict(rater),
        "clip_motion_energy": dict(zip(map(str, clips), np.round(motion, 4).tolist(), strict=True)),
        "excerpt_log_centroid_and_pace": dict(zip(map(str, excerpts), np.round(audio, 4).tolist(), strict=True)),
        "stimuli_from": str(export.directory),
    }
    write_export(
        out,
        stimuli=exportformat.read_export(export.directory, tables=("stimuli",)).stimuli,
        choices=pd.DataFrame(choices),
        source="mvfit training.simulate (simulated rater on real stimuli)",
        simulation=simulation,
    )
    return out
