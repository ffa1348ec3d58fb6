"""Participants entering an experiment (MTurk or invite link), consent and the sound check."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from experiments.media import soundcheck
from experiments.models import (
    AudioCheckAttempt,
    Experiment,
    ExperimentStatus,
    InviteLink,
    Participant,
    ParticipantSource,
    ScreeningReason,
)
from experiments.services import exclusion
from webapp import tokens

INVITE_PURPOSE = "invite"
LEGACY_INVITE_SALT = "mvfit.experiments.invite"
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
# A blind guesser must pass the sound check at most this often (checked against the attempt limit).
MAX_BLIND_PASS = 0.15


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
    """The participant for this (workerId, assignmentId), created on the first visit.

    Trusts its caller: the MTurk entry page calls it only after ``mturk.services.entry`` verified the HIT.
    """
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
    _claim_groups(experiment=experiment, worker_id=worker_id)
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


def _claim_groups(*, experiment: Experiment, worker_id: str) -> None:
    try:
        exclusion.claim_groups(experiment=experiment, worker_id=worker_id)
    except exclusion.ExcludedByGroup as exc:
        raise EntryError(str(exc)) from exc


@transaction.atomic
def enter_via_channel(
    *, experiment: Experiment, source: str, worker_id: str, user_agent: str = ""
) -> tuple[Participant, bool]:
    """(participant, created) for a channel app that verified the entry itself (a panel link, …): the
    participant for ``worker_id`` in this experiment, created on the first visit while the experiment is
    open, resumed on later visits. Trusts its caller."""
    existing = Participant.objects.filter(experiment=experiment, worker_id=worker_id, assignment_id="").first()
    if existing is not None:
        return existing, False
    if experiment.status != ExperimentStatus.OPEN:
        raise EntryError("This study is not accepting new participants right now.")
    _claim_groups(experiment=experiment, worker_id=worker_id)
    participant, created = Participant.objects.get_or_create(
        experiment=experiment,
        worker_id=worker_id,
        assignment_id="",
        defaults={"source": source, "token": _new_token(), "user_agent": user_agent[:400]},
    )
    return participant, created


@transaction.atomic
def create_invite_links(*, experiment: Experiment, count: int, note: str = "") -> list[tuple[InviteLink, str]]:
    """``count`` single-use invitations; returns each with its sealed token (put it in the URL)."""
    if not 1 <= count <= 10_000:
        raise ValueError(f"count must be between 1 and 10000, not {count}.")
    links = InviteLink.objects.bulk_create(
        [InviteLink(experiment=experiment, nonce=secrets.token_urlsafe(12), note=note) for _ in range(count)]
    )
    return [(link, invite_token(link)) for link in links]


@transaction.atomic
def revoke_invite_links(*, experiment: Experiment, link_ids: list[int] | None = None) -> int:
    """Withdraw the experiment's unused invitations (``link_ids``: only those); returns how many.

    A withdrawn link is deleted, so following it says "This invitation link has been withdrawn."; a link
    already used stays, because its participant (and their answers) hang on it.
    """
    unused = InviteLink.objects.filter(experiment=experiment, participant__isnull=True, used_at__isnull=True)
    if link_ids is not None:
        unused = unused.filter(pk__in=link_ids)
    deleted, _ = unused.delete()
    return deleted


def invite_token(link: InviteLink) -> str:
    """The link's URL token: sealed (``webapp.tokens``), so it shows no id; it names only the random nonce."""
    return tokens.seal({"n": link.nonce}, purpose=INVITE_PURPOSE)


def invite_nonce(token: str) -> str | None:
    """The nonce of the invitation a token names, or None for a token that is not a valid invitation."""
    try:
        payload = tokens.unseal(token, purpose=INVITE_PURPOSE)
    except tokens.BadToken:
        # Links minted before invite tokens were sealed (Django-signed: the experiment id is readable) stay
        # valid, so invitations already sent keep working; every link minted now is sealed.
        try:
            payload = signing.loads(token, salt=LEGACY_INVITE_SALT)
        except signing.BadSignature:
            return None
    nonce = payload.get("n") if isinstance(payload, dict) else None
    return nonce if isinstance(nonce, str) and nonce else None


