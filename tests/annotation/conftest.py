"""Fixtures for the stimulus library: tiny real media files and a fast render configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.media import synthetic_music, synthetic_video


@pytest.fixture(scope="session")
def media_files(tmp_path_factory) -> dict[str, Path]:
    """A handful of small synthetic files, generated once per test session. Treat them as read-only."""
    folder = tmp_path_factory.mktemp("synthetic-media")
    return {
        "video": synthetic_video(folder, "pattern.mp4", duration_s=4.0, pattern="testsrc2"),
        "video2": synthetic_video(folder, "fractal.mp4", duration_s=4.0, pattern="mandelbrot"),
        "music": synthetic_music(folder, "melody.ogg", duration_s=4.0, style="melody"),
        "music2": synthetic_music(folder, "chords.m4a", duration_s=4.0, style="chords", seed=3),
        "music_video": synthetic_video(
            folder, "music_video.mp4", duration_s=4.0, pattern="smptehdbars", soundtrack_style="pulse"
        ),
        "silent": synthetic_music(folder, "silent.ogg", duration_s=3.0, style="silence"),
        "late_start": synthetic_music(folder, "late_start.ogg", duration_s=6.0, style="melody", lead_silence_s=3.0),
    }


@pytest.fixture(autouse=True)
def _small_render(settings):
    """Tiny prepared clips: the pipeline is the same, the pixels are few."""
    settings.MVFIT_RENDER_SIZE = "96x64"
    settings.MVFIT_RENDER_FPS = 10
    settings.MVFIT_RENDER_PRESET = "ultrafast"
    settings.MVFIT_RENDER_BATCH_SIZE = 4
