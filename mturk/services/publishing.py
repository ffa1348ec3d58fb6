"""Create HIT batches and publish them on MTurk, idempotently.

Publishing never duplicates a HIT:

* each HIT row's UniqueRequestToken (and RequesterAnnotation) is derived from the row, and the attempt
  is recorded *before* the call; a re-run sends the same token, and MTurk's "already exists" answer is
  resolved by looking the existing HIT up (id quoted in the message, else by annotation);
* MTurk forgets tokens after 24 hours, so a HIT whose first attempt is older than that is first searched
  for by its annotation before it is created again;
* the HIT id is stored as soon as MTurk returns it; the batch counts as published only when every row
  has one.

No database transaction is held across an MTurk call (see ``services.audit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from experiments.selectors.pay import PayCheck, pay_check
from mturk import fees
from mturk.client import MTurk, MTurkError, MTurkRequestError, RemoteHit
from mturk.models import Hit, HitBatch, HitState, MTurkStudy, Spend
from mturk.modes import Mode
from mturk.qualifications import build_requirements, parse_locale
from mturk.safety import check_task_url, require_live_confirmation

from . import budget
from .qualifications import ensure_exclusion_qualification, group_exclusion_type_ids

# MTurk keeps a UniqueRequestToken for 24 hours; stay well inside that window.
TOKEN_TRUST_WINDOW = dt.timedelta(hours=23)


class BelowPayFloor(ValueError):
    """The reward's effective hourly rate is below the floor and MVFIT_PAY_FLOOR_BLOCKS is on."""


def pay_check_for(batch: HitBatch) -> PayCheck:
    """The fair-pay check of the batch's reward (``experiments.selectors.pay``): from the median session of
    the experiment's finished workers, else the batch's estimate."""
    return pay_check(
        experiment=batch.study.experiment,
        reward_cents=int(batch.reward * 100),
        estimated_minutes=batch.estimated_minutes,
    )


def check_pay(batch: HitBatch) -> PayCheck:
    """:func:`pay_check_for`, refusing when below the floor and ``MVFIT_PAY_FLOOR_BLOCKS`` is on."""
    check = pay_check_for(batch)
    if check.blocking:
        raise BelowPayFloor(f"Batch {batch.pk} is not published: {check.summary()}.")
    return check


class PublishError(Exception):
    def __init__(self, message: str, report: PublishReport):
        super().__init__(message)
        self.report = report


@dataclass
class PublishReport:
    batch: HitBatch
    created: list[Hit] = field(default_factory=list)
    recovered: list[Hit] = field(default_factory=list)
    already_published: int = 0

    @property
    def complete(self) -> bool:
        return not self.batch.hits.filter(hit_id__isnull=True).exists()


@transaction.atomic
def create_batch(
    *,
    study: MTurkStudy,
    mode: Mode | str,
    task_url: str,
    title: str,
    description: str,
    reward: Decimal,
    n_assignments: int,
    created_by: str = "",
    **options,
) -> HitBatch:
    """A draft batch and its HIT rows (assignments split into HITs of at most ``max_assignments_per_hit``)."""
    mode = Mode(mode)
    validate_batch_inputs(mode=mode, task_url=task_url, locales=options.get("locales") or [])
    batch = HitBatch(
        study=study,
        mode=mode,
        task_url=task_url,
        title=title,
        description=description,
        reward=Decimal(reward),
        n_assignments=n_assignments,
        created_by=created_by,
        **options,
    )
    batch.full_clean()
    batch.save()
    create_hit_rows(batch=batch)
    return batch


@transaction.atomic
def update_draft_batch(*, batch: HitBatch, **fields) -> HitBatch:
    """Change a draft before it is published; its HIT rows follow a changed size (nothing is on MTurk yet)."""
    batch = HitBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.state != HitBatch.State.DRAFT:
        raise ValueError(f"Batch {batch.pk} is {batch.state}: only a draft can be changed (its HITs are on MTurk).")
    mode = Mode(fields.get("mode", batch.mode))
    validate_batch_inputs(
        mode=mode, task_url=fields.get("task_url", batch.task_url), locales=fields.get("locales", batch.locales) or []
    )
    for name, value in fields.items():
        setattr(batch, name, value)
    batch.full_clean()
    batch.save()
    sizes = fees.split_into_hits(batch.n_assignments, batch.max_assignments_per_hit)
    if list(batch.hits.order_by("index").values_list("max_assignments", flat=True)) != sizes:
        batch.hits.all().delete()
        create_hit_rows(batch=batch)
    return batch


