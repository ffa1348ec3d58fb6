"""The MTurk side of an experiment: batches sized by its bundles, and reconciliation against its participants."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from experiments.models import Assignment, AssignmentStatus
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from mturk.models import Discrepancy
from mturk.services.audit import open_mturk
from mturk.services.experiments import create_batch_for_experiment, open_bundles, participants_for_batch
from mturk.services.reconciliation import default_participant_source, sync_and_reconcile
from tests.factories.experiments import make_experiment
from tests.factories.mturk import publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


@pytest.fixture
def experiment(settings):
    settings.MTURK_PUBLIC_BASE_URL = "https://mvfit.example.org"
    experiment = make_experiment(slug="fit-pilot", trials_per_assignment=4, judgments_per_item=2)
    return open_experiment(experiment=experiment, allow_unrendered=True)


def test_a_batch_for_an_experiment_frames_its_mturk_entry_and_covers_its_bundles(experiment):
    batch = create_batch_for_experiment(
        experiment=experiment, mode="sandbox", reward=Decimal("1.20"), spending_cap=Decimal("100.00")
    )
    assert batch.task_url == "https://mvfit.example.org/mturk/e/fit-pilot/"
    assert batch.n_assignments == open_bundles(experiment) > 0
    assert batch.study.experiment == experiment and batch.study.name == "fit-pilot"
    with pytest.raises(ValueError, match="spending cap"):
        create_batch_for_experiment(experiment=make_experiment(slug="other"), mode="sandbox", reward=Decimal("1"))


def _participant(experiment, worker, assignment, hit, *, completed_minutes_ago=None):
    participant = enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=assignment, hit_id=hit)
    work = allocate_assignment(participant=participant)
    if completed_minutes_ago is not None:
        done = timezone.now() - dt.timedelta(minutes=completed_minutes_ago)
        Assignment.objects.filter(pk=work.pk).update(
            status=AssignmentStatus.COMPLETED, n_answered=work.n_trials, completed_at=done
        )
    return participant


def test_reconciliation_against_real_participants_including_a_reused_assignment_id(experiment, mturk_stub):
    batch = publish_rows(
        create_batch_for_experiment(
            experiment=experiment, mode="sandbox", reward=Decimal("1"), spending_cap=Decimal("50")
        )
    )
    hit = batch.hits.first()
    reused = "3REUSEDASGXXXXXXXXXXXXXXXXXXXX"
    _participant(experiment, "A1RETURNED", reused, hit.hit_id)  # accepted, started, returned the HIT
    _participant(experiment, "A2SUBMITTED", reused, hit.hit_id, completed_minutes_ago=30)  # got the same id
    _participant(experiment, "A3LOSTSUBMIT", "3LOSTXXXXXXXXXXXXXXXXXXXXXXXXX", hit.hit_id, completed_minutes_ago=60)
    local = participants_for_batch(batch)
    assert sorted((p.worker_id, p.completed_at is not None) for p in local) == [
        ("A1RETURNED", False),
        ("A2SUBMITTED", True),
        ("A3LOSTSUBMIT", True),
    ]

    stub = mturk_stub.sandbox
    stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=h.hit_id) for h in batch.hits.all()]})
    for h in batch.hits.all():
        found = [stubs.assignment(assignment_id=reused, worker_id="A2SUBMITTED", hit_id=hit.hit_id)] if h == hit else []
        stub.add_response("list_assignments_for_hit", {"Assignments": found})
    summary = sync_and_reconcile(mturk=open_mturk(mode="sandbox"), participants=default_participant_source())

    counts = summary.batches[batch.pk]
    assert (counts["matched"], counts["returned"], counts["known_not_submitted"], counts["submitted_unknown"]) == (
        1,
        1,
        1,
        0,
    )
    assert list(Discrepancy.objects.values_list("kind", "worker_id")) == [("known_not_submitted", "A3LOSTSUBMIT")]
    lost = Assignment.objects.get(participant__worker_id="A3LOSTSUBMIT")
    assert f"completion code {lost.completion_code}" in Discrepancy.objects.get().detail
