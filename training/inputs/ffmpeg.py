"""Run the ffmpeg binary as a decoder and collect raw samples from its stdout.

Decoding through a pipe keeps the inputs independent of Python video libraries and of ffprobe (which a
fresh machine may lack). The binary is found by :func:`mvfit_common.ffmpeg.ffmpeg_binary`, the rule the
web app uses too (``$MVFIT_FFMPEG``, else imageio-ffmpeg's static build, else ``ffmpeg`` on PATH), so
training sees the decoder the platform rendered with.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mvfit_common.ffmpeg import ffmpeg_binary


class MediaDecodeError(RuntimeError):
    """ffmpeg could not decode a media file; the message carries ffmpeg's own explanation."""


class MissingStreamError(MediaDecodeError):
    """The file decodes but has no stream of the requested kind (e.g. a silent video asked for audio)."""


def decode(path: str | os.PathLike[str], output_args: list[str], *, stream: str) -> bytes:
    """Decode ``path`` with ``output_args`` (filters, raw format) to stdout; raise with ffmpeg's stderr on failure.

    ``stream`` ("video" or "audio") names what the caller wanted, for the error when the file has none.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"media file {source} does not exist")
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source), *output_args, "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace")
        if "does not contain any stream" in stderr:
            raise MissingStreamError(f"{source} has no {stream} stream")
        detail = stderr.strip().splitlines()[-5:]
        raise MediaDecodeError(f"ffmpeg could not decode {source}: {' | '.join(detail) or 'no message'}")
    return result.stdout