def validate_batch_inputs(*, mode: Mode, task_url: str, locales: list[str]) -> None:
    """Checks the model cannot express: a task URL live workers can load, ISO 3166 locales."""
    check_task_url(task_url, mode=mode)
    for locale in locales:
        parse_locale(locale)


@transaction.atomic
def create_hit_rows(*, batch: HitBatch) -> list[Hit]:
    """The batch's HIT rows (assignments split into HITs of at most ``max_assignments_per_hit``)."""
    if batch.hits.exists():
        raise ValueError(f"Batch {batch.pk} already has its HIT rows.")
    sizes = fees.split_into_hits(batch.n_assignments, batch.max_assignments_per_hit)
    return Hit.objects.bulk_create(Hit(batch=batch, index=i, max_assignments=n) for i, n in enumerate(sizes))


def hit_reservation(batch: HitBatch, hit: Hit) -> Decimal:
    return fees.hit_cost(batch.reward, max_assignments=hit.max_assignments, masters=batch.require_masters)


def remaining_cost(batch: HitBatch) -> Decimal:
    """What publishing the not-yet-created HITs can still cost, planned bonuses included."""
    total = Decimal("0.00")
    reserved = set(Spend.objects.filter(hit__batch=batch, state=Spend.State.RESERVED).values_list("hit_id", flat=True))
    for hit in batch.hits.filter(hit_id__isnull=True):
        if hit.pk not in reserved:
            total += hit_reservation(batch, hit)
        if batch.planned_bonus_per_assignment:
            total += fees.bonus_cost(batch.planned_bonus_per_assignment) * hit.max_assignments
    return total


def publish_batch(
    *,
    batch: HitBatch,
    mturk: MTurk,
    confirm_live: bool = False,
    actor: str = "",
    on_hit: Callable[[Hit, str], None] | None = None,
) -> PublishReport:
    """Publish every HIT of ``batch`` that is not on MTurk yet. Safe to re-run after any failure."""
    mode = Mode(batch.mode)
    if mturk.mode != mode:
        raise ValueError(f"Batch {batch.pk} is a {mode} batch but the client talks to {mturk.mode} MTurk.")
    require_live_confirmation(mode, confirm_live=confirm_live)
    check_task_url(batch.task_url, mode=mode)
    if batch.state == HitBatch.State.CLOSED:
        raise ValueError(f"Batch {batch.pk} is closed.")
    if batch.state == HitBatch.State.DRAFT:  # a re-run finishing a started batch is never stopped half-way
        check_pay(batch)
    # Refuse before any call if what is left to publish (plus planned bonuses) cannot fit under the cap.
    budget.check_headroom(study=batch.study, mode=mode, amount=remaining_cost(batch))
    _start(batch, actor=actor)

    report = PublishReport(batch=batch)
    with mturk.audit_context(study_id=batch.study_id, batch_id=batch.pk, actor=actor):
        exclusion = (
            ensure_exclusion_qualification(study=batch.study, mturk=mturk) if batch.exclude_returning_workers else None
        )
        if not batch.hit_type_id:
            requirements = build_requirements(
                batch.qualification_settings(
                    exclusion_qualification_type_id=exclusion.qualification_type_id if exclusion else None,
                    group_exclusion_type_ids=group_exclusion_type_ids(study=batch.study, mode=mode),
                ),
                mode=mode,
            )
            batch.hit_type_id = mturk.create_hit_type(
                title=batch.title,
                description=batch.description,
                keywords=batch.keywords,
                reward=batch.reward,
                assignment_duration_s=batch.assignment_duration_s,
                auto_approval_delay_s=batch.auto_approval_delay_s,
                qualification_requirements=requirements,
            )
            batch.save(update_fields=["hit_type_id"])

        for hit in batch.hits.select_related("batch__study").order_by("index"):
            if hit.hit_id:
                report.already_published += 1
                continue
            try:
                outcome = _publish_hit(hit=hit, batch=batch, mturk=mturk)
            except (MTurkError, budget.SpendingCapExceeded) as exc:
                done = report.already_published + len(report.created) + len(report.recovered)
                raise PublishError(
                    f"{done} of {batch.hits.count()} HITs are on MTurk; HIT row {hit.pk} (#{hit.index}) failed: "
                    f"{exc}. Re-run publish to continue: it will not duplicate HITs.",
                    report,
                ) from exc
            (report.created if outcome == "created" else report.recovered).append(hit)
            if on_hit:
                on_hit(hit, outcome)
    _finish(batch)
    return report


