"""Driving Prolific from the platform: create a study, publish it, sync submissions, approve or reject,
pay bonuses and message participants — each safe to re-run after a crash, each checked against the
study's spending cap before it spends money, every call audited (``ProlificCall``).

Crash safety without idempotency keys on Prolific's side:

* a study is written locally first with a unique ``internal_name``; creating it looks for a Prolific study
  of that internal name before creating one, so a crash between Prolific's answer and our commit leaves
  one study, found on the re-run;
* publishing, approving and rejecting first read the current status and do nothing when it is reached;
* a bonus is written locally first (``pending``), created on Prolific (``created``, its id stored), then
  paid (``paid``). A crash after creation leaves an unpaid bulk bonus on Prolific that is never paid (it
  costs nothing); the re-run creates it again and pays that one, so money moves once.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from experiments.models import Experiment, Participant
from experiments.selectors.exclusion import group_blocklist_ids
from experiments.selectors.pay import PayCheck, pay_check
from experiments.services.pseudonyms import pseudonym_key, pseudonymise
from recruitment.models import ProlificBonus, ProlificCall, ProlificStudy, ProlificSubmission
from recruitment.prolific import PROLIFIC_ID, study_url_parameters
from recruitment.prolific_client import CallRecord, ProlificClient, ProlificError

FINAL = {"APPROVED", "REJECTED", "RETURNED", "TIMED-OUT"}


class SpendingCapExceeded(ProlificError):
    """Publishing or paying would go past the study's spending cap."""


def record_call(record: CallRecord) -> None:
    ProlificCall.objects.create(
        method=record.method,
        path=record.path[:300],
        request=record.request,
        status=record.status,
        response=record.response,
        error=record.error,
        attempts=record.attempts,
        duration_ms=record.duration_ms,
    )


def client(**kwargs) -> ProlificClient:
    """The audited client, configured from the environment (``PROLIFIC_API_TOKEN``, ``PROLIFIC_API_URL``)."""
    key = pseudonym_key()
    return ProlificClient(
        token=os.environ.get("PROLIFIC_API_TOKEN", ""),
        base_url=os.environ.get("PROLIFIC_API_URL", "") or "https://api.prolific.com",
        recorder=record_call,
        participant_pseudonym=lambda pid: pseudonymise(f"prolific:{pid}", key=key),
        **kwargs,
    )


def group_blocklist(*, experiment: Experiment) -> list[str]:
    """Prolific ids of the workers the experiment's exclusion groups keep out of it."""
    return [
        worker_id.removeprefix("prolific:")
        for worker_id in group_blocklist_ids(experiment=experiment, prefix="prolific:")
    ]


def study_cost_cents(*, reward_cents: int, places: int) -> int:
    """What publishing commits: rewards plus Prolific's service fee (``PROLIFIC_FEE_RATE``)."""
    return math.ceil(reward_cents * places * (1 + settings.PROLIFIC_FEE_RATE))


def _check_cap(study: ProlificStudy, *, adding_cents: int) -> None:
    if study.spending_cap_cents is None:
        return
    paid = sum(b.total_cents for b in study.bonuses.exclude(state=ProlificBonus.State.PENDING))
    committed = study_cost_cents(reward_cents=study.reward_cents or 0, places=study.places or 0) + paid
    if committed + adding_cents > study.spending_cap_cents:
        raise SpendingCapExceeded(
            f"this would commit {(committed + adding_cents) / 100:.2f} of a spending cap of "
            f"{study.spending_cap_cents / 100:.2f} (rewards + fees + bonuses); raise the cap or spend less."
        )


