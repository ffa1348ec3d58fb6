"""The montage generator (training/montage): real synthetic media through ffmpeg, checked by probing the output."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from training.errors import TrainingInputError
from training.montage import media
from training.montage.library import read_library
from training.montage.montage import make_montage, provenance_path
from training.montage.plan import Constraints
from training.montage.scoring import EmbeddingScorer
from training.montage.segments import Segment, Segmentation, segment_song
from training.montage.synthetic import make_library, make_song

FPS = 10
SONG_S = 9.34


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("montage")
    make_library(root / "library", clips=12, clip_s=2.0, fps=FPS, per_source=4, excerpts=4)
    make_library(root / "mixed", clips=8, clip_s=2.0, fps=FPS, per_source=4, odd=3)
    make_song(root / "song.wav", duration_s=SONG_S)
    return root


def scorer_for(n_segments: int, n_clips: int, seed: int = 0) -> EmbeddingScorer:
    rng = np.random.default_rng(seed)
    return EmbeddingScorer(
        queries=rng.normal(size=(n_segments, 8)), items=rng.normal(size=(n_clips, 8)), model_version="test:emb@1"
    )


def segments_of(song, segmentation: Segmentation) -> list[Segment]:
    return segment_song(media.decode_song(song), media.SONG_RATE, segmentation, fps=FPS)


def build(media_dir, out, *, library="library", segmentation="fixed:1.5", seed=0, **kwargs):
    clips = read_library(media_dir / library, "clip")
    seg = Segmentation.parse(segmentation, max_segment_s=2.0)
    segments = segments_of(media_dir / "song.wav", seg)
    return make_montage(
        media_dir / "song.wav",
        clips,
        scorer=kwargs.pop("scorer", None) or scorer_for(len(segments), len(clips)),
        out=out,
        segmentation=seg,
        seed=seed,
        fps=FPS,
        normalised_dir=out.parent / "normalised",
        **kwargs,
    )


def test_the_montage_lasts_as_long_as_the_song_and_every_segment_shows_its_clip(media_dir, tmp_path):
    out = tmp_path / "montage.mp4"
    record = build(media_dir, out, segmentation="beats:2")
    assert record == json.loads(provenance_path(out).read_text())
    # Length: the container and the decoded frames, against the song, within one frame.
    assert abs(media.media_duration(out) - SONG_S) <= 1 / FPS
    output = media.frame_hashes(out)
    assert abs(len(output) / FPS - SONG_S) <= 1 / FPS
    assert len(output) == record["video"]["frames"] == sum(s["frames"] for s in record["segments"])
    # Every clip of this library is stream-copied, so the output's frames are the clip's own frames.
    assert record["render"] == {"mode": "copy", "normalised_clips": 0}
    for segment in record["segments"]:
        start, frames = segment["start_frame"], segment["frames"]
        assert segment["rendered_from"] is None
        assert output[start : start + frames] == media.frame_hashes(Path(segment["clip_file"]))[:frames]
    clips = {clip.item_id: clip for clip in read_library(media_dir / "library", "clip")}
    for segment in record["segments"]:
        clip = clips[segment["clip_id"]]
        assert segment["source_video_id"] == clip.source_id
        assert segment["source_range_s"] == pytest.approx([clip.start_s, clip.start_s + segment["frames"] / FPS])
    assert record["model_version"] == "test:emb@1" and record["seed"] == 0
    assert [s["start_frame"] for s in record["segments"]][1:] == [
        s["start_frame"] + s["frames"] for s in record["segments"][:-1]
    ]


def test_clips_in_another_encoding_are_normalised_once_and_the_output_still_matches(media_dir, tmp_path):
    # Distances that make the planner pick every clip, the odd ones (B-frames, other size) included.
    clips = read_library(media_dir / "mixed", "clip")
    seg = Segmentation.parse("fixed:0.8", max_segment_s=2.0)
    n = len(segments_of(media_dir / "song.wav", seg))
    assert n >= len(clips)
    out = tmp_path / "mixed.mp4"
    record = make_montage(
        media_dir / "song.wav",
        clips,
        scorer=scorer_for(n, len(clips)),
        out=out,
        segmentation=seg,
        constraints=Constraints(no_reuse=False),
        strategy="random",
        seed=3,
        fps=FPS,
        normalised_dir=tmp_path / "normalised",
    )
    assert record["render"]["normalised_clips"] > 0
    output = media.frame_hashes(out)
    assert abs(len(output) / FPS - SONG_S) <= 1 / FPS
    assert media.inspect_video(out).width == 96
    for segment in record["segments"]:
        source = Path(segment["rendered_from"] or segment["clip_file"])
        start, frames = segment["start_frame"], segment["frames"]
        assert output[start : start + frames] == media.frame_hashes(source)[:frames]
    # The cache is reused: a second montage normalises nothing new.
    cached = sorted((tmp_path / "normalised").iterdir())
    make_montage(
        media_dir / "song.wav",
        clips,
        scorer=scorer_for(n, len(clips)),
        out=tmp_path / "again.mp4",
        segmentation=seg,
        constraints=Constraints(no_reuse=False),
        strategy="random",
        seed=3,
        fps=FPS,
        normalised_dir=tmp_path / "normalised",
    )
    assert sorted((tmp_path / "normalised").iterdir()) == cached


def test_no_clip_is_used_twice_when_the_constraint_is_on(media_dir, tmp_path):
    clips = read_library(media_dir / "library", "clip")
    seg = Segmentation.parse("fixed:1.5", max_segment_s=2.0)
    n = len(segments_of(media_dir / "song.wav", seg))
    # Clip 1 is the nearest clip for every segment.
    queries = np.ones((n, 2))
    items = np.array([[1.0, 1.0]] + [[1.0, -0.2 * k] for k in range(1, len(clips))])
    scorer = EmbeddingScorer(queries=queries, items=items, model_version="test")
    free = build(media_dir, tmp_path / "free.mp4", scorer=scorer, constraints=Constraints(no_reuse=False))
    assert {s["clip_id"] for s in free["segments"]} == {1}
    once = build(media_dir, tmp_path / "once.mp4", scorer=scorer, constraints=Constraints(no_reuse=True))
    ids = [s["clip_id"] for s in once["segments"]]
    assert len(ids) == len(set(ids)) == n and ids[0] == 1
    assert [s["rank"] for s in once["segments"]] == list(range(1, n + 1))


def test_the_same_seed_gives_the_same_montage_and_another_seed_another(media_dir, tmp_path):
    first = build(media_dir, tmp_path / "a.mp4", strategy="random", seed=7)
    second = build(media_dir, tmp_path / "b.mp4", strategy="random", seed=7)
    other = build(media_dir, tmp_path / "c.mp4", strategy="random", seed=8)
    assert first["segments"] == second["segments"]
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert [s["clip_id"] for s in first["segments"]] != [s["clip_id"] for s in other["segments"]]


def test_a_corrupt_song_is_refused_before_anything_is_written(media_dir, tmp_path):
    song = tmp_path / "broken.mp3"
    song.write_bytes(b"ID3" + bytes(range(256)) * 40)
    clips = read_library(media_dir / "library", "clip")
    out = tmp_path / "out" / "montage.mp4"
    with pytest.raises(TrainingInputError, match="could not be decoded"):
        make_montage(
            song,
            clips,
            scorer=scorer_for(3, len(clips)),
            out=out,
            segmentation=Segmentation.parse("fixed:1"),
            fps=FPS,
        )
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_a_failed_render_leaves_no_partial_file(media_dir, tmp_path):
    clips = read_library(media_dir / "library", "clip")
    broken = []
    for clip in clips:
        path = tmp_path / f"broken-{clip.item_id}.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))
        broken.append(replace(clip, path=path))
    seg = Segmentation.parse("fixed:1.5", max_segment_s=2.0)
    out = tmp_path / "out" / "montage.mp4"
    with pytest.raises(TrainingInputError, match="could not be read"):
        make_montage(
            media_dir / "song.wav",
            broken,
            scorer=scorer_for(len(segments_of(media_dir / "song.wav", seg)), len(clips)),
            out=out,
            segmentation=seg,
            fps=FPS,
        )
    assert list(out.parent.iterdir()) == []  # neither the video, nor its provenance, nor a partial file


def audio_packets(path: Path) -> list[str]:
    result = media.run(["-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "framecrc", "-"], what="")
    return [line.split(",")[-1] for line in result.stdout.decode().splitlines() if not line.startswith("#")]


def test_an_aac_song_is_copied_into_the_montage_and_other_songs_are_encoded_once(media_dir, tmp_path):
    song = tmp_path / "song.m4a"
    media.run(["-v", "error", "-i", str(media_dir / "song.wav"), "-c:a", "aac", "-y", str(song)], what="aac song")
    clips = read_library(media_dir / "library", "clip")
    seg = Segmentation.parse("fixed:1.5", max_segment_s=2.0)
    out = tmp_path / "m.mp4"
    make_montage(
        song,
        clips,
        scorer=scorer_for(len(segments_of(media_dir / "song.wav", seg)), len(clips)),
        out=out,
        segmentation=seg,
        fps=FPS,
    )
    assert media.audio_codec(out) == "aac"
    assert audio_packets(out) == audio_packets(song)  # the song's own AAC packets, not a second encode
    assert abs(media.media_duration(out) - SONG_S) <= 1 / FPS


def test_the_reencode_render_gives_the_same_segments_at_the_same_length(media_dir, tmp_path):
    copy = build(media_dir, tmp_path / "copy.mp4", seed=5)
    encoded = build(media_dir, tmp_path / "encoded.mp4", seed=5, render="reencode")
    assert encoded["render"] == {"mode": "reencode", "normalised_clips": 0}
    assert [s["clip_id"] for s in encoded["segments"]] == [s["clip_id"] for s in copy["segments"]]
    assert len(media.frame_hashes(tmp_path / "encoded.mp4")) == copy["video"]["frames"] == round(SONG_S * FPS)
    with pytest.raises(TrainingInputError, match="render must be one of"):
        build(media_dir, tmp_path / "x.mp4", render="fast")


class FixedDistances:
    """A scorer with given distances (the montage asks a scorer only for these and its model version)."""

    model_version = "test:fixed"

    def __init__(self, distances: np.ndarray) -> None:
        self.distances = distances

    def song_distances(self, song, spans, clips, *, progress=False) -> np.ndarray:
        return self.distances


def test_a_clip_in_another_codec_is_normalised_not_refused(media_dir, tmp_path):
    clips = read_library(media_dir / "library", "clip")
    mpeg4 = tmp_path / "mpeg4.mkv"
    media.run(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=80x60:rate=10:duration=2", "-c:v", "mpeg4", str(mpeg4)],
        what="mpeg4 clip",
    )
    library = [replace(clips[0], path=mpeg4), *clips[1:]]
    seg = Segmentation.parse("fixed:1.5", max_segment_s=2.0)
    n = len(segments_of(media_dir / "song.wav", seg))
    distances = np.full((n, len(library)), 1.0)
    distances[0, 0] = 0.0  # the mpeg4 clip opens the montage
    scorer = FixedDistances(distances)
    out = tmp_path / "m.mp4"
    record = make_montage(media_dir / "song.wav", library, scorer=scorer, out=out, segmentation=seg, fps=FPS)
    first = record["segments"][0]
    assert first["clip_file"] == str(mpeg4) and first["rendered_from"] is not None
    assert media.inspect_video(out).codec == "h264"
    assert len(media.frame_hashes(out)) == round(SONG_S * FPS)
