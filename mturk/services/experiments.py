"""Where the MTurk side meets the experiments app: studies per experiment, HIT batches sized by the
experiment's bundles, and the participants reconciliation compares MTurk against."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.urls import reverse

from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    BundleStatus,
    Experiment,
    Participant,
    ParticipantSource,
)
from mturk.models import HitBatch, MTurkStudy
from mturk.modes import Mode
from mturk.reconcile import LocalParticipant

from .publishing import create_batch


def task_url_for(experiment: Experiment) -> str:
    """The page MTurk frames: our MTurk entry for this experiment, on the public origin."""
    return settings.MTURK_PUBLIC_BASE_URL.rstrip("/") + reverse("mturk:entry", args=[experiment.slug])


@transaction.atomic
def study_for_experiment(*, experiment: Experiment, spending_cap: Decimal | None = None) -> MTurkStudy:
    """The experiment's MTurk study; creating it needs a spending cap, passing one later updates it."""
    study = MTurkStudy.objects.select_for_update().filter(experiment=experiment).first()
    if study is None:
        if spending_cap is None:
            raise ValueError(f"Experiment {experiment.slug!r} has no MTurk study yet: give it a spending cap.")
        return MTurkStudy.objects.create(experiment=experiment, name=experiment.slug, spending_cap=spending_cap)
    if spending_cap is not None and spending_cap != study.spending_cap:
        study.spending_cap = spending_cap
        study.save(update_fields=["spending_cap"])
    return study


def open_bundles(experiment: Experiment) -> int:
    """Assignments still to be done: every bundle not completed yet is one worker assignment."""
    return Bundle.objects.filter(experiment=experiment).exclude(status=BundleStatus.COMPLETED).count()


def create_batch_for_experiment(
    *,
    experiment: Experiment,
    mode: Mode | str,
    reward: Decimal,
    spending_cap: Decimal | None = None,
    n_assignments: int | None = None,
    title: str = "",
    description: str = "",
    created_by: str = "",
    **options,
) -> HitBatch:
    """A draft batch for the experiment's open bundles (or ``n_assignments``), framing its MTurk entry."""
    study = study_for_experiment(experiment=experiment, spending_cap=spending_cap)
    n_assignments = n_assignments if n_assignments is not None else open_bundles(experiment)
    if n_assignments < 1:
        raise ValueError(f"Experiment {experiment.slug!r} has no open bundles left to publish.")
    return create_batch(
        study=study,
        mode=mode,
        task_url=task_url_for(experiment),
        title=title or experiment.title,
        description=description or f"Watch short music videos and judge how well the music fits: {experiment.title}.",
        reward=reward,
        n_assignments=n_assignments,
        created_by=created_by,
        **options,
    )


def participants_for_batch(batch: HitBatch) -> list[LocalParticipant] | None:
    """Our MTurk participants on the batch's HITs, with when (if ever) they finished their assignment."""
    experiment_id = batch.study.experiment_id
    if experiment_id is None:
        return None  # an external task page: we have no participants to compare with
    hit_ids = list(batch.hits.filter(hit_id__isnull=False).values_list("hit_id", flat=True))
    rows = (
        Participant.objects.filter(experiment_id=experiment_id, source=ParticipantSource.MTURK, hit_id__in=hit_ids)
        .annotate(
            completed_at=Max("assignments__completed_at"),
            completion_code=Subquery(
                Assignment.objects.filter(participant=OuterRef("pk"), status=AssignmentStatus.COMPLETED)
                .order_by("-completed_at")
                .values("completion_code")[:1]
            ),
        )
        .values_list("pk", "worker_id", "assignment_id", "hit_id", "completed_at", "completion_code")
    )
    return [
        LocalParticipant(worker_id=w, assignment_id=a, hit_id=h, completed_at=done, completion_code=code or "", ref=pk)
        for pk, w, a, h, done, code in rows
    ]
