"""Which media files the library accepts, how their stored copies are named and how they are served.

One table per question, so the import door (file name), the probe (ffmpeg demuxer), storage (the
extension of the stored copy) and the media view (content type) can never disagree:

* ``MEDIA_SUFFIXES``: file name extensions an upload, a folder import or a manifest row may have.
  Anything else (``.html``, ``.svg``, ``.m3u8``, ...) is refused before the file is opened.
* ``DEMUXERS``: the only ffmpeg demuxers a probe may use (``-format_whitelist``). A file whose content
  is an image, a playlist (HLS, concat: they make ffmpeg open other files), subtitles or anything else
  fails to open, whatever its name says.
* ``stored_suffix``: the extension of the stored copy comes from the probed container and codecs,
  never from the name the client chose.
* ``served_as``: content type of a stored file by its extension, and whether a browser may play it
  inline; everything else is served as ``application/octet-stream`` for download.
"""

from __future__ import annotations

from pathlib import PurePath

MEDIA_SUFFIXES = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".m4a",
        ".mkv",
        ".mka",
        ".webm",
        ".avi",
        ".ogg",
        ".oga",
        ".ogv",
        ".opus",
        ".mp3",
        ".aac",
        ".wav",
        ".flac",
    }
)

# ffmpeg demuxer names (the first name ffmpeg prints, e.g. "mov" of "mov,mp4,m4a,3gp,3g2,mj2").
DEMUXERS = ("mov", "matroska", "avi", "ogg", "mp3", "aac", "wav", "flac")
FORMAT_WHITELIST = ",".join(DEMUXERS)

_WEBM_VIDEO = {"vp8", "vp9", "av1"}
_WEBM_AUDIO = {"vorbis", "opus"}

# extension -> (content type, playable inline by browsers' <video>/<audio>)
_SERVED: dict[str, tuple[str, bool]] = {
    ".mp4": ("video/mp4", True),
    ".m4v": ("video/mp4", True),
    ".m4a": ("audio/mp4", True),
    ".webm": ("video/webm", True),
    ".ogg": ("audio/ogg", True),
    ".oga": ("audio/ogg", True),
    ".ogv": ("video/ogg", True),
    ".opus": ("audio/ogg", True),
    ".mp3": ("audio/mpeg", True),
    ".aac": ("audio/aac", True),
    ".wav": ("audio/wav", True),
    ".flac": ("audio/flac", True),
    ".mov": ("video/quicktime", False),
    ".mkv": ("video/x-matroska", False),
    ".mka": ("audio/x-matroska", False),
    ".avi": ("video/x-msvideo", False),
}
DOWNLOAD_TYPE = "application/octet-stream"


def demuxer_of(container: str) -> str:
    """``"mov,mp4,m4a,3gp,3g2,mj2"`` -> ``"mov"``: the demuxer name ffmpeg printed first."""
    return container.split(",")[0].strip()


def is_accepted_container(container: str) -> bool:
    return demuxer_of(container) in DEMUXERS


def has_media_suffix(name: str) -> bool:
    return PurePath(name).suffix.lower() in MEDIA_SUFFIXES


def stored_suffix(container: str, *, video_codec: str | None, audio_codec: str | None) -> str:
    """Extension for the stored copy of a probed file. Raises ``ValueError`` for a container not accepted."""
    demuxer = demuxer_of(container)
    if demuxer == "mov":
        return ".mp4" if video_codec else ".m4a"
    if demuxer == "matroska":
        webm = (video_codec is None or video_codec in _WEBM_VIDEO) and (
            audio_codec is None or audio_codec in _WEBM_AUDIO
        )
        if video_codec:
            return ".webm" if webm else ".mkv"
        return ".mka"
    if demuxer == "ogg":
        if video_codec:
            return ".ogv"
        return ".opus" if audio_codec == "opus" else ".ogg"
    if demuxer in {"avi", "mp3", "aac", "wav", "flac"}:
        return f".{demuxer}"
    raise ValueError(f"not an accepted container: {container!r}")


def served_as(name: str) -> tuple[str, bool]:
    """``(content type, inline)`` for a stored file: media types by extension, else a download."""
    return _SERVED.get(PurePath(name).suffix.lower(), (DOWNLOAD_TYPE, False))
