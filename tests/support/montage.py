"""A tiny real library for montage tests: prepared clips in media storage, a song, a test scorer.

The clips are the montage generator's synthetic library (``training.montage.synthetic``: one encode,
split by stream copy), stored as the prepared files of ``VideoClip`` rows; the song is a click track
stored as a ``MusicTrack``. ``TEST_MODEL`` scores with seeded pseudo-embeddings through the scorer
registry of ``annotation.services.montages`` (the platform's extension point), so tests need no
published model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annotation.files import store_copy
from annotation.models import MusicTrack, RenderState, VideoClip
from annotation.services.montages import register_scorer
from tests.factories.annotation import MusicTrackFactory, VideoClipFactory, VideoFactory

TEST_MODEL = "test-embeddings@1"
FPS = 10


class SeededScorer:
    """Distances from fixed per-clip vectors and per-segment-start vectors (deterministic, model-free)."""

    model_version = "test-embeddings:1"

    def __init__(self, model: str) -> None:
        self.model = model

    def song_distances(self, song, spans, clips, *, progress: bool = False) -> np.ndarray:
        clip_vectors = np.array([np.random.default_rng(c.item_id).normal(size=4) for c in clips])
        segment_vectors = np.array([np.random.default_rng(int(s * 1000) + 7).normal(size=4) for s, _ in spans])
        a = segment_vectors / np.linalg.norm(segment_vectors, axis=1, keepdims=True)
        b = clip_vectors / np.linalg.norm(clip_vectors, axis=1, keepdims=True)
        return 1.0 - a @ b.T


register_scorer("test-embeddings", SeededScorer)


@dataclass
class MontageLibrary:
    clips: list[VideoClip]
    song: MusicTrack
    export: Path  # the synthetic library as an export (stimuli.csv), e.g. to publish a model against


def make_montage_library(root: Path, *, clips: int = 8, song_s: float = 5.0, music_video: bool = False):
    from training.montage.library import read_library
    from training.montage.synthetic import make_library, make_song

    export = make_library(root / "library", clips=clips, clip_s=2.0, fps=FPS, per_source=4, excerpts=2)
    rows = []
    videos: dict[int, object] = {}
    for item in read_library(export, "clip"):
        video = videos.setdefault(item.source_id, VideoFactory())
        clip = VideoClipFactory(video=video, start_s=item.start_s, duration_s=item.duration_s)
        clip.prepared_file.name = store_copy(item.path, f"clips/test-montage-{clip.pk}.mp4")
        clip.state = RenderState.READY
        clip.save(update_fields=["prepared_file", "state"])
        rows.append(clip)
    song_file = make_song(root / "song.wav", duration_s=song_s)
    source_video = None
    if music_video:
        source_video = VideoFactory()
        source_video.file.name = store_copy(_music_video(root, song_file, song_s), f"library/mv-{source_video.pk}.mp4")
        source_video.save(update_fields=["file"])
    song = MusicTrackFactory(duration_s=song_s, source_video=source_video)
    song.file.name = store_copy(song_file, f"library/song-{song.pk}.wav")
    song.save(update_fields=["file"])
    return MontageLibrary(clips=rows, song=song, export=export)


def _music_video(root: Path, song: Path, duration_s: float) -> Path:
    from training.montage.media import run

    out = root / "music-video.mp4"
    run(
        ["-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=96x64:rate={FPS}:duration={duration_s}", "-i", str(song),
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", str(out)],
        what="test music video",
    )  # fmt: skip
    return out
