"""Per-worker caps on bundles per study: refused past the cap at allocation, held by the database
(numbered slots, unique and within the cap), counted across a worker's several MTurk assignments, and
settable on a running study (bundles already started count)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from experiments.models import WorkerBundleSlot
from experiments.services.allocation import AllocationError, allocate_assignment
from experiments.services.caps import set_worker_cap
from tests.experiments.test_allocation import answer_all, open_study, participant

pytestmark = pytest.mark.django_db


def finish(p):
    assignment = allocate_assignment(participant=p)
    answer_all(assignment)
    return assignment


def test_a_worker_is_refused_past_the_cap_across_their_assignments():
    experiment = set_worker_cap(experiment=open_study(), max_bundles=2)
    finish(participant(experiment, "W1"))
    finish(participant(experiment, "W1"))  # a second MTurk assignment of the same worker
    with pytest.raises(AllocationError) as refused:
        allocate_assignment(participant=participant(experiment, "W1"))
    assert refused.value.code == "worker_cap" and "as many parts" in str(refused.value)
    finish(participant(experiment, "W2"))  # others are not affected
    slots = WorkerBundleSlot.objects.filter(experiment=experiment, worker_id="W1").order_by("number")
    assert [(s.number, s.cap) for s in slots] == [(1, 2), (2, 2)]


def test_the_database_refuses_a_slot_past_the_cap_or_a_repeated_number():
    experiment = set_worker_cap(experiment=open_study(), max_bundles=1)
    first = allocate_assignment(participant=participant(experiment, "W1"))
    other = allocate_assignment(participant=participant(experiment, "W2"))
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkerBundleSlot.objects.create(experiment=experiment, worker_id="W1", number=2, cap=1, assignment=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkerBundleSlot.objects.create(experiment=experiment, worker_id="W1", number=1, cap=1, assignment=other)
    assert first.worker_slot.number == 1


def test_a_cap_set_on_a_running_study_counts_what_was_started_and_can_be_lowered_or_lifted():
    experiment = open_study(trials_per_assignment=2)  # enough fresh bundles for one worker to do six
    for _ in range(3):
        finish(participant(experiment, "W1"))
    experiment = set_worker_cap(experiment=experiment, max_bundles=2)  # W1 already did 3: no more for them
    with pytest.raises(AllocationError, match="as many parts"):
        allocate_assignment(participant=participant(experiment, "W1"))
    assert sorted(WorkerBundleSlot.objects.values_list("number", "cap")) == [(1, 2), (2, 2), (3, 3)]
    experiment = set_worker_cap(experiment=experiment, max_bundles=None)
    finish(participant(experiment, "W1"))  # no cap: a fourth, without a slot
    experiment = set_worker_cap(experiment=experiment, max_bundles=5)
    assert sorted(WorkerBundleSlot.objects.values_list("number", flat=True)) == [1, 2, 3, 4]
    finish(participant(experiment, "W1"))
    with pytest.raises(AllocationError, match="as many parts"):
        allocate_assignment(participant=participant(experiment, "W1"))
    with pytest.raises(ValidationError):
        set_worker_cap(experiment=experiment, max_bundles=0)


def test_the_command_sets_and_lifts_the_cap():
    experiment = open_study()
    out = StringIO()
    call_command("worker_cap", experiment.slug, "--max", "3", stdout=out)
    call_command("worker_cap", experiment.slug, "--none", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{experiment.slug}: at most 3 bundle(s) per worker",
        f"{experiment.slug}: no cap",
    ]
