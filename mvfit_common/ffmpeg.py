"""Where the ffmpeg executable is: the one rule the web app, the workers, training and the benches share.

In order: the configured value (the Django setting ``FFMPEG_BINARY``, which callers pass, else the
environment variable ``MVFIT_FFMPEG``) — a path or a command name on ``PATH``, and an error if it is
neither; otherwise the static build shipped by the ``imageio-ffmpeg`` package (so a fresh machine needs
no system package); otherwise ``ffmpeg`` on ``PATH``; otherwise a clear error saying how to get one.
"""

from __future__ import annotations

import functools
import os
import shutil

ENV_VAR = "MVFIT_FFMPEG"


class FFmpegNotFoundError(RuntimeError):
    """No usable ffmpeg executable; the message says what was tried and how to fix it."""


def ffmpeg_binary(configured: str | None = None) -> str:
    """Path of the ffmpeg executable to run (see the module docstring for the order)."""
    if configured is None:
        configured = os.environ.get(ENV_VAR)
    return _locate((configured or "").strip())


@functools.cache
def _locate(configured: str) -> str:
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise FFmpegNotFoundError(
                f"{ENV_VAR}={configured!r} is not an executable file (nor a command on PATH). "
                f"Point {ENV_VAR} at an ffmpeg executable, or unset it to use imageio-ffmpeg's."
            )
        return found
    try:
        import imageio_ffmpeg  # imported lazily: only needed when nothing is configured

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):  # not installed, or no build for this platform
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise FFmpegNotFoundError(
            f"ffmpeg not found: set {ENV_VAR} to an ffmpeg executable, install the imageio-ffmpeg package "
            "(pip install imageio-ffmpeg), or install ffmpeg on PATH (apt-get install ffmpeg)."
        )
    return found
