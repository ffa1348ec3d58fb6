"""Monitoring: paginated sync of HITs and assignments, adopting lost creates, recording discrepancies."""

import datetime as dt

import pytest
from django.utils import timezone

from mturk.models import Discrepancy, Hit, HitBatch, HitState, MTurkAssignment, MTurkCall, Spend
from mturk.modes import Mode
from mturk.reconcile import LocalParticipant
from mturk.services.audit import open_mturk
from mturk.services.reconciliation import modes_to_sync, sync_and_reconcile
from mturk.services.sync import sync_batch, sync_hits
from tests.factories.mturk import make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


def test_sync_hits_pages_through_listhits_and_adopts_a_hit_whose_create_was_lost(mturk_stub):
    batch = publish_rows(make_batch(n_assignments=18))
    first, second = batch.hits.all()
    # The second HIT's create call timed out: no id stored, the reservation still held.
    Hit.objects.filter(pk=second.pk).update(hit_id=None, state=HitState.PENDING, first_attempt_at=timezone.now())
    Spend.objects.create(study=batch.study, mode=Mode.SANDBOX, kind=Spend.Kind.HIT, amount=16.2, hit=second)
    HitBatch.objects.filter(pk=batch.pk).update(state=HitBatch.State.PUBLISHING)
    second.refresh_from_db()
    stub = mturk_stub.sandbox
    stub.add_response(
        "list_hits",
        {
            "HITs": [
                stubs.hit(hit_id=stubs.new_id(), annotation="not ours"),
                stubs.hit(hit_id=first.hit_id, status="Reviewable", completed=9),
            ],
            "NextToken": "t2",
        },
        expected_params={"MaxResults": 100},
    )
    stub.add_response(
        "list_hits",
        {"HITs": [stubs.hit(hit_id="3ADOPTEDXXXXXXXXXXXXXXXXXXXXXX", annotation=second.request_token)]},
        expected_params={"MaxResults": 100, "NextToken": "t2"},
    )
    report = sync_hits(mturk=open_mturk(mode="sandbox"))
    assert (report.hits_seen, report.hits_updated, [h.pk for h in report.hits_adopted]) == (3, 1, [second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    batch.refresh_from_db()
    assert (first.status, first.completed, first.available) == ("Reviewable", 9, 0)
    assert (second.hit_id, second.state) == ("3ADOPTEDXXXXXXXXXXXXXXXXXXXXXX", HitState.CREATED)
    assert Spend.objects.get(hit=second).state == Spend.State.COMMITTED
    assert batch.state == HitBatch.State.PUBLISHED


def test_sync_batch_pages_through_assignments_and_updates_the_mirror(mturk_stub):
    batch = publish_rows(make_batch(n_assignments=9))
    hit = batch.hits.get()
    stub = mturk_stub.sandbox
    page = {"HITId": hit.hit_id, "AssignmentStatuses": ["Submitted", "Approved", "Rejected"], "MaxResults": 100}
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(
                    assignment_id=f"3ASG{i}XXXXXXXXXXXXXXXXXXXXXXXXX", worker_id=f"A{i}WORKER", hit_id=hit.hit_id
                )
                for i in range(2)
            ],
            "NextToken": "n2",
        },
        expected_params=page,
    )
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(
                    assignment_id="3ASG2XXXXXXXXXXXXXXXXXXXXXXXXX", worker_id="A2WORKER", hit_id=hit.hit_id
                )
            ]
        },
        expected_params={**page, "NextToken": "n2"},
    )
    report = sync_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert report.assignments_created == 3
    assert MTurkAssignment.objects.filter(hit=hit, status="Submitted").count() == 3
    assert MTurkCall.objects.filter(operation="ListAssignmentsForHIT", batch=batch).count() == 2

    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(
                    assignment_id="3ASG0XXXXXXXXXXXXXXXXXXXXXXXXX",
                    worker_id="A0WORKER",
                    hit_id=hit.hit_id,
                    status="Approved",
                )
            ]
        },
    )
    report = sync_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert report.assignments_updated == 1
    assert MTurkAssignment.objects.get(assignment_id="3ASG0XXXXXXXXXXXXXXXXXXXXXXXXX").status == "Approved"


def test_reconciliation_records_and_later_resolves_discrepancies(mturk_stub):
    batch = publish_rows(make_batch(n_assignments=9))
    hit = batch.hits.get()
    long_ago = timezone.now() - dt.timedelta(hours=2)
    participants = [
        LocalParticipant(
            worker_id="A1KNOWN",
            assignment_id="3ASGKNOWNXXXXXXXXXXXXXXXXXXXXX",
            hit_id=hit.hit_id,
            completed_at=long_ago,
        ),
        LocalParticipant(
            worker_id="A2LOST", assignment_id="3ASGLOSTXXXXXXXXXXXXXXXXXXXXXX", hit_id=hit.hit_id, completed_at=long_ago
        ),
    ]
    stub = mturk_stub.sandbox
    stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=hit.hit_id)]})
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(
                    assignment_id="3ASGKNOWNXXXXXXXXXXXXXXXXXXXXX", worker_id="A1KNOWN", hit_id=hit.hit_id
                ),
                stubs.assignment(
                    assignment_id="3ASGSTRANGEXXXXXXXXXXXXXXXXXXX", worker_id="A3STRANGER", hit_id=hit.hit_id
                ),
            ]
        },
    )
    assert modes_to_sync() == [Mode.SANDBOX]
    summary = sync_and_reconcile(mturk=open_mturk(mode="sandbox"), participants=lambda b: participants)
    counts = summary.batches[batch.pk]
    assert (counts["matched"], counts["submitted_unknown"], counts["known_not_submitted"]) == (1, 1, 1)
    assert sorted(Discrepancy.objects.values_list("kind", "worker_id")) == [
        ("known_not_submitted", "A2LOST"),
        ("submitted_unknown", "A3STRANGER"),
    ]

    # The lost worker's submission arrives later: that discrepancy resolves itself; the stranger's stays open.
    stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=hit.hit_id)]})
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(
                    assignment_id="3ASGKNOWNXXXXXXXXXXXXXXXXXXXXX", worker_id="A1KNOWN", hit_id=hit.hit_id
                ),
                stubs.assignment(
                    assignment_id="3ASGSTRANGEXXXXXXXXXXXXXXXXXXX", worker_id="A3STRANGER", hit_id=hit.hit_id
                ),
                stubs.assignment(assignment_id="3ASGLOSTXXXXXXXXXXXXXXXXXXXXXX", worker_id="A2LOST", hit_id=hit.hit_id),
            ]
        },
    )
    sync_and_reconcile(mturk=open_mturk(mode="sandbox"), participants=lambda b: participants)
    open_ = Discrepancy.objects.filter(resolved_at__isnull=True)
    assert list(open_.values_list("worker_id", flat=True)) == ["A3STRANGER"]
    assert Discrepancy.objects.get(worker_id="A2LOST").resolution == "no longer found by reconciliation"


def test_closed_batches_are_not_synced_any_more(mturk_stub, staff_client):
    batch = publish_rows(make_batch())
    staff_client.post("/admin/mturk/hitbatch/", {"action": "close", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.state == HitBatch.State.CLOSED
    assert modes_to_sync() == []
