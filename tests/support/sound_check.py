"""The sound check from a test's side: the form a worker who heard the sound (or misheard it) sends."""

from __future__ import annotations

import itertools

from experiments.media.soundcheck import KINDS
from experiments.models import AudioCheckAttempt, Participant


def open_attempt(participant: Participant) -> AudioCheckAttempt:
    return AudioCheckAttempt.objects.get(participant=participant, answered_at__isnull=True)


def answer_form(participant: Participant, *, correct: bool = True) -> dict[str, str]:
    """The POST body of the sound-check form for the participant's open attempt."""
    attempt = open_attempt(participant)
    kind = KINDS[attempt.kind]
    fields = [question.field for question in kind.questions]
    if correct:
        form = kind.form_for(attempt.expected)
    else:
        every = (
            dict(zip(fields, c, strict=True))
            for c in itertools.product(*[[v for v, _ in q.options] for q in kind.questions])
        )
        form = next(f for f in every if kind.read_answer(f) != attempt.expected)
    return {"attempt": str(attempt.number), **form}


def answer_in_browser(page_or_frame, participant: Participant, *, correct: bool = True) -> None:
    """Play the sound to its end, pick the answers and submit (``page_or_frame``: a Playwright page or frame locator)."""
    # Play fast (the page still waits for the sound's end): a test need not listen in real time.
    page_or_frame.locator("#check-sound").evaluate(
        "audio => { audio.defaultPlaybackRate = 8; audio.playbackRate = 8; }"
    )
    page_or_frame.locator("#play-check[data-ready=true]").click()
    page_or_frame.locator("#audio-submit:not([disabled])").wait_for()
    for field, value in answer_form(participant, correct=correct).items():
        if field != "attempt":
            page_or_frame.locator(f"input[name={field}][value='{value}']").check()
    page_or_frame.get_by_test_id("audio-submit").click()
