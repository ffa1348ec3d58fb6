"""Shot boundaries with OpenCV: a content detector with an adaptive threshold.

In the spirit of PySceneDetect's ContentDetector and AdaptiveDetector (PySceneDetect itself needs the
``opencv-python`` wheel, which would replace the project's ``opencv-contrib-python-headless`` build of
cv2; see docs/retrieval.md). Frames are sampled at ``fps`` and scaled to ``size`` px; each frame's
*content score* is the mean absolute difference of its hue, saturation and value channels to the
previous frame's (cv2 ranges: H 0-179, S and V 0-255), averaged over the three channels.
A cut is placed before frame t when

* the score reaches ``threshold`` (ContentDetector's default 27), or
* it reaches ``min_content`` (15) and is at least ``adaptive`` (3) times the mean score of the
  ``window`` frames on each side (AdaptiveDetector: a jump that stands out from local motion),

and the previous cut is at least ``min_segment_s`` earlier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.errors import TrainingInputError
from training.segmentation.base import as_cache_array


def content_scores(frames: np.ndarray) -> np.ndarray:
    """(T,) scores for (T, h, w, 3) uint8 RGB frames; the first frame scores 0."""
    import cv2

    hsv = np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2HSV) for f in frames]).astype(np.float32)
    scores = np.zeros(len(frames))
    if len(frames) > 1:
        scores[1:] = np.abs(np.diff(hsv, axis=0)).mean(axis=(1, 2, 3))
    return scores


def cuts_from_scores(
    scores: np.ndarray,
    *,
    threshold: float,
    adaptive: float,
    min_content: float,
    window: int,
    min_gap: int,
) -> np.ndarray:
    """Frame indices t (cut between t - 1 and t) chosen by the rule in the module docstring."""
    cuts = []
    last = 0
    for t in range(1, len(scores)):
        score = scores[t]
        neighbours = np.concatenate([scores[max(1, t - window) : t], scores[t + 1 : t + 1 + window]])
        local = float(neighbours.mean()) if len(neighbours) else 0.0
        stands_out = score >= min_content and score >= adaptive * max(local, 1e-6)
        if (score >= threshold or stands_out) and t - last >= min_gap:
            cuts.append(t)
            last = t
    return np.asarray(cuts, dtype=np.int64)


class ShotSegmenter:
    name = "shots"
    modality = "video"
    dim = 1
    cacheable = True

    def __init__(
        self,
        *,
        fps: float = 10.0,
        size: int = 96,
        threshold: float = 27.0,
        adaptive: float = 3.0,
        min_content: float = 15.0,
        window: int = 2,
        min_segment_s: float = 0.5,
    ) -> None:
        if not (fps > 0 and size >= 16 and threshold > 0 and adaptive > 0 and window >= 1 and min_segment_s >= 0):
            raise TrainingInputError("shots needs fps > 0, size >= 16, threshold > 0, adaptive > 0, window >= 1.")
        self.fps, self.size = float(fps), int(size)
        self.threshold, self.adaptive, self.min_content = float(threshold), float(adaptive), float(min_content)
        self.window, self.min_segment_s = int(window), float(min_segment_s)

    def config(self) -> dict:
        return {
            "fps": self.fps,
            "size": self.size,
            "threshold": self.threshold,
            "adaptive": self.adaptive,
            "min_content": self.min_content,
            "window": self.window,
            "min_segment_s": self.min_segment_s,
        }

    def change_points_of_frames(self, frames: np.ndarray) -> np.ndarray:
        cuts = cuts_from_scores(
            content_scores(frames),
            threshold=self.threshold,
            adaptive=self.adaptive,
            min_content=self.min_content,
            window=self.window,
            min_gap=max(1, round(self.min_segment_s * self.fps)),
        )
        return cuts / self.fps

    def extract(self, path: Path) -> np.ndarray:
        from training.inputs.video import read_frames

        frames = read_frames(path, fps=self.fps, size=self.size)
        if len(frames) == 0:
            raise TrainingInputError(f"{path} has no video frames.")
        return as_cache_array(self.change_points_of_frames(frames))
