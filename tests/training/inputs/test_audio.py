"""Audio decoding: 16 kHz mono by channel mean, straight into the VGGish front end."""

import numpy as np
import pytest

from training.audio.logmel import waveform_to_examples
from training.inputs.audio import read_audio, read_audio_native
from training.inputs.ffmpeg import MissingStreamError


def dominant_frequency(signal: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / sample_rate)[np.argmax(spectrum)])


def test_soundtrack_is_resampled_to_16_khz_mono(synthetic_media):
    audio = read_audio(synthetic_media["clip"])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 32000) <= 1600  # 2 s; AAC priming may add or trim a frame
    assert dominant_frequency(audio, 16000) == pytest.approx(1000, abs=2)


def test_channels_are_averaged_not_power_summed(synthetic_media):
    audio = read_audio(synthetic_media["left_only"], sample_rate=16000)
    # Left = sine of amplitude 1/8, right = silence: the mean has amplitude 1/16 (ffmpeg's -ac 1 gives 1/8/sqrt 2).
    assert np.abs(audio[800:-800]).max() == pytest.approx(0.0625, rel=0.02)
    assert dominant_frequency(audio, 16000) == pytest.approx(440, abs=2)


def test_decoded_audio_feeds_the_log_mel_front_end(synthetic_media):
    examples = waveform_to_examples(read_audio(synthetic_media["clip"]), 16000)
    assert examples.shape[1:] == (96, 64) and len(examples) in (1, 2)


def test_a_silent_video_is_a_clear_error(synthetic_media):
    with pytest.raises(MissingStreamError, match="has no audio stream"):
        read_audio(synthetic_media["silent"])


def test_native_decode_keeps_the_file_rate_for_the_reference_resampler(synthetic_media):
    audio, rate = read_audio_native(synthetic_media["clip"])
    assert rate == 44100 and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 2 * 44100) <= 4410
    assert dominant_frequency(audio, rate) == pytest.approx(1000, abs=2)
    left_only, rate = read_audio_native(synthetic_media["left_only"])
    assert rate == 48000 and np.abs(left_only[2400:-2400]).max() == pytest.approx(0.0625, rel=0.02)
