"""Per-worker caps: at most so many bundles per worker in a study (``Experiment.max_bundles_per_worker``;
enforced by ``WorkerBundleSlot`` when bundles are handed out, ``experiments.services.allocation``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Greatest

from experiments.models import Experiment, WorkerBundleSlot


@transaction.atomic
def set_worker_cap(*, experiment: Experiment, max_bundles: int | None) -> Experiment:
    """Set (or with ``None`` lift) the cap. Lowering it below what a worker already started stops them from
    starting more; it never takes away work already handed out."""
    if max_bundles is not None and max_bundles < 1:
        raise ValidationError({"max_bundles_per_worker": ["At least 1 bundle per worker (or no cap)."]})
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if max_bundles is not None and experiment.max_bundles_per_worker is None:
        # Bundles handed out before the cap count too: give each its slot, numbered in the order started.
        _backfill_slots(experiment=experiment, cap=max_bundles)
    experiment.max_bundles_per_worker = max_bundles
    experiment.save(update_fields=["max_bundles_per_worker"])
    if max_bundles is not None:
        # Rows keep the cap they were written under; raise them so later numbers fit a higher cap.
        WorkerBundleSlot.objects.filter(experiment=experiment).update(cap=Greatest(F("number"), Value(max_bundles)))
    return experiment


def _backfill_slots(*, experiment: Experiment, cap: int) -> None:
    numbered = WorkerBundleSlot.objects.filter(experiment=experiment).values("worker_id").annotate(n=Max("number"))
    counts: dict[str, int] = {row["worker_id"]: row["n"] for row in numbered}
    rows = []
    assignments = experiment.assignments.filter(worker_slot__isnull=True).select_related("participant").order_by("pk")
    for assignment in assignments:
        worker_id = assignment.participant.worker_id
        counts[worker_id] = counts.get(worker_id, 0) + 1
        number = counts[worker_id]
        rows.append(
            WorkerBundleSlot(
                experiment=experiment,
                worker_id=worker_id,
                number=number,
                cap=max(cap, number),
                assignment=assignment,
            )
        )
    WorkerBundleSlot.objects.bulk_create(rows)
