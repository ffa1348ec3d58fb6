"""Decode a file's audio track to a mono float32 waveform.

:func:`read_audio_native` keeps the file's own sample rate: VGGish's front end resamples to 16 kHz
itself, with the reference's filter (training/audio/resample.py), because ffmpeg's swresample filter
differs from it inside VGGish's top mel band. :func:`read_audio` lets ffmpeg resample (band-limited,
fine for anything but bit-faithful VGGish inputs).

Downmixing is done here, not by ffmpeg: ``-ac 1`` mixes stereo as ``(L + R) / sqrt(2)`` (power
preserving), whereas VGGish's reference input code takes the channel *mean*. So ffmpeg emits a WAV
stream with all channels (its header tells us how many, without ffprobe) and we average them.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from training.inputs.ffmpeg import decode


def _parse_float_wav(data: bytes, source: str) -> tuple[int, int, np.ndarray]:
    """(channels, sample rate, interleaved float32 samples) from ffmpeg's streamed pcm_f32le WAV.

    When writing to a pipe ffmpeg cannot seek back to fill in chunk sizes, so the ``data`` chunk is read
    to the end of the stream instead of trusting its declared size.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{source}: ffmpeg did not produce a WAV stream")
    offset, channels, rate = 12, None, 0
    while offset + 8 <= len(data):
        chunk_id, chunk_size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            channels, rate = struct.unpack("<HI", data[body + 2 : body + 8])
        elif chunk_id == b"data":
            if channels is None:
                raise ValueError(f"{source}: WAV stream has no format chunk before its data")
            samples = data[body:]
            samples = samples[: len(samples) - len(samples) % (4 * channels)]
            return channels, rate, np.frombuffer(samples, dtype="<f4")
        offset = body + chunk_size + (chunk_size & 1)
    raise ValueError(f"{source} has no decodable audio")


def read_audio(path: str | os.PathLike[str], *, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track as ``(samples,)`` float32 at ``sample_rate``, mono by channel mean.

    Raises :class:`~training.inputs.ffmpeg.MissingStreamError` for a file without an audio stream.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    raw = decode(path, ["-vn", "-sn", "-ar", str(int(sample_rate)), "-c:a", "pcm_f32le", "-f", "wav"], stream="audio")
    channels, _, interleaved = _parse_float_wav(raw, str(path))
    return interleaved.reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32)


def read_audio_native(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """The whole audio track at the file's own sample rate: ``((samples,) float32 mono by channel mean, rate)``."""
    raw = decode(path, ["-vn", "-sn", "-c:a", "pcm_f32le", "-f", "wav"], stream="audio")
    channels, rate, interleaved = _parse_float_wav(raw, str(path))
    if rate <= 0:
        raise ValueError(f"{path}: ffmpeg reported no sample rate")
    return interleaved.reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32), int(rate)
