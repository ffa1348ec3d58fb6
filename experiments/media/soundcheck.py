"""The sound check's stimuli: drawn per participant and attempt, synthesised in memory, never stored.

Kind ``beep-groups``: two groups of short beeps with a pause between them; the worker says how many
beeps each group had (2-6 each, so 25 possible answers). Pitch, beep length, rhythm, the pause, the
lead-in and the level are drawn at random too, so no two participants get the same bytes and an
answer cannot be looked up; a blind guess is right with probability 1/25 per attempt.

Each kind is a :class:`SoundCheckKind`: it draws parameters from a random generator, renders them to a
WAV file and says which form answer is right. Headphone screens (antiphase, Huggins pitch) can be added
as further kinds. Nothing here imports Django.
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Question:
    """One set of radio buttons of the form: ``field`` is the input's name."""

    field: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, text)


class SoundCheckKind(Protocol):
    name: str
    questions: tuple[Question, ...]

    def draw(self, rng: np.random.Generator) -> dict: ...

    def render(self, params: Mapping) -> bytes: ...

    def expected(self, params: Mapping) -> str: ...

    def read_answer(self, form: Mapping[str, str]) -> str: ...

    def form_for(self, answer: str) -> dict[str, str]: ...


def wav_bytes(samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV of ``samples`` (floats in [-1, 1]): mono for a 1-D array, one channel per column else."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


class BeepGroups:
    """How many beeps in the first group, how many in the second?"""

    name = "beep-groups"
    counts = range(2, 7)
    questions = (
        Question("first", "How many beeps were in the first group?", tuple((str(n), str(n)) for n in counts)),
        Question("second", "How many beeps were in the second group?", tuple((str(n), str(n)) for n in counts)),
    )

    def draw(self, rng: np.random.Generator) -> dict:
        low, high = self.counts.start, self.counts.stop
        pitch = float(rng.uniform(440.0, 700.0))
        return {
            "first": int(rng.integers(low, high)),
            "second": int(rng.integers(low, high)),
            "pitches_hz": [round(pitch, 2), round(pitch * float(rng.uniform(1.3, 1.6)), 2)],
            "beep_s": round(float(rng.uniform(0.12, 0.17)), 4),
            "period_s": round(float(rng.uniform(0.32, 0.40)), 4),
            "pause_s": round(float(rng.uniform(1.0, 1.3)), 4),
            "lead_s": round(float(rng.uniform(0.25, 0.6)), 4),
            "level": round(float(rng.uniform(0.3, 0.5)), 4),
            "noise_seed": int(rng.integers(0, 2**31)),
        }

    def onsets(self, params: Mapping) -> list[tuple[float, float]]:
        """(start time in seconds, pitch) of every beep."""
        beeps, t = [], params["lead_s"]
        for group, pitch in zip(("first", "second"), params["pitches_hz"], strict=True):
            for _ in range(params[group]):
                beeps.append((t, pitch))
                t += params["period_s"]
            t += params["pause_s"] - params["period_s"] + params["beep_s"]
        return beeps

    def render(self, params: Mapping) -> bytes:
        beeps = self.onsets(params)
        duration = beeps[-1][0] + params["beep_s"] + 0.4
        samples = np.zeros(round(duration * SAMPLE_RATE))
        n = round(params["beep_s"] * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        envelope = np.sin(np.pi * np.arange(n) / n) ** 2  # no clicks at the edges
        for start, pitch in beeps:
            first = round(start * SAMPLE_RATE)
            samples[first : first + n] += params["level"] * envelope * np.sin(2 * np.pi * pitch * t)
        # A faint noise floor, different for every participant (the bytes never repeat).
        samples += np.random.default_rng(params["noise_seed"]).normal(0.0, 0.002, samples.size)
        return wav_bytes(samples)

    def expected(self, params: Mapping) -> str:
        return f"{params['first']}-{params['second']}"

    def read_answer(self, form: Mapping[str, str]) -> str:
        values = [str(form.get(q.field, "")).strip() for q in self.questions]
        allowed = {str(n) for n in self.counts}
        return "-".join(values) if all(v in allowed for v in values) else ""

    def form_for(self, answer: str) -> dict[str, str]:
        return dict(zip((q.field for q in self.questions), answer.split("-"), strict=True))


KINDS: dict[str, SoundCheckKind] = {BeepGroups.name: BeepGroups()}
DEFAULT_KIND = BeepGroups.name


def n_answers(kind: SoundCheckKind) -> int:
    """How many different answers the form allows."""
    return math.prod(len(question.options) for question in kind.questions)


def blind_pass_probability(kind: SoundCheckKind, *, attempts: int) -> float:
    """The chance that guessing (a fresh sound each attempt, so every guess is independent) passes within
    ``attempts``: a guess is right with probability 1 / n_answers."""
    return 1.0 - (1.0 - 1.0 / n_answers(kind)) ** attempts
