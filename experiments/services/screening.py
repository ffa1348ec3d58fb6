"""The headphone screen (antiphase and/or Huggins pitch, per experiment): issuing and scoring its trials.

Each test is scored once all of its trials are answered (no feedback per trial, so a worker cannot learn
from it which interval was right): at least ``pass_at`` correct passes it; otherwise the participant is
screened out and no work is handed to them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from experiments.media import headphones
from experiments.models import HeadphoneTrial, Participant, ScreeningReason
from experiments.selectors.screening import headphone_plan


def _rng() -> np.random.Generator:
    return np.random.default_rng(secrets.randbits(128))


def _answered(participant: Participant) -> dict[str, tuple[int, int]]:
    """Per test: (trials answered, of them correct)."""
    rows = (
        participant.headphone_trials.filter(answered_at__isnull=False)
        .values("test")
        .annotate(answered=Count("pk"), correct=Count("pk", filter=Q(correct=True)))
    )
    return {row["test"]: (row["answered"], row["correct"]) for row in rows}


def _finished(participant: Participant) -> bool:
    return participant.headphone_passed_at is not None or participant.screened_out_at is not None


@transaction.atomic
def issue_headphone_trial(*, participant: Participant, rng: np.random.Generator | None = None) -> HeadphoneTrial | None:
    """The trial the participant answers now: the open one, else the next one drawn for them. ``None`` when
    the experiment has no screen or the participant is through it (passed or screened out)."""
    participant = Participant.objects.select_for_update().select_related("experiment").get(pk=participant.pk)
    plan = headphone_plan(participant.experiment)
    if not plan.tests or _finished(participant):
        return None
    current = participant.headphone_trials.filter(answered_at__isnull=True).first()
    if current is not None:
        return current
    answered = _answered(participant)
    test = next((t for t in plan.tests if answered.get(t, (0, 0))[0] < plan.trials), None)
    if test is None:
        return None
    params = headphones.draw_trial(test, rng or _rng())
    return HeadphoneTrial.objects.create(
        participant=participant,
        test=test,
        number=answered.get(test, (0, 0))[0] + 1,
        nonce=secrets.token_urlsafe(16),
        params=params,
        expected=params["target"],
    )


@dataclass(frozen=True)
class HeadphoneOutcome:
    passed: bool
    screened_out: bool


def _read_answer(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value in ("1", "2", "3") else None


@transaction.atomic
def answer_headphone_trial(*, participant: Participant, test: str, number: int, answer: str) -> HeadphoneOutcome:
    """Score ``answer`` ("1"-"3") to the open trial (``test``, ``number``); anything else — a double submit,
    a stale page, a value that is not an interval — changes nothing."""
    participant = Participant.objects.select_for_update().select_related("experiment").get(pk=participant.pk)
    current = participant.headphone_trials.filter(answered_at__isnull=True).first()
    choice = _read_answer(answer)
    if not _finished(participant) and current and (current.test, current.number) == (test, number) and choice:
        current.answer, current.correct, current.answered_at = choice, choice == current.expected, timezone.now()
        current.save(update_fields=["answer", "correct", "answered_at"])
        _score(participant)
    return HeadphoneOutcome(
        passed=participant.headphone_passed_at is not None, screened_out=participant.screened_out_at is not None
    )


def _score(participant: Participant) -> None:
    plan = headphone_plan(participant.experiment)
    answered = _answered(participant)
    for test in plan.tests:
        count, correct = answered.get(test, (0, 0))
        if count < plan.trials:
            return  # this test is still running
        if not headphones.passed(correct, pass_at=plan.pass_at):
            participant.screened_out_at, participant.screened_out_reason = timezone.now(), ScreeningReason.HEADPHONES
            participant.save(update_fields=["screened_out_at", "screened_out_reason"])
            return
    participant.headphone_passed_at = timezone.now()
    participant.save(update_fields=["headphone_passed_at"])
