"""Synthetic music videos: every one has its own soundtrack (else two G pairs would be one)."""

from __future__ import annotations

import csv
import hashlib

from annotation.media import run_ffmpeg
from annotation.media.synthetic import _music_signature, generate_library, music_video_soundtracks


def test_up_to_eighteen_music_videos_get_soundtracks_that_sound_different():
    soundtracks = music_video_soundtracks(count=18, seed=0)
    assert len({_music_signature(style, seed) for style, seed in soundtracks}) == 18


def test_the_first_music_videos_keep_the_seeds_earlier_libraries_were_made_with():
    assert music_video_soundtracks(count=2, seed=5) == [("melody", 1105), ("chords", 1106)]


def test_a_generated_library_has_pairwise_different_soundtracks(tmp_path):
    manifest = generate_library(tmp_path, videos=0, tracks=0, music_videos=5, duration_s=1.0, size=(32, 24))
    with manifest.open() as handle:
        files = [tmp_path / row["file"] for row in csv.DictReader(handle)]
    digests = set()
    for file in files:
        pcm = tmp_path / f"{file.stem}.raw"
        run_ffmpeg(["-y", "-loglevel", "error", "-i", str(file), "-vn", "-f", "s16le", "-ac", "1", str(pcm)])
        digests.add(hashlib.sha256(pcm.read_bytes()).hexdigest())
    assert len(files) == 5 and len(digests) == 5
