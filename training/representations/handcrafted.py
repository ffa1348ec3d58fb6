"""VM-NET's handcrafted music features (Hong, Im & Yang, §III-A, Table I), computed with librosa.

Per analysis frame (22,050 Hz, 2,048-sample window, 512-sample hop = 23.2 ms; VM-NET: "1 frame ≈
21 ms"), 224 descriptors in this order:

====================  ====  ===============================================================
spectral              8     centroid, bandwidth, roll-off, polynomial fit of order 1 (2
                            coefficients) and 2 (3 coefficients) to each spectrum
mel-scale             188   log mel spectrogram (128 bands, dB), 20 MFCCs, their first and
                            second differences over time (delta, delta-delta)
chroma                24    chroma STFT (12), chroma energy normalised, CENS (12)
other                 2     zero-crossing rate, root-mean-square energy
onset and tempo       2     onset strength (spectral flux of the log mel spectrogram) and the
                            local tempo estimate in BPM (librosa's tempogram, per frame)
====================  ====  ===============================================================

VM-NET aggregates these over the whole track by mean, variance and maximum ("music-level
features"): use the ``mean-var-max`` aggregation for that (672 values; VM-NET's own vector has 1,140,
its paper does not list the exact frame-level set). Every setting is in ``config()``, so it is part
of the feature cache key along with the librosa version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.errors import TrainingInputError

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 20
DIM = 224
BLOCKS = (
    ("centroid", 1),
    ("bandwidth", 1),
    ("rolloff", 1),
    ("poly1", 2),
    ("poly2", 3),
    ("log_mel", N_MELS),
    ("mfcc", N_MFCC),
    ("mfcc_delta", N_MFCC),
    ("mfcc_delta2", N_MFCC),
    ("chroma_stft", 12),
    ("chroma_cens", 12),
    ("zcr", 1),
    ("rms", 1),
    ("onset_strength", 1),
    ("tempo", 1),
)


def handcrafted_frames(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(T, 224) float32 frame-level descriptors of a mono waveform (layout in ``BLOCKS``)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError("need a mono waveform")
    if len(y) < N_FFT:
        y = np.pad(y, (0, N_FFT - len(y)))
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    magnitude = np.sqrt(power)
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS)
    log_mel = librosa.power_to_db(mel, ref=1.0, top_db=None)
    mfcc = librosa.feature.mfcc(S=log_mel, sr=sr, n_mfcc=N_MFCC)
    frames = mfcc.shape[1]
    # Deltas need a window of at least three frames; a shorter signal has no measurable change.
    width = min(9, frames if frames % 2 else frames - 1)
    if width >= 3:
        delta = librosa.feature.delta(mfcc, width=width, order=1, mode="nearest")
        delta2 = librosa.feature.delta(mfcc, width=width, order=2, mode="nearest")
    else:
        delta = delta2 = np.zeros_like(mfcc)
    onset = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=HOP, aggregate=None)
    blocks = [
        librosa.feature.spectral_centroid(S=magnitude, sr=sr),
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sr),
        librosa.feature.spectral_rolloff(S=magnitude, sr=sr),
        librosa.feature.poly_features(S=magnitude, sr=sr, order=1),
        librosa.feature.poly_features(S=magnitude, sr=sr, order=2),
        log_mel,
        mfcc,
        delta,
        delta2,
        librosa.feature.chroma_stft(S=power, sr=sr),
        librosa.feature.chroma_cens(y=y, sr=sr, hop_length=HOP),
        librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP),
        librosa.feature.rms(S=magnitude, frame_length=N_FFT),
        onset[None, :],
        np.broadcast_to(np.atleast_1d(tempo), (frames,))[None, :],
    ]
    blocks = [b[:, :frames] for b in blocks]
    out = np.concatenate(blocks, axis=0).T.astype(np.float32)
    if out.shape[1] != DIM:
        raise AssertionError(f"handcrafted layout has {out.shape[1]} values, expected {DIM}")
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


class HandcraftedAudio:
    """Audio representation ``handcrafted``: the frame-level descriptors above, from the file's audio track."""

    name = "handcrafted-librosa"
    dim = DIM
    modality = "audio"
    hop_s = HOP / SAMPLE_RATE
    cacheable = True

    def config(self) -> dict:
        import librosa

        return {
            "librosa": librosa.__version__,
            "sample_rate": SAMPLE_RATE,
            "n_fft": N_FFT,
            "hop": HOP,
            "n_mels": N_MELS,
            "n_mfcc": N_MFCC,
            "blocks": [list(b) for b in BLOCKS],
        }

    def extract(self, path: Path) -> np.ndarray:
        from training.inputs.audio import read_audio

        y = read_audio(path, sample_rate=SAMPLE_RATE)
        if len(y) == 0:
            raise TrainingInputError(f"{path}: the audio track is empty.")
        return handcrafted_frames(y, SAMPLE_RATE)
