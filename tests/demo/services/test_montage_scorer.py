"""The demo's stand-in montage scorer: an excerpt-like segment gets that excerpt's distances to the clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from demo.services.montage_scorer import StandInMontageScorer, fit_from_distance
from training.montage.library import LibraryItem
from training.montage.synthetic import make_song
from training.simulate import wave_energy


def _features(path: Path, *, excerpt_descriptors: np.ndarray, clip_energy: dict[int, float]) -> Path:
    combined = excerpt_descriptors.mean(axis=1)  # any monotone score will do for the scale
    energy = (np.argsort(np.argsort(combined)) / (len(combined) - 1)).astype(float)
    np.savez(
        path,
        clip_ids=np.array(list(clip_energy), dtype=np.int64),
        clip_energy=np.array(list(clip_energy.values())),
        excerpt_energy=energy,
        excerpt_log_centroid=excerpt_descriptors[:, 0],
        excerpt_modulation_pace=excerpt_descriptors[:, 1],
    )
    return path


def _clips(ids):
    return [LibraryItem(item_id=i, source_id=i, start_s=0.0, duration_s=5.0, path=Path(f"/c{i}.mp4")) for i in ids]


def test_segments_are_placed_on_the_excerpts_energy_scale_and_scored_against_clips(tmp_path):
    song = make_song(tmp_path / "song.wav", duration_s=4.0, bpm=120)
    scorer = StandInMontageScorer(
        _features(
            tmp_path / "f.npz",
            excerpt_descriptors=np.array([[5.0, 1.0], [6.0, 2.0], [7.0, 3.0], [8.0, 8.0]]),
            clip_energy={1: 0.0, 2: 0.5, 3: 1.0},
        )
    )
    distances = scorer.song_distances(song, [(0.0, 2.0), (2.0, 4.0)], _clips([1, 2, 3]))
    assert distances.shape == (2, 3)
    assert np.all((distances >= 0) & (distances <= 1))  # energies in [0, 1]: at most a quarter turn apart
    energies = scorer.segment_energies(np.zeros(32000) + np.sin(np.arange(32000) / 3), [(0.0, 1.0), (1.0, 2.0)])
    assert np.all((energies >= 0) & (energies <= 1)) and energies[0] == pytest.approx(energies[1], abs=0.02)


def test_a_segment_with_an_excerpts_descriptors_gets_that_excerpts_energy(tmp_path):
    rng = np.random.default_rng(0)
    wave = rng.normal(size=16000 * 2)
    measured = np.array(wave_energy(wave))
    descriptors = np.array([measured - 1.0, measured, measured + 1.0])
    scorer = StandInMontageScorer(_features(tmp_path / "f.npz", excerpt_descriptors=descriptors, clip_energy={1: 0.5}))
    assert scorer.segment_energies(wave, [(0.0, 2.0)]) == pytest.approx([0.5])


def test_distance_and_fit_agree_with_the_demo_crowds_energy_difference():
    gap = np.array([0.0, 0.25, 0.5, 1.0])
    distance = 1.0 - np.cos(gap * np.pi / 2)
    assert fit_from_distance(distance) == pytest.approx(-gap)


def test_a_clip_without_features_is_a_clear_error(tmp_path):
    song = make_song(tmp_path / "song.wav", duration_s=2.0)
    scorer = StandInMontageScorer(
        _features(tmp_path / "f.npz", excerpt_descriptors=np.array([[1.0, 1.0], [2.0, 2.0]]), clip_energy={1: 0.2})
    )
    with pytest.raises(ValueError, match=r"no energy for clip\(s\) \[9\]"):
        scorer.song_distances(song, [(0.0, 2.0)], _clips([1, 9]))
