"""Tiny real media for tests: 1-second H.264 + AAC MP4s made with ffmpeg's lavfi sources."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.core.files.storage import default_storage

from annotation.models import Pairing, RenderState
from experiments.media.ffmpeg import ffmpeg_binary

_cache: dict[tuple, Path] = {}


def tiny_mp4(directory: Path, *, variant: int = 0, duration_s: float = 1.0) -> Path:
    """A small test-pattern video with a tone; ``variant`` changes the pattern and pitch."""
    key = (str(directory), variant, duration_s)
    if key in _cache and _cache[key].exists():
        return _cache[key]
    out = directory / f"tiny-{variant}-{duration_s}.mp4"
    subprocess.run(
        [
            ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=15:duration={duration_s}",
            "-f", "lavfi", "-i", f"sine=frequency={330 + 110 * variant}:sample_rate=44100:duration={duration_s}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
            "-movflags", "+faststart", "-shortest", out.as_posix(),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    _cache[key] = out
    return out


def attach_rendered_media(pairings, *, source_dir: Path, duration_s: float = 1.0) -> None:
    """Give each pairing a real rendered file in the test's storage and mark it ready."""
    for index, pairing in enumerate(pairings):
        source = tiny_mp4(source_dir, variant=index % 3, duration_s=duration_s)
        name = f"renders/pairing_{pairing.pk}.mp4"
        path = Path(default_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        Pairing.objects.filter(pk=pairing.pk).update(rendered_file=name, state=RenderState.READY)
