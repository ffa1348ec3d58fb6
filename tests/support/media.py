"""Small real media for tests: synthetic files made with ffmpeg lavfi, cached per test session."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.core.files.storage import default_storage

from annotation.files import sha256_of, store_copy
from annotation.media import probe
from annotation.media.ffmpeg import ffmpeg_binary
from annotation.media.synthetic import make_music, make_video
from annotation.models import Pairing, RenderState
from tests.factories.annotation import MusicTrackFactory, VideoFactory

SMALL = (96, 64)


def synthetic_video(folder: Path, name: str = "video.mp4", *, duration_s: float = 3.0, **kwargs) -> Path:
    kwargs.setdefault("size", SMALL)
    kwargs.setdefault("fps", 10)
    return make_video(Path(folder) / name, duration_s=duration_s, **kwargs)


def synthetic_music(folder: Path, name: str = "music.ogg", *, duration_s: float = 3.0, **kwargs) -> Path:
    return make_music(Path(folder) / name, duration_s=duration_s, **kwargs)


def library_video(path: Path, **fields):
    """A Video row whose file is really in media storage (bypasses the import service)."""
    info = probe(path)
    digest = sha256_of(path)
    name = store_copy(path, f"library/test/{digest}{path.suffix}")
    return VideoFactory(
        file=name,
        sha256=digest,
        original_name=path.name,
        size_bytes=path.stat().st_size,
        duration_s=info.duration_s,
        width=info.video.width,
        height=info.video.height,
        fps=info.video.fps,
        **fields,
    )


def library_track(path: Path, **fields):
    info = probe(path)
    digest = sha256_of(path)
    name = store_copy(path, f"library/test/{digest}{path.suffix}")
    return MusicTrackFactory(
        file=name,
        sha256=digest,
        original_name=path.name,
        size_bytes=path.stat().st_size,
        duration_s=info.duration_s,
        sample_rate=info.audio.sample_rate,
        channels=info.audio.channels,
        **fields,
    )


def storage_path(name: str) -> Path:
    return Path(default_storage.path(name))


def copy_to(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


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
