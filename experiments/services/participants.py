"""Participants entering an experiment (MTurk or signed invite link), consent and the audio check."""

from __future__ import annotations

import random
import secrets

from django.core import signing
from django.db import transaction
from django.utils import timezone

from experiments.models import (
    AudioCheckSound,
    Experiment,
    ExperimentStatus,
    InviteLink,
    Participant,
    ParticipantSource,
)

INVITE_SALT = "mvfit.experiments.invite"
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"


class EntryError(Exception):
    """The worker cannot enter (closed study, bad link); the message is safe to show them."""


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def enter_via_mturk(
    *,
    experiment: Experiment,
    worker_id: str,
    assignment_id: str,
    hit_id: str = "",
    turk_submit_to: str = "",
    user_agent: str = "",
) -> Participant:
    """The participant for this (workerId, assignmentId), created on the first visit."""
    worker_id, assignment_id = worker_id.strip(), assignment_id.strip()
    if not worker_id or not assignment_id or assignment_id == MTURK_PREVIEW_ASSIGNMENT:
        raise EntryError("This page needs an accepted HIT (workerId and assignmentId).")
    existing = Participant.objects.filter(
        experiment=experiment, worker_id=worker_id, assignment_id=assignment_id
    ).first()
    if existing is not None:
        changed = {
            k: v
            for k, v in {"hit_id": hit_id, "turk_submit_to": turk_submit_to}.items()
            if v and getattr(existing, k) != v
        }
        if changed:
            Participant.objects.filter(pk=existing.pk).update(**changed)
            for k, v in changed.items():
                setattr(existing, k, v)
        return existing
    if experiment.status != ExperimentStatus.OPEN:
        raise EntryError("This study is not accepting new participants right now.")
    participant, _ = Participant.objects.get_or_create(
        experiment=experiment,
        worker_id=worker_id,
        assignment_id=assignment_id,
        defaults={
            "source": ParticipantSource.MTURK,
            "hit_id": hit_id,
            "turk_submit_to": turk_submit_to,
            "token": _new_token(),
            "user_agent": user_agent[:400],
        },
    )
    return participant


@transaction.atomic
def create_invite_links(*, experiment: Experiment, count: int, note: str = "") -> list[tuple[InviteLink, str]]:
    """``count`` single-use invitations; returns each with its signed token (put it in the URL)."""
    if not 1 <= count <= 10_000:
        raise ValueError(f"count must be between 1 and 10000, not {count}.")
    links = InviteLink.objects.bulk_create(
        [InviteLink(experiment=experiment, nonce=secrets.token_urlsafe(12), note=note) for _ in range(count)]
    )
    return [(link, invite_token(link)) for link in links]


def invite_token(link: InviteLink) -> str:
    return signing.dumps({"x": link.experiment_id, "n": link.nonce}, salt=INVITE_SALT, compress=True)


@transaction.atomic
def redeem_invite(*, token: str, user_agent: str = "") -> Participant:
    """The participant an invite belongs to: created on first use, the same one on every later visit."""
    try:
        payload = signing.loads(token, salt=INVITE_SALT)
    except signing.BadSignature as exc:
        raise EntryError("This invitation link is not valid. Please check that you copied all of it.") from exc
    link = (
        InviteLink.objects.select_for_update(of=("self",))
        .select_related("experiment", "participant")
        .filter(nonce=payload.get("n"), experiment_id=payload.get("x"))
        .first()
    )
    if link is None:
        raise EntryError("This invitation link has been withdrawn.")
    if link.participant is not None:
        return link.participant
    if link.experiment.status != ExperimentStatus.OPEN:
        raise EntryError("This study is not accepting new participants right now.")
    participant = Participant.objects.create(
        experiment=link.experiment,
        source=ParticipantSource.LINK,
        worker_id=f"link:{link.nonce}",
        token=_new_token(),
        user_agent=user_agent[:400],
    )
    link.participant = participant
    link.used_at = timezone.now()
    link.save(update_fields=["participant", "used_at"])
    return participant


@transaction.atomic
def record_consent(*, participant: Participant) -> Participant:
    Participant.objects.filter(pk=participant.pk, consented_at__isnull=True).update(consented_at=timezone.now())
    participant.refresh_from_db(fields=["consented_at"])
    return participant


@transaction.atomic
def issue_audio_check(*, participant: Participant) -> AudioCheckSound:
    """The sound this participant must identify; a new one (never the same twice in a row) after a miss."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.audio_check_sound_id is not None:
        return participant.audio_check_sound
    return _draw_sound(participant)


def _draw_sound(participant: Participant) -> AudioCheckSound:
    from experiments.services.probes import ensure_audio_check_sounds

    sounds = ensure_audio_check_sounds()
    choices = [s for s in sounds if s.pk != participant.audio_check_sound_id] or sounds
    sound = random.SystemRandom().choice(choices)
    participant.audio_check_sound = sound
    participant.save(update_fields=["audio_check_sound"])
    return sound


@transaction.atomic
def answer_audio_check(*, participant: Participant, answer: str) -> bool:
    """True when the worker named the sound they heard. A miss draws a different sound to try."""
    participant = (
        Participant.objects.select_for_update(of=("self",)).select_related("audio_check_sound").get(pk=participant.pk)
    )
    if participant.audio_check_passed_at is not None:
        return True
    participant.audio_check_attempts += 1
    sound = participant.audio_check_sound
    passed = sound is not None and answer == sound.name
    if passed:
        participant.audio_check_passed_at = timezone.now()
        participant.save(update_fields=["audio_check_attempts", "audio_check_passed_at"])
    else:
        participant.save(update_fields=["audio_check_attempts"])
        _draw_sound(participant)
    return passed
