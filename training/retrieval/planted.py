"""Synthetic music videos whose music and video share a planted segment structure, with known answers.

Each music video is a sequence of sections (6-10 by default, 1.5-3 s each); every section is in one
of ``states`` states (4), and a state looks and sounds the same in every video: a state has a fixed
audio prototype (pitch, timbre, beat) and a fixed visual prototype (hue, stripe pattern, motion).
Picture and soundtrack change state at the same instants, as in edited music videos.

Videos come in groups of ``group_size`` (4) *re-edits* of one source: the same sections (states and
durations) in different orders, never two equal states in a row. A group is one source video, so the
split by source keeps a group together. Consequences the tests rely on:

* everything that ignores order — clip-level mean / variance / max, centroids — sees the members of
  a group as (nearly) the same item, so a clip-level ranking cannot beat 1 / ``group_size`` at R@1;
* the order of the sections identifies the video, so aligning segment sequences can;
* cropping a query or stretching the targets breaks the segment-for-segment correspondence that
  Trace relies on, and the DTW alignments can follow it.

Two renderings of one :class:`PlantedPlan`: :func:`planted_items` gives frame-level features directly
(no media, for fast tests of the protocol), :func:`write_planted_export` writes real media (WAV
soundtracks, H.264 clips) and an export whose ``stimuli.csv`` links each clip to its soundtrack
(``ground_truth_id``), for the whole pipeline: representations, segmenters, training, ranking.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from training.errors import TrainingInputError


@dataclass(frozen=True)
class PlantedConfig:
    groups: int = 12
    group_size: int = 4
    states: int = 4
    segments: tuple[int, int] = (6, 10)
    segment_s: tuple[float, float] = (1.5, 3.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.groups < 3 or self.group_size < 1 or self.states < 3:
            raise TrainingInputError("planted data needs >= 3 groups, group_size >= 1 and >= 3 states.")
        if not 2 <= self.segments[0] <= self.segments[1] or not 0 < self.segment_s[0] <= self.segment_s[1]:
            raise TrainingInputError("planted segments need 2 <= min <= max and 0 < min_s <= max_s.")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["segments"] = list(self.segments)
        data["segment_s"] = list(self.segment_s)
        return data


@dataclass(frozen=True)
class PlantedVideo:
    index: int  # 0-based
    group: int
    states: tuple[int, ...]
    durations: tuple[float, ...]

    @property
    def boundaries(self) -> np.ndarray:
        """Interior change points in seconds."""
        return np.cumsum(self.durations)[:-1]

    @property
    def duration_s(self) -> float:
        return float(np.sum(self.durations))

    def state_at(self, times: np.ndarray) -> np.ndarray:
        edges = np.cumsum(self.durations)
        return np.asarray(self.states)[np.minimum(np.searchsorted(edges, times, side="right"), len(self.states) - 1)]


@dataclass(frozen=True)
class PlantedPlan:
    config: PlantedConfig
    videos: tuple[PlantedVideo, ...]


def _no_repeats(states: np.ndarray) -> bool:
    return bool(np.all(states[1:] != states[:-1]))


def plan(config: PlantedConfig = PlantedConfig()) -> PlantedPlan:
    rng = np.random.default_rng(config.seed)
    videos = []
    for group in range(config.groups):
        count = int(rng.integers(config.segments[0], config.segments[1] + 1))
        while True:
            states = rng.integers(0, config.states, size=count)
            if _no_repeats(states):
                break
        durations = rng.uniform(*config.segment_s, size=count)
        orders: list[tuple[int, ...]] = []
        attempts = 0
        while len(orders) < config.group_size:
            attempts += 1
            order = tuple(range(count)) if not orders else tuple(int(i) for i in rng.permutation(count))
            if attempts > 10_000:
                raise TrainingInputError("could not find distinct re-edits; use more segments or a smaller group.")
            if _no_repeats(states[list(order)]) and tuple(states[list(order)]) not in {
                tuple(states[list(o)]) for o in orders
            }:
                orders.append(order)
        for order in orders:
            videos.append(
                PlantedVideo(
                    index=len(videos),
                    group=group,
                    states=tuple(int(s) for s in states[list(order)]),
                    durations=tuple(float(d) for d in durations[list(order)]),
                )
            )
    return PlantedPlan(config=config, videos=tuple(videos))


# --- feature-level rendering ------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureRendering:
    music_dim: int = 20
    video_dim: int = 12
    music_hop_s: float = 0.1
    video_hop_s: float = 0.25
    noise: float = 0.6
    seed: int = 1


def planted_items(planted: PlantedPlan, rendering: FeatureRendering = FeatureRendering()):
    """:class:`~training.retrieval.protocol.AVItem` s with frame features drawn around each state's
    prototypes (independent noise per frame) and the planted boundaries as segmentation ``planted``."""
    from training.retrieval.protocol import AVItem
    from training.segmentation.base import spans

    rng = np.random.default_rng(rendering.seed)
    music_proto = rng.normal(size=(planted.config.states, rendering.music_dim))
    video_proto = rng.normal(size=(planted.config.states, rendering.video_dim))
    items = []
    for video in planted.videos:
        duration = video.duration_s
        frames = {}
        for kind, hop, proto in (
            ("music", rendering.music_hop_s, music_proto),
            ("video", rendering.video_hop_s, video_proto),
        ):
            times = (np.arange(int(np.floor(duration / hop))) + 0.5) * hop
            states = video.state_at(times)
            frames[kind] = (proto[states] + rendering.noise * rng.normal(size=(len(times), proto.shape[1]))).astype(
                np.float32
            )
        items.append(
            AVItem(
                clip_id=video.index + 1,
                excerpt_id=video.index + 1,
                source=video.group + 1,
                duration_s=duration,
                music=frames["music"],
                music_hop_s=rendering.music_hop_s,
                video=frames["video"],
                video_hop_s=rendering.video_hop_s,
                segments={"planted": spans(video.boundaries, duration)},
                keyframe=state_strip(video, planted.config.states),
                label="-".join(str(s) for s in video.states),
            )
        )
    return items


def state_strip(video: PlantedVideo, states: int, *, height: int = 24, width: int = 96) -> np.ndarray:
    """A picture of a planted video's structure: one colour per state, widths proportional to durations."""
    import cv2

    times = (np.arange(width) + 0.5) * video.duration_s / width
    hue = (180 * video.state_at(times) // states).astype(np.uint8)
    hsv = np.stack(
        [np.tile(hue, (height, 1)), np.full((height, width), 200, np.uint8), np.full((height, width), 220, np.uint8)],
        -1,
    )
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


# --- media rendering --------------------------------------------------------------------------

SAMPLE_RATE = 22050
FPS = 10
SIZE = 64
_PITCHES = (196.0, 261.6, 349.2, 466.2, 622.3, 830.6, 1108.7, 1480.0)
_BEATS = (1.5, 2.5, 4.0, 6.0, 3.0, 5.0, 2.0, 7.0)


def _section_audio(state: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = _PITCHES[state % len(_PITCHES)]
    # The state sets pitch, brightness (how fast the harmonics decay) and the beat of the envelope.
    decay = 0.35 + 0.15 * (state % 3)
    tone = sum((decay**h) * np.sin(2 * np.pi * f0 * (h + 1) * t + rng.uniform(0, 2 * np.pi)) for h in range(5))
    beat = _BEATS[state % len(_BEATS)]
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * beat * t) ** 2
    return 0.25 * tone * envelope + 0.01 * rng.normal(size=len(t))


def _section_frames(state: int, frames: int, start: int, states: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    # Hues stay clear of the red wrap-around (0 = 180 in OpenCV), where a little noise would look like a cut.
    hue = 15 + (150 * state) // max(states - 1, 1)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    period = 8 + 4 * (state % 3)
    angle = np.pi * (state % 4) / 4
    speed = 0.4 + 0.3 * (state % 3)  # pixels per frame: gentle motion inside a shot
    out = np.empty((frames, SIZE, SIZE, 3), dtype=np.uint8)
    for k in range(frames):
        phase = (x * np.cos(angle) + y * np.sin(angle) + speed * (start + k)) * 2 * np.pi / period
        value = 160 + 35 * np.sin(phase) + rng.normal(0, 3, size=(SIZE, SIZE))
        hsv = np.stack(
            [np.full((SIZE, SIZE), hue), np.full((SIZE, SIZE), 200), np.clip(value, 0, 255)], axis=-1
        ).astype(np.uint8)
        out[k] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def _write_wav(path: Path, y: np.ndarray) -> None:
    import soundfile

    soundfile.write(str(path), np.clip(y, -1, 1).astype(np.float32), SAMPLE_RATE, subtype="PCM_16", format="FLAC")


def _write_mp4(path: Path, frames: np.ndarray) -> None:
    from training.inputs.ffmpeg import ffmpeg_binary

    command = [
        ffmpeg_binary(),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
        *("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{SIZE}x{SIZE}", "-r", str(FPS), "-i", "-"),
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-g", str(FPS), str(path)),
    ]
    result = subprocess.run(command, input=frames.tobytes(), capture_output=True, check=False)
    if result.returncode != 0:
        raise TrainingInputError(f"ffmpeg failed: {result.stderr.decode('utf-8', 'replace').strip()[-400:]}")


def write_planted_export(directory: str | Path, planted: PlantedPlan, *, progress: bool = True) -> Path:
    """media/ (clipNNN.mp4, soundtrackNNN.flac) and an export with the ground-truth links; returns the export."""
    from exportformat import schema
    from training.data.write import write_export

    directory = Path(directory)
    media = directory / "media"
    media.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(planted.config.seed + 7)
    stimuli = []
    for video in tqdm(planted.videos, desc="planted music videos", unit="video", disable=not progress):
        number = video.index + 1
        audio = np.concatenate([_section_audio(s, d, rng) for s, d in zip(video.states, video.durations, strict=True)])
        edges = np.concatenate([[0], np.round(np.cumsum(video.durations) * FPS).astype(int)])
        frames = np.concatenate(
            [
                _section_frames(s, int(edges[k + 1] - edges[k]), int(edges[k]), planted.config.states, rng)
                for k, s in enumerate(video.states)
            ]
        )
        clip, soundtrack = media / f"clip{number:03d}.mp4", media / f"soundtrack{number:03d}.flac"
        _write_mp4(clip, frames)
        _write_wav(soundtrack, audio)
        common = {"source_id": video.group + 1, "duration_s": round(video.duration_s, 3), "seed": planted.config.seed}
        label = "-".join(str(s) for s in video.states)
        stimuli.append(
            {
                "item_kind": "clip",
                "item_id": number,
                "label": label,
                "ground_truth_id": number,
                "file": str(clip.resolve()),
                **common,
            }
        )
        stimuli.append(
            {
                "item_kind": "excerpt",
                "item_id": number,
                "label": label,
                "ground_truth_id": number,
                "file": str(soundtrack.resolve()),
                **common,
            }
        )
    return write_export(
        directory,
        stimuli=pd.DataFrame(stimuli),
        choices=pd.DataFrame({column: pd.Series(dtype=object) for column in schema.CHOICES}),
        source="mvfit training.retrieval.planted (planted segment structure)",
        simulation={
            "planted": planted.config.to_dict(),
            "boundaries": {str(v.index + 1): [round(float(b), 4) for b in v.boundaries] for v in planted.videos},
        },
    )
