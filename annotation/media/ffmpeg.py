"""Run the ffmpeg binary. The only place that knows how ffmpeg is found and invoked.

The binary is found by :func:`mvfit_common.ffmpeg.ffmpeg_binary` (the one rule, shared with training):
``settings.FFMPEG_BINARY`` (env ``MVFIT_FFMPEG``), else the static build shipped by imageio-ffmpeg (so a
fresh machine needs no system package), else ``ffmpeg`` on PATH. ffprobe is deliberately not used:
it is not guaranteed to exist, and ``ffmpeg -i`` plus a decode pass tells us everything we need.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from mvfit_common.ffmpeg import FFmpegNotFoundError
from mvfit_common.ffmpeg import ffmpeg_binary as common_ffmpeg_binary

DEFAULT_TIMEOUT_S = 600.0


class MediaError(Exception):
    """A permanent problem with a media file or an ffmpeg run (retrying will not help)."""


class FFmpegError(MediaError):
    """ffmpeg exited non-zero. ``stderr_tail`` holds the last lines of its log for the error message."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message if not stderr_tail else f"{message}: {stderr_tail}")
        self.returncode = returncode
        self.stderr_tail = stderr_tail


def ffmpeg_binary() -> str:
    """Path of the ffmpeg executable to use; a :class:`MediaError` (not retried) when there is none."""
    configured: str | None
    try:
        from django.conf import settings

        configured = getattr(settings, "FFMPEG_BINARY", None)
    except Exception:  # settings not configured: scripts like bench/ run without Django
        configured = None  # the shared rule reads MVFIT_FFMPEG itself
    try:
        return common_ffmpeg_binary(configured)
    except FFmpegNotFoundError as exc:
        raise MediaError(str(exc)) from exc


def tail(text: str, *, lines: int = 6) -> str:
    """The last non-empty lines of an ffmpeg log, joined for an error message."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_ffmpeg(
    args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``ffmpeg <args>`` without stdin; return the completed process (stderr as text).

    ``check`` raises :class:`FFmpegError` with the tail of the log on a non-zero exit.
    """
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", *args]
    try:
        completed = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"ffmpeg timed out after {timeout:.0f}s") from exc
    if check and completed.returncode != 0:
        raise FFmpegError(
            f"ffmpeg failed (exit {completed.returncode})",
            returncode=completed.returncode,
            stderr_tail=tail(completed.stderr),
        )
    return completed
