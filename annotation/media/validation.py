"""Decide whether a probed file can enter the library as a given kind, with one clear reason if not.

:func:`check_header` judges the cheap header probe (container, limits on duration and frame size) and
runs first, so a file over the limits costs no decode; :func:`check` judges the full probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .formats import DEMUXERS, is_accepted_container
from .probe import MediaInfo


class MediaKind(StrEnum):
    VIDEO = "video"
    MUSIC = "music"
    # A video with its own soundtrack: imported as a Video plus a linked MusicTrack (a ground-truth pair).
    MUSIC_VIDEO = "music_video"


# Containers ffmpeg uses for still images; a picture is not a video even though it has a "Video:" stream.
_IMAGE_CONTAINERS = ("image2", "_pipe", "gif", "apng", "webp")


@dataclass(frozen=True)
class ValidationRules:
    min_duration_s: float = 1.0
    # Peak level at or below this counts as silence (digital silence is -inf / about -91 dB).
    silence_peak_db: float = -60.0
    # A decoded duration this much shorter than the header's means the file was cut off.
    truncation_tolerance_s: float = 0.5
    truncation_tolerance_fraction: float = 0.05
    # Occasional broken frames are common in real files (one bad MP3 header); many are not.
    max_decode_errors: int = 8
    # Limits checked on the header before any decode (None: no limit). The frame size limit holds in
    # either orientation: (1920, 1080) admits 1080x1920 portrait video too.
    max_duration_s: float | None = None
    max_video_size: tuple[int, int] | None = None


class MediaRejected(Exception):
    """The file cannot be imported; ``str(exc)`` is the reason shown to the user."""


def _starts_like_mp4(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(12)[4:8] == b"ftyp"
    except OSError:
        return False


def _describe_open_error(error: str, path: Path) -> str:
    lowered = error.lower()
    if "moov atom not found" in lowered:
        if _starts_like_mp4(path):
            return "truncated or incomplete file: the MP4 index ('moov' atom) is missing"
        return "corrupt: not a valid MP4/MOV file (no 'ftyp' header, no 'moov' index)"
    if "ebml header parsing failed" in lowered:
        return "corrupt: not a valid Matroska/WebM file (unreadable EBML header)"
    if "invalid data found" in lowered:
        return "not a readable audio or video file (corrupt, or a format ffmpeg does not support)"
    if "no such file" in lowered:
        return "file not found"
    if "permission denied" in lowered:
        return "permission denied"
    if "format not on whitelist" in lowered:
        return f"unsupported format: not an audio or video container the library accepts ({', '.join(DEMUXERS)})"
    return f"corrupt or unsupported: ffmpeg cannot read it ({error})"


def _check_limits(*, duration_s: float | None, info: MediaInfo, rules: ValidationRules) -> None:
    if rules.max_duration_s is not None and duration_s is not None and duration_s > rules.max_duration_s:
        raise MediaRejected(f"too long: {duration_s:.1f} s (the limit is {rules.max_duration_s:g} s)")
    if rules.max_video_size is not None and info.video is not None:
        size = sorted((info.video.width, info.video.height), reverse=True)
        limit = sorted(rules.max_video_size, reverse=True)
        if size[0] > limit[0] or size[1] > limit[1]:
            raise MediaRejected(
                f"frame too large: {info.video.width}x{info.video.height} "
                f"(the limit is {rules.max_video_size[0]}x{rules.max_video_size[1]}, either orientation)"
            )


def check_header(info: MediaInfo, *, rules: ValidationRules | None = None) -> None:
    """Judge a header probe (``probe_header``): readable, an accepted container, within the limits.

    Raise :class:`MediaRejected` with the reason; return quietly when the full probe may run.
    """
    rules = rules or ValidationRules()
    if info.open_error:
        raise MediaRejected(_describe_open_error(info.open_error, info.path))
    if not is_accepted_container(info.container):
        raise MediaRejected(f"unsupported container {info.container!r} (accepted: {', '.join(DEMUXERS)})")
    _check_limits(duration_s=info.declared_duration_s, info=info, rules=rules)


def check(info: MediaInfo, *, kind: MediaKind, rules: ValidationRules | None = None) -> None:
    """Raise :class:`MediaRejected` with the first problem found; return quietly for a good file."""
    rules = rules or ValidationRules()
    if info.open_error:
        raise MediaRejected(_describe_open_error(info.open_error, info.path))
    if any(marker in info.container for marker in _IMAGE_CONTAINERS) and kind != MediaKind.MUSIC:
        raise MediaRejected(f"a still image ({info.container}), not a video")
    if not is_accepted_container(info.container):
        raise MediaRejected(f"unsupported container {info.container!r} (accepted: {', '.join(DEMUXERS)})")
    # Before the truncation check: a decode stopped at the duration limit is long, not truncated.
    _check_limits(duration_s=info.decoded_duration_s, info=info, rules=rules)
    if info.video is None and info.audio is None:
        found = ", ".join(info.other_streams) or "nothing"
        raise MediaRejected(f"unsupported: no audio or video stream (found {found})")
    if kind in (MediaKind.VIDEO, MediaKind.MUSIC_VIDEO) and info.video is None:
        raise MediaRejected(f"no video stream: cannot import as {kind.value} (it has only audio)")
    if kind in (MediaKind.MUSIC, MediaKind.MUSIC_VIDEO) and info.audio is None:
        raise MediaRejected(f"no audio stream: cannot import as {kind.value}")
    if info.video is not None and kind != MediaKind.MUSIC and not (info.video.width and info.video.height):
        raise MediaRejected(f"unsupported video stream ({info.video.codec}): no frame size")

    declared, decoded = info.declared_duration_s, info.decoded_duration_s
    if any("partial file" in e for e in info.decode_errors):
        raise MediaRejected(
            f"truncated: the file ends early (decodes to {decoded or 0:.2f} s"
            + (f" of the {declared:.2f} s its header declares)" if declared else ")")
        )
    if declared and decoded is not None:
        allowed = max(rules.truncation_tolerance_s, declared * rules.truncation_tolerance_fraction)
        if decoded < declared - allowed:
            raise MediaRejected(f"truncated: decodes to {decoded:.2f} s of the {declared:.2f} s its header declares")
    if not decoded:
        first = f" (first: {info.decode_errors[0]})" if info.decode_errors else ""
        raise MediaRejected(f"corrupt: nothing could be decoded{first}")
    if len(info.decode_errors) > rules.max_decode_errors:
        raise MediaRejected(f"corrupt: {len(info.decode_errors)} decoding errors (first: {info.decode_errors[0]})")
    if info.duration_s < rules.min_duration_s:
        raise MediaRejected(f"too short: {info.duration_s:.2f} s (minimum {rules.min_duration_s:g} s)")
    if kind in (MediaKind.MUSIC, MediaKind.MUSIC_VIDEO):
        peak = info.max_volume_db
        if peak is None or math.isinf(peak) or peak <= rules.silence_peak_db:
            shown = "-inf" if peak is None or math.isinf(peak) else f"{peak:.1f}"
            raise MediaRejected(
                f"silent: the audio never rises above {shown} dB (threshold {rules.silence_peak_db:g} dB)"
            )
