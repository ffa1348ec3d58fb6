"""What the library accepts by name and by container, how stored copies are named and how they are served."""

from __future__ import annotations

import pytest

from annotation.media import probe
from annotation.media.formats import has_media_suffix, served_as, stored_suffix


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        *[("a.mp4", True), ("A.MKV", True), ("b.opus", True), ("x.html", False), ("x.htm", False)],
        *[("x.svg", False), ("x.m3u8", False), ("x.png", False), ("noext", False), ("x.mp4.html", False)],
    ],
)
def test_only_media_extensions_are_accepted(name, accepted):
    assert has_media_suffix(name) is accepted


@pytest.mark.parametrize(
    ("container", "video", "audio", "suffix"),
    [
        ("mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac", ".mp4"),
        ("mov,mp4,m4a,3gp,3g2,mj2", None, "aac", ".m4a"),
        ("matroska,webm", "vp9", "opus", ".webm"),
        ("matroska,webm", "h264", "aac", ".mkv"),
        ("matroska,webm", None, "aac", ".mka"),
        ("ogg", None, "vorbis", ".ogg"),
        ("ogg", None, "opus", ".opus"),
        ("ogg", "theora", "vorbis", ".ogv"),
        ("mp3", None, "mp3", ".mp3"),
        ("wav", None, "pcm_s16le", ".wav"),
    ],
)
def test_the_stored_extension_follows_the_container(container, video, audio, suffix):
    assert stored_suffix(container, video_codec=video, audio_codec=audio) == suffix


def test_a_container_outside_the_list_has_no_stored_extension():
    with pytest.raises(ValueError, match="not an accepted container"):
        stored_suffix("html", video_codec=None, audio_codec=None)


def test_real_files_get_their_own_extension(media_files):
    for key, suffix in [("video", ".mp4"), ("music", ".ogg"), ("music2", ".m4a")]:
        info = probe(media_files[key])
        codecs = {"video_codec": info.video and info.video.codec, "audio_codec": info.audio and info.audio.codec}
        assert stored_suffix(info.container, **codecs) == suffix, key


@pytest.mark.parametrize(
    ("name", "served"),
    [
        ("a.mp4", ("video/mp4", True)),
        ("a.m4a", ("audio/mp4", True)),
        ("a.webm", ("video/webm", True)),
        ("a.MKV", ("video/x-matroska", False)),
        ("a.html", ("application/octet-stream", False)),
        ("a", ("application/octet-stream", False)),
    ],
)
def test_stored_files_are_served_as_media_or_as_a_download(name, served):
    assert served_as(name) == served
