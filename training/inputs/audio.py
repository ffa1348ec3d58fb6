"""Decode a file's audio track to a mono float32 waveform.

ffmpeg resamples with its band-limited swresample filter, so a 44.1 or 48 kHz soundtrack arrives at
VGGish's 16 kHz without aliasing and the log-mel front end needs no further resampling.

Downmixing is done here, not by ffmpeg: ``-ac 1`` mixes stereo as ``(L + R) / sqrt(2)`` (power
preserving), whereas VGGish's reference input code takes the channel *mean*. So ffmpeg emits a WAV
stream with all channels (its header tells us how many, without ffprobe) and we average them.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from training.inputs.ffmpeg import decode


def _parse_float_wav(data: bytes, source: str) -> tuple[int, np.ndarray]:
    """(channels, interleaved float32 samples) from ffmpeg's streamed pcm_f32le WAV.

    When writing to a pipe ffmpeg cannot seek back to fill in chunk sizes, so the ``data`` chunk is read
    to the end of the stream instead of trusting its declared size.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{source}: ffmpeg did not produce a WAV stream")
    offset, channels = 12, None
    while offset + 8 <= len(data):
        chunk_id, chunk_size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            channels = struct.unpack("<H", data[body + 2 : body + 4])[0]
        elif chunk_id == b"data":
            if channels is None:
                raise ValueError(f"{source}: WAV stream has no format chunk before its data")
            samples = data[body:]
            samples = samples[: len(samples) - len(samples) % (4 * channels)]
            return channels, np.frombuffer(samples, dtype="<f4")
        offset = body + chunk_size + (chunk_size & 1)
    raise ValueError(f"{source} has no decodable audio")


def read_audio(path: str | os.PathLike[str], *, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track as ``(samples,)`` float32 at ``sample_rate``, mono by channel mean.

    Raises :class:`~training.inputs.ffmpeg.MissingStreamError` for a file without an audio stream.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    raw = decode(path, ["-vn", "-sn", "-ar", str(int(sample_rate)), "-c:a", "pcm_f32le", "-f", "wav"], stream="audio")
    channels, interleaved = _parse_float_wav(raw, str(path))
    return interleaved.reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32)