def create_study(
    *,
    experiment: Experiment,
    api: ProlificClient,
    base_url: str,
    title: str,
    description: str,
    places: int,
    reward_cents: int,
    minutes: int,
    spending_cap_cents: int | None = None,
    allowlist: Sequence[str] = (),
) -> ProlificStudy:
    """A draft study on Prolific for the experiment, or the one a previous run created (also one that a
    crash left half-made: written here, perhaps created on Prolific, its id not stored)."""
    with transaction.atomic():
        study = ProlificStudy.objects.filter(experiment=experiment, internal_name__isnull=False).order_by("-pk").first()
        if study is not None and study.study_id:
            return study
        if study is None:
            study = ProlificStudy.objects.create(
                experiment=experiment,
                internal_name=f"mvfit-{experiment.slug}-{secrets.token_hex(4)}",
                completion_code=secrets.token_hex(4).upper(),
                screened_out_code=secrets.token_hex(4).upper(),
                failed_attention_code=secrets.token_hex(4).upper(),
                places=places,
                reward_cents=reward_cents,
                minutes=minutes,
                spending_cap_cents=spending_cap_cents,
            )
    if (
        study.spending_cap_cents is not None
        and study_cost_cents(reward_cents=reward_cents, places=places) > study.spending_cap_cents
    ):
        raise SpendingCapExceeded(f"{places} places at {reward_cents / 100:.2f} plus fees exceed the spending cap.")
    remote = next((s for s in api.list_studies() if s.get("internal_name") == study.internal_name), None)
    if remote is None:
        url = base_url.rstrip("/") + reverse("recruitment:prolific_entry", args=[experiment.slug])
        remote = api.create_study(
            {
                "name": title,
                "internal_name": study.internal_name,
                "description": description,
                "external_study_url": f"{url}?{study_url_parameters()}",
                "prolific_id_option": "url_parameters",
                "completion_codes": [
                    {
                        "code": study.completion_code,
                        "code_type": "COMPLETED",
                        "actions": [{"action": "MANUALLY_REVIEW"}],
                    },
                    {
                        "code": study.screened_out_code,
                        "code_type": "SCREENED_OUT",
                        "actions": [{"action": "MANUALLY_REVIEW"}],
                    },
                    *(
                        [
                            {
                                "code": study.failed_attention_code,
                                "code_type": "FAILED_ATTENTION_CHECK",
                                "actions": [{"action": "MANUALLY_REVIEW"}],
                            }
                        ]
                        if study.failed_attention_code
                        else []
                    ),
                ],
                "total_available_places": places,
                "reward": reward_cents,
                "estimated_completion_time": minutes,
                "peripheral_requirements": ["audio"],
                "filters": study_filters(experiment=experiment, allowlist=allowlist),
            }
        )
    ProlificStudy.objects.filter(pk=study.pk).update(study_id=remote["id"], remote_status=remote.get("status", ""))
    study.refresh_from_db()
    return study


def study_filters(*, experiment: Experiment, allowlist: Sequence[str] = ()) -> list[dict]:
    """Prolific eligibility filters: a custom blocklist of everyone who took part in another study of the
    experiment's exclusion groups through Prolific (so they never see the study), and an optional custom
    allowlist (e.g. a follow-up open only to a first wave's participants)."""
    filters = []
    if blocked := group_blocklist(experiment=experiment):
        filters.append({"filter_id": "custom_blocklist", "selected_values": blocked})
    allowed = sorted({pid.strip().lower() for pid in allowlist if pid.strip()})
    if bad := [pid for pid in allowed if not PROLIFIC_ID.match(pid)]:
        raise ProlificError(f"allowlist: not Prolific participant ids (24 hex digits): {', '.join(bad[:5])}")
    if allowed:
        filters.append({"filter_id": "custom_allowlist", "selected_values": allowed})
    return filters


def push_blocklist(*, study: ProlificStudy, api: ProlificClient) -> int:
    """Send the exclusion groups' current blocklist to the study on Prolific (an absolute update: safe to
    re-run). Entry refuses excluded workers anyway; this keeps them from seeing the study at all."""
    blocked = group_blocklist(experiment=study.experiment)
    remote = api.get_study(study.study_id)
    kept = [f for f in remote.get("filters") or [] if f.get("filter_id") != "custom_blocklist"]
    filters = kept + ([{"filter_id": "custom_blocklist", "selected_values": blocked}] if blocked else [])
    if filters != (remote.get("filters") or []):
        api.update_study(study.study_id, {"filters": filters})
    return len(blocked)


def pay_check_for(study: ProlificStudy) -> PayCheck:
    """The fair-pay check of the study's reward (median session of finishers, else the estimate)."""
    return pay_check(experiment=study.experiment, reward_cents=study.reward_cents or 0, estimated_minutes=study.minutes)


class BelowPayFloor(ProlificError):
    """The reward's effective hourly rate is below the floor and MVFIT_PAY_FLOOR_BLOCKS is on."""


def publish(*, study: ProlificStudy, api: ProlificClient) -> ProlificStudy:
    """Publish the draft (checked against the spending cap and the pay floor); nothing happens when it is
    published already."""
    status = api.get_study(study.study_id).get("status", "")
    if status == "UNPUBLISHED":
        _check_cap(study, adding_cents=0)
        check = pay_check_for(study)
        if check.blocking:
            raise BelowPayFloor(f"not published: {check.summary()}")
        status = api.transition_study(study.study_id, "PUBLISH").get("status", "ACTIVE")
    ProlificStudy.objects.filter(pk=study.pk).update(remote_status=status)
    study.refresh_from_db()
    return study


@transaction.atomic
def sync_submissions(*, study: ProlificStudy, api: ProlificClient) -> int:
    """Store every submission's current status, linked to our participant; returns how many were seen."""
    seen = 0
    for row in api.list_submissions(study.study_id):
        pid = str(row.get("participant_id", ""))
        participant = Participant.objects.filter(experiment=study.experiment, worker_id=f"prolific:{pid}").first()
        ProlificSubmission.objects.update_or_create(
            submission_id=row["id"],
            defaults={
                "study": study,
                "participant": participant,
                "prolific_pid": pid,
                "status": row.get("status", ""),
                "study_code": row.get("study_code") or "",
            },
        )
        seen += 1
    return seen


