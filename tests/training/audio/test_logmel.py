"""The VGGish front end against an independent, loop-by-loop computation of the reference recipe."""

import math

import numpy as np
import pytest

from training.audio.logmel import (
    EXAMPLE_FRAMES,
    log_mel_spectrogram,
    mel_weight_matrix,
    periodic_hann,
    waveform_to_examples,
)


def reference_log_mel(signal: np.ndarray) -> np.ndarray:
    """mel_features.log_mel_spectrogram at 16 kHz, written out longhand (explicit DFT sums, scalar mel triangles)."""
    window_length, hop, fft_length, bands = 400, 160, 512, 64
    window = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / window_length) for n in range(window_length)])

    def mel(hz: float) -> float:
        return 1127.0 * math.log(1.0 + hz / 700.0)

    edges = [mel(125.0) + i * (mel(7500.0) - mel(125.0)) / (bands + 1) for i in range(bands + 2)]
    bin_mels = [mel(8000.0 * k / 256) for k in range(257)]
    filters = np.zeros((257, bands))
    for band in range(bands):
        low, centre, high = edges[band : band + 3]
        for k in range(1, 257):  # the DC bin stays 0
            m = bin_mels[k]
            if low < m <= centre:
                filters[k, band] = (m - low) / (centre - low)
            elif centre < m < high:
                filters[k, band] = (high - m) / (high - centre)
    # The DFT of a 400-sample frame zero-padded to 512, as an explicit matrix of complex exponentials.
    n = np.arange(window_length)
    dft = np.exp(-2j * np.pi * np.outer(np.arange(257), n) / fft_length)
    count = 1 + (len(signal) - window_length) // hop
    rows = []
    for i in range(count):
        frame = signal[i * hop : i * hop + window_length] * window
        rows.append(np.log(np.abs(dft @ frame) @ filters + 0.01))
    return np.array(rows)


def band_centres_hz() -> np.ndarray:
    low, high = 1127.0 * math.log(1 + 125 / 700), 1127.0 * math.log(1 + 7500 / 700)
    centres_mel = np.linspace(low, high, 66)[1:-1]
    return 700.0 * (np.exp(centres_mel / 1127.0) - 1.0)


def tone(frequency: float, seconds: float, sample_rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return 0.5 * np.sin(2 * np.pi * frequency * t)


def test_log_mel_matches_the_longhand_reference_on_noise():
    signal = np.random.default_rng(0).uniform(-1, 1, size=16000 + 123)
    ours = log_mel_spectrogram(signal)
    reference = reference_log_mel(signal)
    assert ours.shape == reference.shape == (1 + (len(signal) - 400) // 160, 64)
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-9)


def test_examples_are_the_reference_frames_cut_in_96s_as_float32():
    signal = np.random.default_rng(1).uniform(-1, 1, size=int(2.5 * 16000))
    examples = waveform_to_examples(signal, 16000)
    reference = reference_log_mel(signal)
    assert examples.dtype == np.float32
    assert examples.shape == (2, 96, 64)  # 247 frames -> two whole examples, the tail is dropped
    np.testing.assert_allclose(examples.reshape(-1, 64), reference[:192], rtol=1e-5, atol=1e-5)


def test_mel_filters_are_unit_peak_triangles_with_zero_dc():
    weights = mel_weight_matrix()
    assert weights.shape == (257, 64)
    assert np.all(weights[0] == 0)
    assert np.all((weights >= 0) & (weights <= 1))
    assert np.all(weights.sum(axis=0) > 0)  # every band catches at least one FFT bin


@pytest.mark.parametrize("frequency", [250.0, 500.0, 1000.0, 2000.0, 4000.0, 7000.0])
def test_a_pure_tone_lands_in_the_band_centred_nearest_to_it(frequency):
    examples = waveform_to_examples(tone(frequency, 1.0), 16000)
    mean_energy = examples[0].mean(axis=0)
    centres = band_centres_hz()
    assert abs(centres[int(np.argmax(mean_energy))] - frequency) == pytest.approx(np.min(np.abs(centres - frequency)))


def test_resampling_from_44_1_khz_gives_nearly_the_16_khz_features():
    native = waveform_to_examples(tone(1000.0, 2.0, 16000), 16000)
    resampled = waveform_to_examples(tone(1000.0, 2.0, 44100), 44100)
    assert resampled.shape == native.shape == (2, 96, 64)
    loud = native > np.log(0.01) + 3  # compare where the tone has energy, not in the -4.6 log floor
    assert np.abs(resampled - native)[loud].max() < 0.05


def test_stereo_is_averaged_to_mono():
    left, right = tone(440.0, 1.0), tone(880.0, 1.0)
    stereo = np.stack([left, right], axis=1)  # (samples, channels)
    np.testing.assert_allclose(waveform_to_examples(stereo, 16000), waveform_to_examples((left + right) / 2, 16000))


def test_periodic_hann_is_the_dft_even_window():
    window = periodic_hann(400)
    assert window[0] == 0 and window[200] == pytest.approx(1.0)
    np.testing.assert_allclose(window[1:], window[1:][::-1])  # symmetric about n = N/2, not (N-1)/2


def test_audio_shorter_than_one_example_gives_no_examples():
    needed = 400 + (EXAMPLE_FRAMES - 1) * 160
    assert waveform_to_examples(np.zeros(needed - 1), 16000).shape == (0, 96, 64)
    assert waveform_to_examples(np.zeros(needed), 16000).shape == (1, 96, 64)
    assert waveform_to_examples(np.zeros(10), 16000).shape == (0, 96, 64)


def test_bad_waveforms_are_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        waveform_to_examples(np.array([0.0, np.nan] * 10000), 16000)
    with pytest.raises(ValueError, match="shape"):
        waveform_to_examples(np.zeros((2, 2, 2)), 16000)
    with pytest.raises(ValueError, match="positive integer"):
        waveform_to_examples(np.zeros(16000), 0)
