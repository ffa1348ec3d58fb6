"""Headphone screens: the antiphase test (Woods et al., 2017) and the Huggins-pitch test (Milne et al., 2021).

Both are three-interval forced-choice tests whose stimuli are easy over headphones and hard over
loudspeakers, because they rely on the two ears getting different signals:

* **Antiphase** (Woods, Siegel, Traer & McDermott, 2017, *Attention, Perception & Psychophysics* 79,
  2064-2072): three 200 Hz tones of 1000 ms (100 ms raised-cosine ramps); "which tone is the quietest?".
  One is the standard, one the target at -6 dB, and one the foil: standard level, but the right
  channel's phase inverted. Over headphones the target is the quietest; over loudspeakers the foil's two
  channels partly cancel in the air, so it sounds quietest and a loudspeaker listener picks it.
* **Huggins pitch** (Milne, Bianco, Poole, Zhao, Oxenham, Billig & Chait, 2021, *Behavior Research
  Methods* 53, 1551-1562): three 1000 ms intervals of Gaussian white noise; "which noise has a faint
  tone in it?". Two are diotic (the same noise in both ears); in the target the right ear's noise has
  its phase inverted (180°) in a band of ±6 % around 600 Hz. Each ear alone has no cue at all (its
  magnitude spectrum is the left ear's); only dichotic listening creates the pitch.

Defaults follow the papers: 6 trials per test, passed with at least 5 correct (Woods et al.'s
criterion; Milne et al. report hit and false-positive rates per threshold — raise ``pass_at`` to 6 for a
stricter screen). Every trial is drawn per participant from a random generator (positions of target and
foil, tone phase, the noise itself, an overall level jitter that keeps the relations between intervals),
so no two trials share bytes and an answer cannot be looked up. The three intervals travel as one WAV
file of a fixed length, so nothing in a URL, a file size or the page tells them apart. Nothing here
imports Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import comb

import numpy as np

from experiments.media.soundcheck import wav_bytes

SAMPLE_RATE = 44_100
INTERVAL_S = 1.0
GAP_S = 0.5
LEAD_S = 0.3
TAIL_S = 0.3
INTERVALS = 3

ANTIPHASE_HZ = 200.0
ANTIPHASE_RAMP_S = 0.1
ANTIPHASE_TARGET_DB = -6.0
ANTIPHASE_LEVEL = 0.2  # standard tone's peak amplitude (before the per-trial jitter)

HUGGINS_CENTRE_HZ = 600.0
HUGGINS_HALF_BAND = 0.06  # ±6 % around the centre
HUGGINS_RAMP_S = 0.02
HUGGINS_RMS = 0.05

LEVEL_JITTER_DB = 2.0  # the whole trial, all three intervals alike

DEFAULT_TRIALS = 6
DEFAULT_PASS_AT = 5


@dataclass(frozen=True)
class ScreenTest:
    """One headphone test: its name, the worker's question and the paper it comes from."""

    name: str
    question: str
    instruction: str
    citation: str


ANTIPHASE = ScreenTest(
    name="antiphase",
    question="Which sound was the quietest?",
    instruction="You will hear three tones, one after another. One of them is quieter than the other two.",
    citation="Woods, Siegel, Traer & McDermott (2017), Attention, Perception & Psychophysics 79, 2064-2072",
)
HUGGINS = ScreenTest(
    name="huggins",
    question="Which noise had a faint tone in it?",
    instruction="You will hear three bursts of noise, one after another. One of them has a faint tone inside the noise.",
    citation="Milne, Bianco, Poole, Zhao, Oxenham, Billig & Chait (2021), Behavior Research Methods 53, 1551-1562",
)
TESTS: dict[str, ScreenTest] = {t.name: t for t in (ANTIPHASE, HUGGINS)}
SCREENS: dict[str, tuple[str, ...]] = {
    "none": (),
    "antiphase": ("antiphase",),
    "huggins": ("huggins",),
    "both": ("huggins", "antiphase"),
}


def draw_trial(test: str, rng: np.random.Generator) -> dict:
    """The parameters of one trial of ``test``: what is played where (kept server-side)."""
    if test not in TESTS:
        raise ValueError(f"unknown headphone test {test!r}; choose from {', '.join(TESTS)}")
    positions = [int(p) for p in rng.permutation(INTERVALS)]
    params = {
        "test": test,
        "target": positions[0] + 1,  # 1, 2 or 3: the right answer
        "level_db": round(float(rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB)), 3),
        "seed": int(rng.integers(0, 2**31)),
    }
    if test == "antiphase":
        params["foil"] = positions[1] + 1
        params["phases"] = [round(float(p), 6) for p in rng.uniform(0, 2 * np.pi, INTERVALS)]
    return params


