"""The progress read model counts simulated participants by ``Participant.is_simulated``, not by their ids."""

import secrets

import pytest

from experiments.models import Participant, ParticipantSource
from experiments.selectors.progress import experiment_progress
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import make_experiment

pytestmark = pytest.mark.django_db


def simulated(experiment, worker_id: str) -> Participant:
    return Participant.objects.create(
        experiment=experiment,
        source=ParticipantSource.LINK,
        worker_id=worker_id,
        token=secrets.token_urlsafe(32),
        is_simulated=True,
    )


def test_simulated_participants_are_counted_by_the_field_not_by_an_id_prefix():
    experiment = open_experiment(experiment=make_experiment(catch_trials_per_assignment=0), allow_unrendered=True)
    other = open_experiment(
        experiment=make_experiment(slug="other", catch_trials_per_assignment=0), allow_unrendered=True
    )
    enter_via_mturk(experiment=experiment, worker_id="sim:but-real", assignment_id="a1")
    enter_via_mturk(experiment=experiment, worker_id="A2", assignment_id="a2")
    simulated(experiment, "crowd-01")
    simulated(experiment, "crowd-02")
    simulated(other, "crowd-03")

    progress = experiment_progress(experiment)

    assert (progress["participants"], progress["simulated_participants"]) == (4, 2)
    assert experiment_progress(other)["simulated_participants"] == 1


def test_a_participant_is_real_unless_marked():
    experiment = open_experiment(experiment=make_experiment(catch_trials_per_assignment=0), allow_unrendered=True)
    assert not enter_via_mturk(experiment=experiment, worker_id="A1", assignment_id="a1").is_simulated
    assert experiment_progress(experiment)["simulated_participants"] == 0
