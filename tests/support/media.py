"""Small real media for tests: synthetic files made with ffmpeg lavfi, cached per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.files.storage import default_storage

from annotation.files import sha256_of, store_copy
from annotation.media import probe
from annotation.media.synthetic import make_music, make_video
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
