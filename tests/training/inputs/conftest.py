"""Tiny synthetic media made with ffmpeg's lavfi sources in a temporary directory (never copied from shared media)."""

import subprocess

import pytest

from training.inputs.ffmpeg import ffmpeg_binary


def make_media(path, *inputs_and_options):
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs_and_options, str(path)]
    subprocess.run(command, check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def synthetic_media(tmp_path_factory):
    """2 s clips: a 4:3 moving test pattern with a 1 kHz stereo tone, a silent video and a left-only tone."""
    folder = tmp_path_factory.mktemp("media")
    clip = make_media(
        folder / "clip.mp4",
        *("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2"),
        *("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=2"),
        *("-ac", "2", "-c:v", "mpeg4", "-q:v", "3", "-c:a", "aac", "-shortest"),
    )
    silent = make_media(
        folder / "silent.mp4", *("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-c:v", "mpeg4")
    )
    left_only = make_media(
        folder / "left_only.wav",
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1"),
        *("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"),
        *("-filter_complex", "[0:a][1:a]amerge=inputs=2[a]", "-map", "[a]", "-t", "1", "-c:a", "pcm_f32le"),
    )
    return {"clip": clip, "silent": silent, "left_only": left_only}
