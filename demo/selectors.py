"""Reads of the demo: its simulated participants, recognised by ``Participant.is_simulated``."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from experiments.models import Experiment, Participant


def simulated_participants(experiment: Experiment) -> QuerySet[Participant]:
    return Participant.objects.filter(experiment=experiment, is_simulated=True)


def simulated_worker_ids(experiments: Iterable[Experiment]) -> list[str]:
    """The raw worker ids of the simulated participants of these experiments, sorted."""
    return sorted(
        set(
            Participant.objects.filter(experiment__in=list(experiments), is_simulated=True).values_list(
                "worker_id", flat=True
            )
        )
    )
