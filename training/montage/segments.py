"""Cutting a song into montage segments, on the video's frame grid.

Segmentations: ``beats:N`` — boundaries every ``N`` beats of librosa's beat tracker (``beats:4`` is
one bar in 4/4), the first segment starting at 0 and the last ending at the song's end; ``fixed:S`` —
windows of ``S`` seconds; ``foote`` / ``flux`` — the section boundaries of the retrieval work's music
segmenters (Foote's checkerboard novelty, spectral flux; training/segmentation/music.py). Either way a segment shorter than ``min_segment_s`` is merged into its
neighbour, one longer than ``max_segment_s`` is split evenly (no library clip need be longer than that),
and every boundary is rounded to a video frame, so the segments' frame counts add up to exactly
``round(duration * fps)``: the montage is the song's length to within half a frame.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np

from training.errors import TrainingInputError

STRUCTURAL = ("foote", "flux")  # the music segmenters of the retrieval work (training/segmentation/music.py)


@dataclass(frozen=True)
class Segment:
    index: int
    start_frame: int
    frames: int
    fps: int

    @property
    def start_s(self) -> float:
        return self.start_frame / self.fps

    @property
    def end_s(self) -> float:
        return (self.start_frame + self.frames) / self.fps

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


@dataclass(frozen=True)
class Segmentation:
    kind: str  # "beats", "fixed", "foote" or "flux"
    value: float  # beats per segment, or seconds per window (0 for the structural segmenters)
    min_segment_s: float = 0.5
    max_segment_s: float = 4.0

    @classmethod
    def parse(cls, text: str, *, min_segment_s: float = 0.5, max_segment_s: float = 4.0) -> Segmentation:
        kind, _, value = text.partition(":")
        if kind in STRUCTURAL and not value:
            number = 0.0
        else:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if kind not in ("beats", "fixed") or not number > 0 or (kind == "beats" and number != int(number)):
                raise TrainingInputError(
                    f"segmentation {text!r}: use beats:N (N whole beats), fixed:SECONDS, foote or flux."
                )
        if not 0 < min_segment_s < max_segment_s:
            raise TrainingInputError("need 0 < min segment length < max segment length.")
        return cls(kind, number, min_segment_s, max_segment_s)

    def to_dict(self) -> dict:
        return asdict(self)


def boundaries_s(samples: np.ndarray, rate: int, segmentation: Segmentation) -> list[float]:
    """Interior boundaries in seconds (before merging, splitting and snapping)."""
    duration = len(samples) / rate
    if segmentation.kind == "fixed":
        return list(np.arange(segmentation.value, duration, segmentation.value))
    if segmentation.kind in STRUCTURAL:
        from training.segmentation import build_segmenter

        return list(build_segmenter(segmentation.kind).change_points(samples.astype(np.float32), rate))
    import librosa

    _, beats = librosa.beat.beat_track(y=samples.astype(np.float32), sr=rate, units="time")
    beats = np.asarray(beats, dtype=np.float64)
    return list(beats[:: int(segmentation.value)][1:]) if len(beats) else []


def segment_song(samples: np.ndarray, rate: int, segmentation: Segmentation, *, fps: int) -> list[Segment]:
    total = round(len(samples) / rate * fps)
    if total < 1:
        raise TrainingInputError("the song is shorter than one video frame.")
    min_frames = max(1, round(segmentation.min_segment_s * fps))
    max_frames = max(min_frames, math.floor(segmentation.max_segment_s * fps))
    cuts = [0]
    for point in boundaries_s(samples, rate, segmentation):
        frame = round(point * fps)
        if frame - cuts[-1] >= min_frames and total - frame >= min_frames:
            cuts.append(frame)
    cuts.append(total)
    edges = [0]
    for start, end in itertools.pairwise(cuts):
        pieces = math.ceil((end - start) / max_frames)
        edges += [start + round((end - start) * (k + 1) / pieces) for k in range(pieces)]
    return [
        Segment(index=i, start_frame=a, frames=b - a, fps=fps) for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]
