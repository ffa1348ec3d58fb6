"""A cheap handcrafted video representation: colour and motion statistics per frame (OpenCV).

Frames are sampled at ``fps`` (default 4 per second) and scaled to ``size`` (64 px square, centre
crop); each gives a joint HSV histogram (8 hue x 4 saturation x 4 value bins, normalised to sum to 1)
followed by the frame's mean absolute grey-level difference to the previous frame (0 for the first):
129 values per row. It needs no weights, so it is what the planted data and quick demo comparisons
use; the ImageNet ResNet-50 (``rgb-resnet50``) is the seeds' video representation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.errors import TrainingInputError

HUE_BINS, SATURATION_BINS, VALUE_BINS = 8, 4, 4


def colour_rows(frames: np.ndarray) -> np.ndarray:
    """(T, size, size, 3) uint8 RGB frames → (T, 129) float32."""
    import cv2

    rows = []
    previous = None
    for frame in frames:
        hsv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2HSV)
        histogram = cv2.calcHist(
            [hsv], [0, 1, 2], None, [HUE_BINS, SATURATION_BINS, VALUE_BINS], [0, 180, 0, 256, 0, 256]
        ).ravel()
        histogram /= max(float(histogram.sum()), 1.0)
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)
        motion = 0.0 if previous is None else float(np.mean(np.abs(grey - previous))) / 255.0
        previous = grey
        rows.append(np.concatenate([histogram, [motion]]))
    return np.asarray(rows, dtype=np.float32)


class ColourMotion:
    """Video representation ``colour``."""

    name = "colour-hsv"
    dim = HUE_BINS * SATURATION_BINS * VALUE_BINS + 1
    modality = "video"
    cacheable = True

    def __init__(self, *, fps: float = 4.0, size: int = 64) -> None:
        if not fps > 0 or size < 8:
            raise TrainingInputError("the colour representation needs fps > 0 and size >= 8.")
        self.fps = float(fps)
        self.size = int(size)
        self.hop_s = 1.0 / self.fps

    def config(self) -> dict:
        import cv2

        return {
            "fps": self.fps,
            "size": self.size,
            "bins": [HUE_BINS, SATURATION_BINS, VALUE_BINS],
            "cv2": cv2.__version__,
        }

    def extract(self, path: Path) -> np.ndarray:
        from training.inputs.video import read_frames

        frames = read_frames(path, fps=self.fps, size=self.size)
        if len(frames) == 0:
            raise TrainingInputError(f"{path} has no video frames.")
        return colour_rows(frames)
