"""The headphone screens' stimuli, checked by analysing the signals (property tests over seeds)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.media import headphones as hp

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def intervals(params):
    samples = hp.render_samples(params)
    return [samples[a:b] for a, b in hp.interval_bounds()], samples


def rms(x):
    return float(np.sqrt(np.mean(x**2)))


@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_antiphase_target_is_6_db_down_in_phase_and_the_foil_is_antiphase_at_full_level(seed):
    params = hp.draw_trial("antiphase", np.random.default_rng(seed))
    parts, _ = intervals(params)
    target, foil = params["target"] - 1, params["foil"] - 1
    standard = ({0, 1, 2} - {target, foil}).pop()
    assert target != foil
    # Per ear, the foil is as loud as the standard and the target 6 dB below it (Woods et al., 2017).
    for ear in (0, 1):
        assert rms(parts[foil][:, ear]) == pytest.approx(rms(parts[standard][:, ear]), rel=1e-3)
        level = 20 * np.log10(rms(parts[target][:, ear]) / rms(parts[standard][:, ear]))
        assert level == pytest.approx(-6.0, abs=0.01)
    # The foil's channels are in antiphase, the others in phase: summed in the air (loudspeakers) the foil
    # cancels and becomes the quietest, which is what the test exploits.
    np.testing.assert_allclose(parts[foil][:, 0], -parts[foil][:, 1], atol=1e-12)
    for i in (target, standard):
        np.testing.assert_allclose(parts[i][:, 0], parts[i][:, 1], atol=1e-12)
    summed = [rms(p.sum(axis=1)) for p in parts]
    assert int(np.argmin(summed)) == foil
    # A 200 Hz tone.
    spectrum = np.abs(np.fft.rfft(parts[standard][:, 0]))
    assert np.fft.rfftfreq(parts[standard].shape[0], 1 / hp.SAMPLE_RATE)[np.argmax(spectrum)] == pytest.approx(200.0)


@settings(max_examples=15, deadline=None)
@given(seed=seeds)
def test_huggins_is_diotic_noise_with_a_narrow_phase_inverted_band_at_600_hz(seed):
    params = hp.draw_trial("huggins", np.random.default_rng(seed))
    parts, _ = intervals(params)
    target = params["target"] - 1
    band = hp.huggins_band(parts[0].shape[0])
    frequencies = np.fft.rfftfreq(parts[0].shape[0], 1 / hp.SAMPLE_RATE)
    assert frequencies[band].min() == pytest.approx(564.0, abs=1.5) and frequencies[band].max() == pytest.approx(
        636.0, abs=1.5
    )
    for i, part in enumerate(parts):
        left, right = np.fft.rfft(part[:, 0]), np.fft.rfft(part[:, 1])
        # Each ear alone: the same magnitude spectrum, so no monaural cue to the pitch.
        np.testing.assert_allclose(np.abs(left), np.abs(right), rtol=1e-9, atol=1e-9)
        if i != target:
            np.testing.assert_array_equal(part[:, 0], part[:, 1])  # diotic
            continue
        strong = np.abs(left) > 1e-6 * np.abs(left).max()
        phase = np.angle(right[strong] / left[strong])
        inside = band[strong]
        np.testing.assert_allclose(np.abs(phase[inside]), np.pi, atol=1e-6)  # 180° in the band
        np.testing.assert_allclose(phase[~inside], 0.0, atol=1e-6)  # identical elsewhere
    # Three independent noises: no two intervals are the same.
    assert not np.allclose(parts[0][:, 0], parts[1][:, 0])


@settings(max_examples=30, deadline=None)
@given(seed=seeds, test=st.sampled_from(["antiphase", "huggins"]))
def test_nothing_but_the_audio_itself_tells_the_intervals_apart(seed, test):
    params = hp.draw_trial(test, np.random.default_rng(seed))
    wav = hp.render(params)
    with wave.open(io.BytesIO(wav)) as sound:
        assert (sound.getnchannels(), sound.getframerate()) == (2, hp.SAMPLE_RATE)
        frames = sound.getnframes()
    expected = round((hp.LEAD_S + 3 * hp.INTERVAL_S + 2 * hp.GAP_S + hp.TAIL_S) * hp.SAMPLE_RATE)
    assert frames == expected  # one file, always the same length, whatever the answer
    assert params["target"] in (1, 2, 3)
    assert np.abs(hp.render_samples(params)).max() < 1.0  # no clipping


def test_targets_are_spread_evenly_and_each_trial_differs():
    rng = np.random.default_rng(7)
    trials = [hp.draw_trial("huggins", rng) for _ in range(3000)]
    counts = np.bincount([t["target"] for t in trials], minlength=4)[1:]
    assert counts.min() > 900  # uniform over the three positions (expected 1000 each)
    assert len({hp.render(t)[:100_000] for t in trials[:20]}) == 20


def test_a_guesser_rarely_passes_the_default_screen():
    # 6 trials, pass at 5: a guesser (1 in 3) passes one test 1.8 % of the time, both tests 0.03 %.
    assert hp.guess_pass_probability(trials=6, pass_at=5) == pytest.approx(13 / 729)


def test_unknown_tests_are_refused():
    with pytest.raises(ValueError, match="unknown headphone test"):
        hp.draw_trial("loudness", np.random.default_rng(0))
