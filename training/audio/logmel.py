"""VGGish's log-mel front end, reproduced exactly so pretrained VGGish weights see the inputs they were trained on.

The reference is ``vggish_input.py`` / ``mel_features.py`` from the AudioSet release (also vendored by
torchvggish). Every constant below is theirs:

* mono (channel mean), resampled to 16 kHz;
* frames of 25 ms (400 samples) every 10 ms (160 samples), only whole frames (no centring/padding);
* a *periodic* Hann window ``0.5 - 0.5 cos(2 pi n / N)`` (not the symmetric one), then the magnitude
  of a 512-point real FFT (frame zero-padded from 400 to 512 at the end);
* 64 triangular mel filters between 125 and 7500 Hz on the HTK scale ``1127 ln(1 + f / 700)``, laid out
  on the mel values of the 257 FFT-bin frequencies (``linspace(0, 8000, 257)``) with the DC bin zeroed;
* ``log(mel + 0.01)``;
* non-overlapping examples of 96 frames (0.96 s); a trailing partial example is dropped.

Resampling to 16 kHz is resampy's ``kaiser_best`` (what the reference calls), reproduced in
:mod:`training.audio.resample`: at 44.1 and 48 kHz a different resampler's transition band lies inside
the top mel band (about 6.9-7.5 kHz) and changes it visibly, so "any good resampler" is not enough.
``tests/training/audio/test_vggish_frontend.py`` checks the whole front end against a fixture made
with torchvggish and resampy at 16, 44.1 and 48 kHz.
"""

from __future__ import annotations

import numpy as np

from training.audio import resample as _resampy

SAMPLE_RATE = 16000
WINDOW_LENGTH = 400  # 25 ms at 16 kHz
HOP_LENGTH = 160  # 10 ms at 16 kHz
FFT_LENGTH = 512  # next power of two >= WINDOW_LENGTH
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s of 10 ms frames, hop = window (no overlap)

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(frequencies_hertz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, the one VGGish uses (natural log, 1127 / 700 Hz constants)."""
    return _MEL_HIGH_FREQUENCY_Q * np.log1p(
        np.asarray(frequencies_hertz, dtype=np.float64) / _MEL_BREAK_FREQUENCY_HERTZ
    )


def periodic_hann(window_length: int) -> np.ndarray:
    """Periodic Hann window (the DFT-even one, as TensorFlow's ``hann_window(periodic=True)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / window_length * np.arange(window_length))


def mel_weight_matrix(
    num_mel_bins: int = NUM_MEL_BINS,
    num_spectrogram_bins: int = FFT_LENGTH // 2 + 1,
    sample_rate: int = SAMPLE_RATE,
    lower_edge_hertz: float = MEL_MIN_HZ,
    upper_edge_hertz: float = MEL_MAX_HZ,
) -> np.ndarray:
    """``(num_spectrogram_bins, num_mel_bins)`` matrix of triangular filters, equal-width in mel.

    Band ``i`` rises linearly in mel from edge ``i`` to edge ``i + 1`` and falls to edge ``i + 2``, the
    ``num_mel_bins + 2`` edges being evenly spaced in mel between the lower and upper edge. The DC bin
    gets weight 0, as in the reference.
    """
    nyquist = sample_rate / 2.0
    if not 0.0 <= lower_edge_hertz < upper_edge_hertz <= nyquist:
        raise ValueError(f"need 0 <= lower ({lower_edge_hertz}) < upper ({upper_edge_hertz}) <= Nyquist ({nyquist})")
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins))
    edges_mel = np.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower, center, upper = edges_mel[:-2], edges_mel[1:-1], edges_mel[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def to_mono(waveform: np.ndarray) -> np.ndarray:
    """Float64 mono signal from ``(samples,)`` or ``(samples, channels)`` (soundfile's layout), by channel mean."""
    data = np.asarray(waveform)
    if data.ndim == 2:
        data = data.mean(axis=1)
    elif data.ndim != 1:
        raise ValueError(f"waveform must be (samples,) or (samples, channels), got shape {data.shape}")
    data = data.astype(np.float64, copy=False)
    if not np.all(np.isfinite(data)):
        raise ValueError("waveform contains NaN or infinite samples")
    return data


def resample(waveform: np.ndarray, sample_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample with resampy's ``kaiser_best`` filter, as the reference front end does."""
    if sample_rate <= 0 or int(sample_rate) != sample_rate:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if sample_rate == target_rate:
        return waveform
    return _resampy.resample(waveform, int(sample_rate), int(target_rate))


def stft_magnitude(signal_16k: np.ndarray) -> np.ndarray:
    """``(frames, 257)`` magnitudes of periodic-Hann-windowed 400-sample frames every 160 samples."""
    if signal_16k.shape[0] < WINDOW_LENGTH:
        return np.zeros((0, FFT_LENGTH // 2 + 1))
    frames = np.lib.stride_tricks.sliding_window_view(signal_16k, WINDOW_LENGTH)[::HOP_LENGTH]
    return np.abs(np.fft.rfft(frames * periodic_hann(WINDOW_LENGTH), n=FFT_LENGTH, axis=1))


def log_mel_spectrogram(signal_16k: np.ndarray) -> np.ndarray:
    """``(frames, 64)`` float64 ``log(mel + 0.01)`` of a 16 kHz mono signal."""
    return np.log(stft_magnitude(signal_16k) @ mel_weight_matrix() + LOG_OFFSET)


def frame_examples(log_mel: np.ndarray) -> np.ndarray:
    """Cut ``(frames, 64)`` into non-overlapping ``(N, 96, 64)`` examples, dropping the partial tail."""
    count = log_mel.shape[0] // EXAMPLE_FRAMES
    return log_mel[: count * EXAMPLE_FRAMES].reshape(count, EXAMPLE_FRAMES, log_mel.shape[1])


def waveform_to_examples(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """VGGish input examples ``(N, 96, 64)`` float32 from a waveform at any sample rate.

    Samples are expected in [-1, 1] (as the reference, which divides int16 PCM by 32768). Audio shorter
    than 0.975 s (400 + 95 * 160 samples) yields ``N = 0``; add the channel axis with ``examples[:, None]``
    for VGGish.
    """
    mono = resample(to_mono(waveform), sample_rate)
    return frame_examples(log_mel_spectrogram(mono)).astype(np.float32)