@transaction.atomic
def _start(batch: HitBatch, *, actor: str) -> None:
    batch.state = HitBatch.State.PUBLISHING if batch.state == HitBatch.State.DRAFT else batch.state
    if batch.mode == Mode.LIVE and batch.live_confirmed_at is None:
        batch.live_confirmed_at, batch.live_confirmed_by = timezone.now(), actor
    batch.save(update_fields=["state", "live_confirmed_at", "live_confirmed_by"])


@transaction.atomic
def _finish(batch: HitBatch) -> None:
    if not batch.hits.filter(hit_id__isnull=True).exists() and batch.state == HitBatch.State.PUBLISHING:
        batch.state, batch.published_at = HitBatch.State.PUBLISHED, timezone.now()
        batch.save(update_fields=["state", "published_at"])


def _publish_hit(*, hit: Hit, batch: HitBatch, mturk: MTurk) -> str:
    token = hit.request_token
    token_forgotten = hit.first_attempt_at and timezone.now() - hit.first_attempt_at > TOKEN_TRUST_WINDOW
    spend = _reserve_and_record_attempt(hit=hit, batch=batch, record_attempt=not token_forgotten)
    # Once MTurk no longer remembers the token, look for the HIT an earlier attempt may have created.
    if token_forgotten:
        if (remote := find_hit_by_annotation(mturk, token)) is not None:
            _store(hit, remote, spend)
            return "recovered"
        _record_attempt(hit)
    try:
        remote = mturk.create_hit_with_hit_type(
            hit_type_id=batch.hit_type_id,
            external_url=batch.task_url,
            frame_height=batch.frame_height,
            max_assignments=hit.max_assignments,
            lifetime_s=batch.lifetime_s,
            requester_annotation=token,
            unique_request_token=token,
        )
    except MTurkError as exc:
        if exc.is_duplicate_request and (remote := _existing_hit(mturk, token, exc)) is not None:
            _store(hit, remote, spend)
            return "recovered"
        _record_failure(hit, spend, exc)
        raise
    _store(hit, remote, spend)
    return "created"


@transaction.atomic
def _reserve_and_record_attempt(*, hit: Hit, batch: HitBatch, record_attempt: bool) -> Spend:
    """One transaction: the money is reserved and the attempt is on record before MTurk hears of it."""
    spend = budget.reserve(
        study=batch.study, mode=batch.mode, kind=Spend.Kind.HIT, amount=hit_reservation(batch, hit), hit=hit
    )
    if record_attempt:
        _record_attempt(hit)
    return spend


def _record_attempt(hit: Hit) -> None:
    hit.create_attempts += 1
    hit.first_attempt_at = hit.first_attempt_at or timezone.now()
    Hit.objects.filter(pk=hit.pk).update(create_attempts=hit.create_attempts, first_attempt_at=hit.first_attempt_at)


def _existing_hit(mturk: MTurk, token: str, exc: MTurkError) -> RemoteHit | None:
    """The HIT an earlier call with ``token`` created: by the id MTurk quotes, else by our annotation."""
    for candidate in exc.mentioned_ids():
        try:
            remote = mturk.get_hit(candidate)
        except MTurkRequestError:
            continue
        if remote.requester_annotation == token:
            return remote
    return find_hit_by_annotation(mturk, token)


def find_hit_by_annotation(mturk: MTurk, token: str) -> RemoteHit | None:
    for remote in mturk.iter_hits():
        if remote.requester_annotation == token:
            return remote
    return None


@transaction.atomic
def _store(hit: Hit, remote: RemoteHit, spend: Spend) -> None:
    hit.hit_id = remote.hit_id
    hit.hit_type_id = remote.hit_type_id
    hit.state = HitState.CREATED
    hit.published_at = timezone.now()
    hit.status = remote.status
    hit.available, hit.pending, hit.completed = remote.available, remote.pending, remote.completed
    hit.expiration = remote.expiration
    hit.last_error = ""
    hit.save()
    budget.commit(spend=spend)


def _record_failure(hit: Hit, spend: Spend, exc: MTurkError) -> None:
    hit.last_error = str(exc)
    fields = ["last_error"]
    if not exc.outcome_unknown:
        # Definitely not created: give the reservation back. (Unknown outcomes keep it until resolved.)
        budget.release(spend=spend)
        if isinstance(exc, MTurkRequestError):
            hit.state = HitState.FAILED
            fields.append("state")
    hit.save(update_fields=fields)


@transaction.atomic
def close_batch(*, batch: HitBatch) -> HitBatch:
    """Stop syncing and reconciling a finished batch (its HITs on MTurk are not touched)."""
    if batch.state == HitBatch.State.DRAFT:
        raise ValueError(f"Batch {batch.pk} was never published; delete it instead.")
    batch.state = HitBatch.State.CLOSED
    batch.save(update_fields=["state"])
    return batch