def review(
    *, submission: ProlificSubmission, api: ProlificClient, approve: bool, message: str = "", category: str = ""
) -> str:
    """Approve, or reject with a reason. Prolific's current status is read first, so a submission in a final
    status (also one a crashed earlier run approved or rejected) is only recorded, never transitioned twice."""
    if submission.status.upper() in FINAL:
        return submission.status
    if not approve and len(message.strip()) < 100:
        raise ProlificError("Prolific asks for a rejection message of at least 100 characters explaining why.")
    status = (api.get_submission(submission.submission_id) or {}).get("status", submission.status)
    if status.upper() not in FINAL:
        if approve:
            body = api.transition_submission(submission.submission_id, "APPROVE")
        else:
            body = api.transition_submission(
                submission.submission_id, "REJECT", message=message, rejection_category=category or "OTHER"
            )
        status = (body or {}).get("status") or ("APPROVED" if approve else "REJECTED")
    ProlificSubmission.objects.filter(pk=submission.pk).update(status=status)
    submission.status = status
    return status


def ask_to_return(*, submission: ProlificSubmission, api: ProlificClient, reasons: list[str]) -> bool:
    """Ask the participant to return the submission (e.g. they could not hear the sound), with the reasons
    they will read. Prolific's current state is read first: a submission already asked, or in a final status,
    is left alone. Returns whether a request was sent."""
    reasons = [r.strip() for r in reasons if r and r.strip()]
    if not reasons:
        raise ProlificError("asking a participant to return their submission needs at least one reason.")
    remote = api.get_submission(submission.submission_id) or {}
    status = remote.get("status", submission.status)
    if status.upper() in FINAL or remote.get("is_return_requested"):
        ProlificSubmission.objects.filter(pk=submission.pk).update(status=status)
        return False
    api.request_return(submission.submission_id, reasons)
    return True


def pay_bonuses(
    *, study: ProlificStudy, api: ProlificClient, amounts_cents: Mapping[str, int], key: str = ""
) -> ProlificBonus:
    """Pay ``{prolific id: cents}`` as one bulk bonus; re-running after a crash pays it once (module doc). With
    ``key`` (what the bonus is for, e.g. a bonus rule), a bonus already paid under that key is not paid again."""
    pending = study.bonuses.filter(request_key=key) if key else study.bonuses.exclude(state=ProlificBonus.State.PAID)
    open_bonus = pending.order_by("pk").first()
    if open_bonus is not None and open_bonus.state == ProlificBonus.State.PAID:
        return open_bonus
    if open_bonus is None:
        if not amounts_cents or any(c <= 0 for c in amounts_cents.values()):
            raise ProlificError("bonuses must be positive amounts for one or more participants.")
        total = sum(amounts_cents.values())
        _check_cap(study, adding_cents=total)
        lines = [f"{pid},{Decimal(cents) / 100:.2f}" for pid, cents in sorted(amounts_cents.items())]
        open_bonus = ProlificBonus.objects.create(
            study=study, csv_bonuses="\n".join(lines), total_cents=total, request_key=key
        )
    if open_bonus.state == ProlificBonus.State.PENDING:
        created = api.create_bonus(study.study_id, open_bonus.csv_bonuses)
        ProlificBonus.objects.filter(pk=open_bonus.pk).update(
            remote_id=created["id"], state=ProlificBonus.State.CREATED
        )
        open_bonus.refresh_from_db()
    try:
        api.pay_bonus(open_bonus.remote_id)
    except ProlificError as exc:
        # A crashed earlier run paid it but never wrote that down: Prolific refuses a second payment.
        if not (exc.status == 400 and "already" in str(exc).lower()):
            raise
    ProlificBonus.objects.filter(pk=open_bonus.pk).update(state=ProlificBonus.State.PAID)
    open_bonus.refresh_from_db()
    return open_bonus


def message(*, study: ProlificStudy, api: ProlificClient, prolific_pid: str, body: str) -> None:
    if not body.strip():
        raise ProlificError("a message needs a body.")
    api.send_message(prolific_pid, study.study_id, body)


REVIEW_ACTIONS = ("approve", "reject", "return")


def review_submissions(
    *,
    study: ProlificStudy,
    submission_pks: Sequence[int],
    action: str,
    message: str = "",
    category: str = "",
    api: ProlificClient,
) -> tuple[list[str], list[tuple[str, str]]]:
    """One decision for several submissions of a study (approve, reject with a reason, ask to return); one
    failure never stops the others. Returns the submission ids done and those failed, with the reason."""
    if action not in REVIEW_ACTIONS:
        raise ProlificError(f"unknown action {action!r}: one of {', '.join(REVIEW_ACTIONS)}.")
    done, failed = [], []
    for row in study.submissions.filter(pk__in=list(submission_pks)).order_by("pk"):
        try:
            if action == "return":
                ask_to_return(submission=row, api=api, reasons=[message])
            else:
                review(submission=row, api=api, approve=action == "approve", message=message, category=category)
        except ProlificError as exc:
            failed.append((row.submission_id, str(exc)))
        else:
            done.append(row.submission_id)
    return done, failed
