"""What the sound-check page shows, and the sealed URL of an attempt's sound.

The page gets the questions and a sealed sound URL only: the answer, the parameters the sound was made
from and any database id stay on the server.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from experiments.media import soundcheck
from experiments.models import AudioCheckAttempt
from webapp import tokens

SOUND_PURPOSE = "audio-check"


def sound_url(attempt: AudioCheckAttempt) -> str:
    return reverse("experiments:audio_check_sound", args=[tokens.seal({"n": attempt.nonce}, purpose=SOUND_PURPOSE)])


def attempt_for_sound_token(token: str) -> AudioCheckAttempt | None:
    """The open (unanswered) attempt a sound URL names; ``None`` for a bad or expired token or an answered attempt."""
    nonce = tokens.unseal_nonce(token, purpose=SOUND_PURPOSE, max_age_s=settings.MVFIT_MEDIA_URL_MAX_AGE_S)
    if nonce is None:
        return None
    return AudioCheckAttempt.objects.filter(nonce=nonce, answered_at__isnull=True).first()


def sound_bytes(attempt: AudioCheckAttempt) -> bytes:
    return soundcheck.KINDS[attempt.kind].render(attempt.params)


def page_context(attempt: AudioCheckAttempt, *, attempt_limit: int) -> dict:
    return {
        "sound_url": sound_url(attempt),
        "questions": soundcheck.KINDS[attempt.kind].questions,
        "attempt_number": attempt.number,
        "attempts_left": attempt_limit - attempt.number + 1,
        "missed": attempt.number > 1,
    }
