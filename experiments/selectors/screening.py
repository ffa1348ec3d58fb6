"""The headphone screen: which tests an experiment asks for, what its page shows, and its sealed sound URLs.

The page gets the question, three buttons and a sealed sound URL only: which interval is the answer, the
parameters the sound was made from and any database id stay on the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.urls import reverse

from experiments import questionnaire
from experiments.media import headphones
from experiments.models import Experiment, HeadphoneTrial, Participant
from experiments.selectors.questionnaire import owes_questionnaire
from webapp import tokens

SOUND_PURPOSE = "headphone-trial"
CALIBRATION_PURPOSE = "headphone-calibration"


@dataclass(frozen=True)
class HeadphonePlan:
    tests: tuple[str, ...]  # in the order they are given
    trials: int  # per test
    pass_at: int  # correct answers needed, per test
    on_fail: str  # "return" or "submit" (MTurk: how a screened-out worker leaves)


def headphone_plan(experiment: Experiment) -> HeadphonePlan:
    """The screen configured in the experiment's design config (``"screening"``); none when absent."""
    return headphone_plan_of(experiment.config or {})


def headphone_plan_of(design_config: dict) -> HeadphonePlan:
    config = design_config.get("screening") or {}
    return HeadphonePlan(
        tests=headphones.SCREENS[config.get("headphones", "none")],
        trials=config.get("trials", headphones.DEFAULT_TRIALS),
        pass_at=config.get("pass_at", headphones.DEFAULT_PASS_AT),
        on_fail=config.get("on_fail", "return"),
    )


def needs_headphone_screen(participant: Participant) -> bool:
    return participant.headphone_passed_at is None and bool(headphone_plan(participant.experiment).tests)


@dataclass(frozen=True)
class Progress:
    """How far a participant has come through the steps before the trials (what readiness reads)."""

    consented: bool
    screened_out: bool
    audio_check_passed: bool
    headphone_passed: bool
    questionnaire_answered: Callable[[], bool]  # asked only where a "before" questionnaire is configured


def ready(progress: Progress, config: dict) -> bool:
    """Consented, sound check passed, headphone screen passed and a "before" questionnaire answered where
    the experiment's ``config`` asks for them, not screened out: the rule for being given trials, in one
    home (``ready_for_work`` reads it from a participant, the join's locking statement from its row)."""
    if not progress.consented or progress.screened_out or not progress.audio_check_passed:
        return False
    if not progress.headphone_passed and headphone_plan_of(config).tests:
        return False
    definition = questionnaire.parse(config.get("questionnaire"))
    return definition is None or definition.when != "before" or progress.questionnaire_answered()


def ready_for_work(participant: Participant) -> bool:
    """``ready`` for a participant (the questionnaire is looked up only where one is owed before)."""
    progress = Progress(
        consented=participant.consented_at is not None,
        screened_out=participant.screened_out_at is not None,
        audio_check_passed=participant.audio_check_passed_at is not None,
        headphone_passed=participant.headphone_passed_at is not None,
        questionnaire_answered=lambda: not owes_questionnaire(participant, when="before"),
    )
    return ready(progress, participant.experiment.config or {})


def sound_url(trial: HeadphoneTrial) -> str:
    return reverse("experiments:headphone_sound", args=[tokens.seal({"n": trial.nonce}, purpose=SOUND_PURPOSE)])


def trial_for_sound_token(token: str) -> HeadphoneTrial | None:
    """The open trial a sound URL names; ``None`` for a bad or expired token or an answered trial."""
    nonce = tokens.unseal_nonce(token, purpose=SOUND_PURPOSE, max_age_s=settings.MVFIT_MEDIA_URL_MAX_AGE_S)
    if nonce is None:
        return None
    return HeadphoneTrial.objects.filter(nonce=nonce, answered_at__isnull=True).first()


def calibration_url() -> str:
    seed = secrets.randbits(31)
    return reverse("experiments:headphone_calibration", args=[tokens.seal({"s": seed}, purpose=CALIBRATION_PURPOSE)])


def calibration_bytes(token: str) -> bytes | None:
    try:
        payload = tokens.unseal(token, purpose=CALIBRATION_PURPOSE, max_age_s=settings.MVFIT_MEDIA_URL_MAX_AGE_S)
    except tokens.BadToken:
        return None
    seed = payload.get("s") if isinstance(payload, dict) else None
    if not isinstance(seed, int):
        return None
    return headphones.stereo_wav(headphones.calibration_samples(np.random.default_rng(seed)))


def page_context(trial: HeadphoneTrial, plan: HeadphonePlan) -> dict:
    test = headphones.TESTS[trial.test]
    position = plan.tests.index(trial.test) if trial.test in plan.tests else 0
    return {
        "sound_url": sound_url(trial),
        "calibration_url": calibration_url() if position == 0 and trial.number == 1 else "",
        "question": test.question,
        "instruction": test.instruction,
        "trial_test": trial.test,
        "trial_number": trial.number,
        "trials_per_test": plan.trials,
        "step_number": position * plan.trials + trial.number,
        "steps_total": len(plan.tests) * plan.trials,
        "options": (1, 2, 3),
    }


def trial_sound_bytes(trial: HeadphoneTrial) -> bytes:
    return headphones.render(trial.params)
