"""Segment boundaries: from change points in seconds to the spans of an item.

A segmenter finds the *change points* of one media file (interior boundaries, seconds). Its output is
cached like a representation's: a (K + 1, 1) float32 array whose first row is always 0.0, so that a
file without change points still has a non-empty entry. :func:`spans` turns change points and the
item's duration into contiguous [start, end) segments covering the whole item.
"""

from __future__ import annotations

import itertools

import numpy as np


def as_cache_array(change_points: np.ndarray) -> np.ndarray:
    points = np.asarray(change_points, dtype=np.float32).ravel()
    return np.concatenate([[0.0], points[points > 0]]).astype(np.float32)[:, None]


def from_cache_array(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64).ravel()[1:]


def spans(change_points: np.ndarray, duration_s: float, *, min_segment_s: float = 0.0) -> list[tuple[float, float]]:
    """[start, end) segments covering [0, duration_s); change points closer than ``min_segment_s`` to the
    previous boundary (or to the end) are dropped, so no segment is shorter than that (except a lone one)."""
    if not duration_s > 0:
        raise ValueError(f"an item needs a positive duration, got {duration_s!r}.")
    kept = [0.0]
    for point in sorted(float(p) for p in np.ravel(change_points)):
        if point - kept[-1] >= max(min_segment_s, 1e-9) and duration_s - point >= max(min_segment_s, 1e-9):
            kept.append(point)
    kept.append(float(duration_s))
    return list(itertools.pairwise(kept))


def pick_peaks(novelty: np.ndarray, *, hop_s: float, min_segment_s: float, delta: float = 0.05) -> np.ndarray:
    """Times (s) of the peaks of a novelty curve (librosa's peak picker): a local maximum within
    ±min_segment_s / 2, ``delta`` above the local mean (curve scaled to [0, 1]), at least
    ``min_segment_s`` after the previous peak."""
    import librosa

    novelty = np.asarray(novelty, dtype=np.float64)
    if len(novelty) < 3 or np.ptp(novelty) <= 0:
        return np.zeros(0)
    scaled = (novelty - novelty.min()) / np.ptp(novelty)
    half = max(1, round(0.5 * min_segment_s / hop_s))
    peaks = librosa.util.peak_pick(
        scaled, pre_max=half, post_max=half, pre_avg=2 * half, post_avg=2 * half, delta=delta, wait=2 * half
    )
    return peaks * hop_s
