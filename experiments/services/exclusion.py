"""Exclusion groups: a worker takes part in at most one study of a group (docs/recruitment.md).

The rule lives in the database (one ``GroupMembership`` per group and worker id); entering claims the
worker's place in every group of the experiment inside the entry's transaction, so the entry and the
claim commit together or not at all, and two concurrent entries into two studies of a group cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from experiments.models import ExclusionGroup, Experiment, GroupMembership, Participant

ALREADY_TOOK_PART = (
    "You have already taken part in a related study, so you cannot take part in this one. Thank you for your interest!"
)


class ExcludedByGroup(Exception):
    """The worker took part in another study of one of the experiment's exclusion groups."""


def claim_groups(*, experiment: Experiment, worker_id: str) -> None:
    """Record the worker in every exclusion group of the experiment, or raise :class:`ExcludedByGroup` when
    they are in one already through another study. Call inside the entry's transaction."""
    for group in experiment.exclusion_groups.all():
        try:
            with transaction.atomic():
                membership, _ = GroupMembership.objects.get_or_create(
                    group=group, worker_id=worker_id, defaults={"experiment": experiment}
                )
        except IntegrityError:  # a concurrent entry of the same worker claimed it first
            membership = GroupMembership.objects.get(group=group, worker_id=worker_id)
        if membership.experiment_id != experiment.pk:
            raise ExcludedByGroup(ALREADY_TOOK_PART)


@transaction.atomic
def add_to_group(*, name: str, experiments: Iterable[Experiment]) -> tuple[ExclusionGroup, list[str]]:
    """Create the group if needed and add the experiments, recording their existing participants. Returns the
    group and the worker ids that had already taken part in two of its studies (kept in their first)."""
    group, _ = ExclusionGroup.objects.get_or_create(name=name)
    conflicts = []
    for experiment in experiments:
        group.experiments.add(experiment)
        workers = (
            Participant.objects.filter(experiment=experiment)
            .exclude(worker_id__startswith="link:")
            .values_list("worker_id", flat=True)
            .distinct()
        )
        for worker_id in workers:
            membership, _ = GroupMembership.objects.get_or_create(
                group=group, worker_id=worker_id, defaults={"experiment": experiment}
            )
            if membership.experiment_id != experiment.pk:
                conflicts.append(worker_id)
    return group, conflicts