@transaction.atomic
def redeem_invite(*, token: str, user_agent: str = "") -> Participant:
    """The participant an invite belongs to: created on first use, the same one on every later visit."""
    nonce = invite_nonce(token)
    if nonce is None:
        raise EntryError("This invitation link is not valid. Please check that you copied all of it.")
    link = (
        InviteLink.objects.select_for_update(of=("self",))
        .select_related("experiment", "participant")
        .filter(nonce=nonce)
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


# --- the sound check ----------------------------------------------------------------------------


def audio_check_kind() -> soundcheck.SoundCheckKind:
    return soundcheck.KINDS[soundcheck.DEFAULT_KIND]


def audio_check_attempt_limit() -> int:
    """``MVFIT_SOUND_CHECK_ATTEMPTS``, refused when it would let a blind guesser pass too often."""
    limit = settings.MVFIT_SOUND_CHECK_ATTEMPTS
    kind = audio_check_kind()
    if limit < 1 or soundcheck.blind_pass_probability(kind, attempts=limit) > MAX_BLIND_PASS:
        raise ImproperlyConfigured(
            f"MVFIT_SOUND_CHECK_ATTEMPTS={limit}: it must be at least 1 and keep a blind guesser's chance of "
            f"passing at most {MAX_BLIND_PASS:.0%} ({soundcheck.n_answers(kind)} possible answers per attempt)."
        )
    return limit


def sound_rng() -> np.random.Generator:
    """Where new sounds are drawn from: a generator seeded from the OS's randomness for every draw."""
    return np.random.default_rng(secrets.randbits(128))


@transaction.atomic
def issue_audio_check(*, participant: Participant, rng: np.random.Generator | None = None) -> AudioCheckAttempt | None:
    """The sound-check attempt the participant answers now: the open one, else a new one with a new sound
    drawn for them (from ``rng``, by default :func:`sound_rng`). ``None`` once the check is over (passed, or
    attempts used up)."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.audio_check_passed_at is not None or participant.screened_out_at is not None:
        return None
    current = participant.audio_checks.filter(answered_at__isnull=True).first()
    if current is not None:
        return current
    kind = audio_check_kind()
    params = kind.draw(rng or sound_rng())
    return AudioCheckAttempt.objects.create(
        participant=participant,
        number=participant.audio_check_attempts + 1,
        kind=kind.name,
        nonce=secrets.token_urlsafe(16),
        params=params,
        expected=kind.expected(params),
    )


@dataclass(frozen=True)
class AudioCheckOutcome:
    passed: bool
    screened_out: bool
    attempts_left: int


@transaction.atomic
def answer_audio_check(
    *, participant: Participant, attempt_number: int, answer: Mapping[str, str]
) -> AudioCheckOutcome:
    """Score the form ``answer`` to attempt ``attempt_number`` (the open one; anything else, e.g. a double
    submit, changes nothing). A miss leaves the next attempt, with a new sound, until the limit: then the
    participant is screened out and no work is handed to them."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    limit = audio_check_attempt_limit()
    current = participant.audio_checks.filter(answered_at__isnull=True).first()
    done = participant.audio_check_passed_at is not None or participant.screened_out_at is not None
    if not done and current is not None and current.number == attempt_number:
        current.answer = soundcheck.KINDS[current.kind].read_answer(answer)
        current.correct = bool(current.answer) and current.answer == current.expected
        current.answered_at = now = timezone.now()
        current.save(update_fields=["answer", "correct", "answered_at"])
        participant.audio_check_attempts += 1
        if current.correct:
            participant.audio_check_passed_at = now
        elif participant.audio_check_attempts >= limit:
            participant.screened_out_at, participant.screened_out_reason = now, ScreeningReason.SOUND_CHECK
        participant.save(
            update_fields=["audio_check_attempts", "audio_check_passed_at", "screened_out_at", "screened_out_reason"]
        )
    return AudioCheckOutcome(
        passed=participant.audio_check_passed_at is not None,
        screened_out=participant.screened_out_at is not None,
        attempts_left=max(limit - participant.audio_check_attempts, 0),
    )
