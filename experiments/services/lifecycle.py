"""Opening and closing an experiment to workers."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import Pairing, RenderState
from experiments.design.config import DesignError
from experiments.models import CatchStimulus, Experiment, ExperimentStatus


def unrendered_pairings(experiment: Experiment):
    return (
        Pairing.objects.filter(Q(rating_items__experiment=experiment) | Q(pk__in=_choice_pairings(experiment)))
        .exclude(state=RenderState.READY)
        .distinct()
    )


def _choice_pairings(experiment: Experiment):
    from experiments.models import BundlePairing

    return BundlePairing.objects.filter(bundle__experiment=experiment).values("pairing_id")


@transaction.atomic
def open_experiment(*, experiment: Experiment, allow_unrendered: bool = False) -> Experiment:
    """Let workers in. Refuses while any pairing or catch stimulus is not rendered (a worker would
    meet a broken trial), unless ``allow_unrendered`` (tests and dry runs)."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status not in (ExperimentStatus.DESIGNED, ExperimentStatus.CLOSED):
        raise DesignError(f"only a designed or closed experiment can be opened; this one is {experiment.status}.")
    if not allow_unrendered:
        missing = unrendered_pairings(experiment).count()
        if missing:
            raise DesignError(
                f"{missing} pairing(s) are not rendered yet; run the render command (or wait for the workers) first."
            )
        catch = CatchStimulus.objects.filter(experiment=experiment).exclude(state=RenderState.READY).count()
        if catch:
            raise DesignError(f"{catch} attention-check stimulus/stimuli are not rendered yet.")
    experiment.status = ExperimentStatus.OPEN
    experiment.opened_at = experiment.opened_at or timezone.now()
    experiment.save(update_fields=["status", "opened_at"])
    return experiment


@transaction.atomic
def close_experiment(*, experiment: Experiment) -> Experiment:
    """Stop new participants and new assignments; active assignments may still be finished."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != ExperimentStatus.OPEN:
        raise DesignError(f"only an open experiment can be closed; this one is {experiment.status}.")
    experiment.status = ExperimentStatus.CLOSED
    experiment.closed_at = timezone.now()
    experiment.save(update_fields=["status", "closed_at"])
    return experiment
