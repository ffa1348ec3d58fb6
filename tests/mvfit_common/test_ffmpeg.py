"""The one rule for finding ffmpeg: configured value, else imageio-ffmpeg's build, else PATH, else a clear error."""

from __future__ import annotations

import sys

import pytest

from mvfit_common import ffmpeg
from mvfit_common.ffmpeg import FFmpegNotFoundError, ffmpeg_binary


@pytest.fixture(autouse=True)
def fresh_lookup(monkeypatch):
    monkeypatch.delenv("MVFIT_FFMPEG", raising=False)
    ffmpeg._locate.cache_clear()
    yield
    ffmpeg._locate.cache_clear()


def fake_ffmpeg(directory):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ffmpeg"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_a_configured_path_or_command_wins(tmp_path, monkeypatch):
    path = fake_ffmpeg(tmp_path / "bin")
    assert ffmpeg_binary(str(path)) == str(path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert ffmpeg_binary("ffmpeg") == str(path)  # a command name on PATH is fine too


def test_the_environment_variable_is_the_default_configuration(tmp_path, monkeypatch):
    path = fake_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("MVFIT_FFMPEG", str(path))
    assert ffmpeg_binary() == str(path)


def test_a_configured_ffmpeg_that_does_not_exist_is_a_clear_error(tmp_path):
    with pytest.raises(FFmpegNotFoundError, match=r"MVFIT_FFMPEG='.*no-ffmpeg' is not an executable file"):
        ffmpeg_binary(str(tmp_path / "no-ffmpeg"))
    not_executable = tmp_path / "ffmpeg.txt"
    not_executable.write_text("text")
    with pytest.raises(FFmpegNotFoundError, match="is not an executable file"):
        ffmpeg_binary(str(not_executable))


def test_without_configuration_imageio_ffmpegs_build_is_used():
    import imageio_ffmpeg

    assert ffmpeg_binary() == imageio_ffmpeg.get_ffmpeg_exe()


def test_without_imageio_ffmpeg_the_path_is_searched_and_then_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as if not installed
    path = fake_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert ffmpeg_binary() == str(path)
    ffmpeg._locate.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FFmpegNotFoundError, match=r"ffmpeg not found: set MVFIT_FFMPEG .* imageio-ffmpeg .* PATH"):
        ffmpeg_binary()
