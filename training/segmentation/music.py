"""Music structure boundaries: Foote's checkerboard novelty and a spectral-flux novelty (librosa).

Both work on librosa features of the file's audio track (22,050 Hz, 512-sample hop), pooled to a
coarse ``resolution_s`` grid, and pick peaks of a novelty curve with librosa's peak picker.

``foote`` (Foote 2000, the seed's best segmentation family): the cosine self-similarity matrix of
standardised MFCC (20) + chroma (12) frames is correlated along its diagonal with a Gaussian-tapered
checkerboard kernel of half-width ``kernel_s``; the kernel responds where the past ``kernel_s``
seconds are self-similar, the next ``kernel_s`` too, and the two differ - a section change.

``flux``: the log-mel spectrogram (64 bands) is smoothed over ``smooth_s`` seconds and the novelty is
the mean absolute change between frames ``lag_s`` apart - spectral flux at the time scale of
sections rather than notes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.errors import TrainingInputError
from training.segmentation.base import as_cache_array, pick_peaks

SAMPLE_RATE = 22050
HOP = 512


def _audio(path: Path) -> np.ndarray:
    from training.inputs.audio import read_audio

    y = read_audio(path, sample_rate=SAMPLE_RATE)
    if len(y) == 0:
        raise TrainingInputError(f"{path}: the audio track is empty.")
    return y


def _pool(frames: np.ndarray, factor: int) -> np.ndarray:
    """(D, T) → (D, ceil(T / factor)) by averaging consecutive frames."""
    d, t = frames.shape
    padded = np.pad(frames, ((0, 0), (0, (-t) % factor)), mode="edge")
    return padded.reshape(d, -1, factor).mean(axis=2)


def checkerboard_kernel(half: int) -> np.ndarray:
    """(2 half, 2 half) Gaussian-tapered checkerboard: +1 on the two same-side quadrants, -1 across."""
    axis = np.arange(-half, half) + 0.5
    sign = np.sign(axis)
    taper = np.exp(-0.5 * (axis / (0.5 * half)) ** 2)
    return np.outer(sign * taper, sign * taper)


def foote_novelty(features: np.ndarray, half: int) -> np.ndarray:
    """Novelty of (T, D) frames: the checkerboard kernel slid along the self-similarity diagonal."""
    x = features - features.mean(axis=0)
    x /= np.maximum(x.std(axis=0), 1e-8)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    similarity = x @ x.T
    t = len(similarity)
    # Mirrored outside the track, so its start and end do not look like changes.
    padded = np.pad(similarity, half, mode="reflect")
    s0, s1 = padded.strides
    windows = np.lib.stride_tricks.as_strided(padded, shape=(t, 2 * half, 2 * half), strides=(s0 + s1, s0, s1))
    return np.einsum("tab,ab->t", windows, checkerboard_kernel(half))


class FooteSegmenter:
    name = "foote"
    modality = "audio"
    dim = 1
    cacheable = True

    def __init__(self, *, kernel_s: float = 2.0, min_segment_s: float = 1.5, resolution_s: float = 0.1) -> None:
        if not (kernel_s > 0 and min_segment_s > 0 and 0 < resolution_s <= kernel_s / 2):
            raise TrainingInputError(
                "foote needs kernel_s > 0, min_segment_s > 0 and 0 < resolution_s <= kernel_s / 2."
            )
        self.kernel_s, self.min_segment_s, self.resolution_s = (
            float(kernel_s),
            float(min_segment_s),
            float(resolution_s),
        )

    def config(self) -> dict:
        return {"kernel_s": self.kernel_s, "min_segment_s": self.min_segment_s, "resolution_s": self.resolution_s}

    def change_points(self, y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        import librosa

        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, hop_length=HOP)
        chroma = librosa.feature.chroma_stft(y=y, sr=sr, hop_length=HOP)
        factor = max(1, round(self.resolution_s * sr / HOP))
        features = _pool(np.vstack([mfcc, chroma]), factor).T
        hop_s = factor * HOP / sr
        half = max(2, round(self.kernel_s / hop_s))
        return pick_peaks(foote_novelty(features, half), hop_s=hop_s, min_segment_s=self.min_segment_s)

    def extract(self, path: Path) -> np.ndarray:
        return as_cache_array(self.change_points(_audio(path)))


class FluxSegmenter:
    name = "flux"
    modality = "audio"
    dim = 1
    cacheable = True

    def __init__(self, *, smooth_s: float = 1.0, lag_s: float = 1.0, min_segment_s: float = 1.5) -> None:
        if not (smooth_s > 0 and lag_s > 0 and min_segment_s > 0):
            raise TrainingInputError("flux needs smooth_s, lag_s and min_segment_s > 0.")
        self.smooth_s, self.lag_s, self.min_segment_s = float(smooth_s), float(lag_s), float(min_segment_s)

    def config(self) -> dict:
        return {"smooth_s": self.smooth_s, "lag_s": self.lag_s, "min_segment_s": self.min_segment_s, "n_mels": 64}

    def change_points(self, y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        import librosa
        from scipy.ndimage import uniform_filter1d

        log_mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=64, hop_length=HOP))
        hop_s = HOP / sr
        smooth = uniform_filter1d(log_mel, size=max(1, round(self.smooth_s / hop_s)), axis=1, mode="nearest")
        lag = max(1, round(self.lag_s / hop_s))
        flux = np.zeros(smooth.shape[1])
        if smooth.shape[1] > lag:
            change = np.abs(smooth[:, lag:] - smooth[:, :-lag]).mean(axis=0)
            # A change between t - lag and t is credited to the middle of that interval.
            flux[lag // 2 : lag // 2 + len(change)] = change
            # Hold the first and last values over the edges, so they do not look like changes.
            flux[: lag // 2] = change[0]
            flux[lag // 2 + len(change) :] = change[-1]
        return pick_peaks(flux, hop_s=hop_s, min_segment_s=self.min_segment_s)

    def extract(self, path: Path) -> np.ndarray:
        return as_cache_array(self.change_points(_audio(path)))
