"""Reads of the demo: its simulated participants (recognised by ``Participant.is_simulated``) and what an
export of its studies would hold."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Max, QuerySet

from experiments.models import AssignmentStatus, Experiment, Participant, Response


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


def completed_answers_fingerprint(experiments: list[Experiment]) -> dict:
    """What an export of these experiments would contain (their completed answers): the report is redone
    only when this changes."""
    stats = Response.objects.filter(
        assignment__experiment__in=experiments, assignment__status=AssignmentStatus.COMPLETED
    ).aggregate(n=Count("pk"), last=Max("received_at"))
    return {
        "experiments": sorted(e.pk for e in experiments),
        "responses": stats["n"],
        "last_received_at": stats["last"].isoformat() if stats["last"] else None,
    }
