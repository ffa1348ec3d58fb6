"""The montage's segmentation and clip choice (no media): constraints, strategies, ties, frame grid."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from training.errors import TrainingInputError
from training.montage.library import LibraryItem
from training.montage.plan import Constraints, plan_montage
from training.montage.segments import Segment, Segmentation, segment_song

FPS = 25


def segments(n: int, frames: int = 25) -> list[Segment]:
    return [Segment(index=i, start_frame=i * frames, frames=frames, fps=FPS) for i in range(n)]


def clips(sources: list[int], duration_s: float = 2.0) -> list[LibraryItem]:
    starts: dict[int, float] = {}
    items = []
    for k, source in enumerate(sources):
        start = starts.get(source, 0.0)
        starts[source] = start + duration_s
        items.append(LibraryItem(k + 1, source, start, duration_s, Path(f"/clips/{k + 1}.mp4")))
    return items


def test_no_two_consecutive_clips_come_from_one_source_when_asked():
    library = clips([1, 1, 1, 2, 2, 3])
    distances = np.tile(np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9]), (4, 1))
    plain = plan_montage(segments(4), library, distances, constraints=Constraints())
    assert [c.clip.source_id for c in plain] == [1, 1, 1, 2]
    spread = plan_montage(segments(4), library, distances, constraints=Constraints(no_same_source=True))
    chosen = [c.clip.source_id for c in spread]
    assert all(a != b for a, b in itertools.pairwise(chosen))
    assert [c.clip.item_id for c in spread] == [1, 4, 2, 5]


def test_the_continuity_bonus_keeps_a_source_running():
    library = clips([1, 2, 1])  # clip 3 continues clip 1 in source 1
    distances = np.array([[0.1, 0.5, 0.9], [0.5, 0.40, 0.45]])
    without = plan_montage(segments(2), library, distances, constraints=Constraints())
    assert [c.clip.item_id for c in without] == [1, 2]
    with_bonus = plan_montage(segments(2), library, distances, constraints=Constraints(continuity_bonus=0.1))
    assert [c.clip.item_id for c in with_bonus] == [1, 3] and with_bonus[1].continues_previous
    assert with_bonus[1].distance == pytest.approx(0.45)  # the recorded distance is the model's, not the score


def test_strategies_nearest_farthest_and_seeded_random():
    library = clips(list(range(1, 7)))
    distances = np.tile(np.linspace(0.1, 0.6, 6), (3, 1))
    nearest = plan_montage(segments(3), library, distances, constraints=Constraints())
    farthest = plan_montage(segments(3), library, distances, constraints=Constraints(), strategy="farthest")
    assert [c.rank for c in nearest] == [1, 2, 3] and [c.rank for c in farthest] == [6, 5, 4]
    draws = {
        tuple(
            c.clip.item_id
            for c in plan_montage(segments(3), library, distances, constraints=Constraints(), strategy="random", seed=s)
        )
        for s in range(6)
    }
    assert len(draws) > 1
    again = plan_montage(segments(3), library, distances, constraints=Constraints(), strategy="random", seed=2)
    assert again == plan_montage(segments(3), library, distances, constraints=Constraints(), strategy="random", seed=2)


def test_clips_too_short_for_a_segment_are_skipped_and_an_impossible_plan_is_refused():
    library = [*clips([1, 2], duration_s=1.0), LibraryItem(3, 3, 0.0, 3.0, Path("/clips/3.mp4"))]
    long = [Segment(index=0, start_frame=0, frames=50, fps=FPS)]
    plan = plan_montage(long, library, np.array([[0.1, 0.2, 0.9]]), constraints=Constraints())
    assert plan[0].clip.item_id == 3
    with pytest.raises(TrainingInputError, match="segments but the library only"):
        plan_montage(segments(4), library, np.zeros((4, 3)), constraints=Constraints())
    with pytest.raises(TrainingInputError, match="no clip can fill segment 1"):
        plan_montage([*long, Segment(1, 50, 50, FPS)], library, np.zeros((2, 3)), constraints=Constraints())


def test_segments_sit_on_the_frame_grid_and_cover_the_song():
    rate = 22050
    samples = np.zeros(int(10.37 * rate), dtype=np.float32)
    segmentation = Segmentation.parse("fixed:1.6", min_segment_s=0.5, max_segment_s=4.0)
    found = segment_song(samples, rate, segmentation, fps=FPS)
    assert sum(s.frames for s in found) == round(10.37 * FPS)
    assert [s.start_frame for s in found] == [0, 40, 80, 120, 160, 200, 240]  # 1.6 s windows = 40 frames
    capped = segment_song(samples, rate, Segmentation.parse("fixed:9", max_segment_s=2.0), fps=FPS)
    assert max(s.frames for s in capped) <= 50 and sum(s.frames for s in capped) == round(10.37 * FPS)
    for bad in ("bars:4", "beats:1.5", "fixed:0", "fixed:x"):
        with pytest.raises(TrainingInputError, match="segmentation"):
            Segmentation.parse(bad)


def test_beat_segments_start_on_the_beats():
    import tempfile

    from training.montage.media import SONG_RATE, decode_song
    from training.montage.synthetic import make_song  # ffmpeg: a click every 0.5 s (120 bpm)

    with tempfile.TemporaryDirectory() as tmp:
        samples = decode_song(make_song(Path(tmp) / "song.wav", duration_s=8.0, bpm=120))
    found = segment_song(samples, SONG_RATE, Segmentation.parse("beats:4"), fps=FPS)
    starts = np.array([s.start_s for s in found[1:]])
    assert len(found) >= 3
    assert np.all(np.abs(starts - np.round(starts * 2) / 2) <= 0.08)  # on the 0.5 s beat grid
    assert np.allclose(np.diff(starts), 2.0, atol=0.1)  # every 4 beats


def test_the_structural_segmenter_puts_a_boundary_at_the_section_change():
    import tempfile

    from training.montage.media import SONG_RATE, decode_song
    from training.montage.synthetic import make_song

    with tempfile.TemporaryDirectory() as tmp:
        verse = decode_song(make_song(Path(tmp) / "a.wav", duration_s=6.0, bpm=90, pitch_hz=220))
        chorus = decode_song(make_song(Path(tmp) / "b.wav", duration_s=6.0, bpm=150, pitch_hz=660))
    samples = np.concatenate([verse, chorus])
    found = segment_song(samples, SONG_RATE, Segmentation.parse("foote", max_segment_s=8.0), fps=FPS)
    assert sum(s.frames for s in found) == round(len(samples) / SONG_RATE * FPS)
    assert any(abs(s.start_s - 6.0) <= 0.5 for s in found[1:])
    assert Segmentation.parse("flux").kind == "flux"
    with pytest.raises(TrainingInputError, match="segmentation"):
        Segmentation.parse("foote:3")