def _ramp(n: int, ramp_s: float) -> np.ndarray:
    k = round(ramp_s * SAMPLE_RATE)
    envelope = np.ones(n)
    rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    envelope[:k], envelope[n - k :] = rise, rise[::-1]
    return envelope


def antiphase_intervals(params: Mapping) -> list[np.ndarray]:
    """The three intervals of an antiphase trial, each ``(samples, 2)`` (left, right)."""
    n = round(INTERVAL_S * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = _ramp(n, ANTIPHASE_RAMP_S)
    level = ANTIPHASE_LEVEL * 10 ** (params["level_db"] / 20)
    intervals = []
    for position in range(1, INTERVALS + 1):
        tone = envelope * np.sin(2 * np.pi * ANTIPHASE_HZ * t + params["phases"][position - 1])
        if position == params["target"]:
            left = right = level * 10 ** (ANTIPHASE_TARGET_DB / 20) * tone
        elif position == params["foil"]:
            left, right = level * tone, -level * tone
        else:
            left = right = level * tone
        intervals.append(np.column_stack([left, right]))
    return intervals


def huggins_band(n: int) -> np.ndarray:
    """Which rfft bins of an interval of ``n`` samples lie in the phase-inverted band."""
    frequencies = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    low, high = HUGGINS_CENTRE_HZ * (1 - HUGGINS_HALF_BAND), HUGGINS_CENTRE_HZ * (1 + HUGGINS_HALF_BAND)
    return (frequencies >= low) & (frequencies <= high)


def huggins_intervals(params: Mapping) -> list[np.ndarray]:
    """The three intervals of a Huggins-pitch trial, each ``(samples, 2)`` (left, right)."""
    n = round(INTERVAL_S * SAMPLE_RATE)
    rng = np.random.default_rng(params["seed"])
    envelope = _ramp(n, HUGGINS_RAMP_S)
    rms = HUGGINS_RMS * 10 ** (params["level_db"] / 20)
    band = huggins_band(n)
    intervals = []
    for position in range(1, INTERVALS + 1):
        noise = envelope * rng.standard_normal(n)
        noise *= rms / np.sqrt(np.mean(noise**2))
        right = noise
        if position == params["target"]:
            spectrum = np.fft.rfft(noise)
            spectrum[band] *= -1.0  # a 180° phase shift in the band, magnitudes unchanged
            right = np.fft.irfft(spectrum, n)
        intervals.append(np.column_stack([noise, right]))
    return intervals


def render_samples(params: Mapping) -> np.ndarray:
    """The whole trial as float samples ``(samples, 2)``: lead-in, three intervals with gaps, tail."""
    intervals = antiphase_intervals(params) if params["test"] == "antiphase" else huggins_intervals(params)
    gap = np.zeros((round(GAP_S * SAMPLE_RATE), 2))
    parts = [np.zeros((round(LEAD_S * SAMPLE_RATE), 2))]
    for i, interval in enumerate(intervals):
        parts += [interval] if i == 0 else [gap, interval]
    parts.append(np.zeros((round(TAIL_S * SAMPLE_RATE), 2)))
    return np.concatenate(parts)


def interval_bounds() -> list[tuple[int, int]]:
    """(first, last + 1) sample of each interval in :func:`render_samples`' output."""
    n, gap, lead = (round(x * SAMPLE_RATE) for x in (INTERVAL_S, GAP_S, LEAD_S))
    return [(lead + i * (n + gap), lead + i * (n + gap) + n) for i in range(INTERVALS)]


def stereo_wav(samples: np.ndarray) -> bytes:
    """16-bit PCM stereo WAV of ``samples`` ``(n, 2)`` in [-1, 1]."""
    return wav_bytes(samples, sample_rate=SAMPLE_RATE)


def render(params: Mapping) -> bytes:
    return stereo_wav(render_samples(params))


def calibration_samples(rng: np.random.Generator, *, seconds: float = 3.0) -> np.ndarray:
    """The loudness reference played before the screen: diotic noise at the screens' loudest level."""
    n = round(seconds * SAMPLE_RATE)
    noise = _ramp(n, 0.05) * rng.standard_normal(n)
    noise *= HUGGINS_RMS * 10 ** (LEVEL_JITTER_DB / 20) / np.sqrt(np.mean(noise**2))
    return np.column_stack([noise, noise])


def passed(correct: int, *, pass_at: int) -> bool:
    return correct >= pass_at


def guess_pass_probability(*, trials: int, pass_at: int) -> float:
    """The chance that a guesser (1 in 3 per trial) passes: the binomial tail P(X >= pass_at)."""
    return sum(comb(trials, k) * (1 / 3) ** k * (2 / 3) ** (trials - k) for k in range(pass_at, trials + 1))
