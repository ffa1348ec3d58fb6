"""Reads for exclusion groups: who a study's groups keep out (to push to a channel as a blocklist)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from experiments.models import ExclusionGroup, Experiment, GroupMembership


def group_blocklist_ids(*, experiment: Experiment, prefix: str = "") -> list[str]:
    """Worker ids (those starting with ``prefix``) that took part in another study of one of the
    experiment's exclusion groups, sorted; one query."""
    rows = (
        GroupMembership.objects.filter(group__experiments=experiment, worker_id__startswith=prefix)
        .exclude(experiment=experiment)
        .values_list("worker_id", flat=True)
        .distinct()
        .order_by("worker_id")
    )
    return list(rows)


def group_list() -> QuerySet[ExclusionGroup]:
    """Exclusion groups with their studies and how many workers they hold (two queries for any number)."""
    return (
        ExclusionGroup.objects.annotate(n_members=Count("members", distinct=True))
        .prefetch_related(Prefetch("experiments", queryset=Experiment.objects.order_by("slug").only("pk", "slug")))
        .order_by("name")
    )
