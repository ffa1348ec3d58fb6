"""The VGGish front end equals torchvggish's (resampy kaiser_best + mel_features) at 16, 44.1 and 48 kHz.

The fixture holds the reference's output on a fixed signal (fixtures/make_vggish_frontend.py says how
it was made). Before this front end resampled like the reference, 44.1 kHz input differed by up to
0.46 in log-mel band 63.
"""

import numpy as np
import pytest
from scipy.signal import resample_poly

from tests.training.audio.fixtures.make_vggish_frontend import FIXTURE, RATES, reference_signal
from training.audio.logmel import log_mel_spectrogram, to_mono, waveform_to_examples
from training.audio.resample import resample


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURE) as data:
        return {rate: data[f"examples_{rate}"] for rate in RATES}


@pytest.mark.parametrize("rate", RATES)
def test_examples_equal_the_reference_implementation(reference, rate):
    ours = waveform_to_examples(reference_signal(rate), rate)
    assert ours.shape == reference[rate].shape == (1, 96, 64)
    # float32 output of the same float64 computation: equal to float32 rounding.
    np.testing.assert_allclose(ours, reference[rate], rtol=0, atol=2e-5)


def test_a_different_resampler_is_visibly_off_in_the_top_mel_band(reference):
    """What the fixture guards against: scipy's polyphase filter (the old front end) at 44.1 kHz."""
    signal = to_mono(reference_signal(44100))
    old = log_mel_spectrogram(resample_poly(signal, 160, 441))[:96]
    difference = np.abs(old - reference[44100][0]).max(axis=0)
    assert difference[63] > 0.1
    assert difference[:40].max() < 0.05


def test_resampling_keeps_a_passband_tone_and_removes_one_above_the_new_nyquist():
    t = np.arange(44100) / 44100
    low = resample(np.sin(2 * np.pi * 1000 * t), 44100, 16000)
    high = resample(np.sin(2 * np.pi * 12000 * t), 44100, 16000)
    assert low.shape == (16000,)
    assert np.abs(low[2000:-2000]).max() == pytest.approx(1.0, abs=0.01)
    assert np.abs(high[2000:-2000]).max() < 1e-4


def test_bad_resampling_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(10), 0, 16000)
    with pytest.raises(ValueError, match="1-D"):
        resample(np.zeros((2, 10)), 44100, 16000)
    with pytest.raises(ValueError, match="too short"):
        resample(np.zeros(1), 44100, 16000)
