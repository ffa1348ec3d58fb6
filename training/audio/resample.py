"""Resampling to VGGish's 16 kHz exactly as its reference does: ``resampy.resample(x, sr, 16000)``.

torchvggish (and AudioSet's ``vggish_input.py``) resample with resampy's default ``kaiser_best`` filter.
Any other resampler (ffmpeg's swresample, ``scipy.signal.resample_poly``) has a different transition
band, and at 44.1 or 48 kHz that band falls inside VGGish's top mel band (about 6.9-7.5 kHz): the log-mel
difference reached 0.46 in band 63 (``tests/training/audio/test_vggish_frontend.py`` compares against a
fixture made with resampy 0.4.3 and torchvggish). This module adds only clear errors for bad input.
"""

from __future__ import annotations

import numpy as np
import resampy

NAME = "kaiser_best (resampy 0.4.3)"


def resample(signal: np.ndarray, sr_orig: int, sr_new: int) -> np.ndarray:
    """``signal`` (1-D) resampled from ``sr_orig`` to ``sr_new`` Hz with resampy's ``kaiser_best`` filter."""
    if sr_orig <= 0 or sr_new <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_orig} -> {sr_new}")
    x = np.asarray(signal)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    if sr_orig == sr_new:
        return x.copy()
    if int(len(x) * float(sr_new) / float(sr_orig)) < 1:
        raise ValueError(f"a signal of {len(x)} samples is too short to resample from {sr_orig} to {sr_new} Hz")
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32)
    return resampy.resample(x, sr_orig, sr_new, filter="kaiser_best")
