"""Fair treatment on MTurk: un-rejecting (ApproveAssignment with OverrideRejection) and messaging workers
(NotifyWorkers), through the service, the review dispatch and the command."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mturk.models import AssignmentStatus, MTurkCall
from mturk.services import review, review_actions
from mturk.services.audit import open_mturk
from tests.factories.mturk import MTurkAssignmentFactory, make_batch, publish_rows

pytestmark = pytest.mark.django_db


def test_unreject_overrides_the_rejection_and_is_idempotent(mturk_stub):
    a = MTurkAssignmentFactory(status=AssignmentStatus.REJECTED)
    mturk_stub.sandbox.add_response(
        "approve_assignment",
        {},
        expected_params={
            "AssignmentId": a.assignment_id,
            "RequesterFeedback": "Our mistake, sorry.",
            "OverrideRejection": True,
        },
    )
    mturk = open_mturk(mode="sandbox")
    review.unreject(assignment=a, mturk=mturk, feedback=" Our mistake, sorry. ", actor="alice")
    a.refresh_from_db()
    assert a.status == AssignmentStatus.APPROVED and a.approval_time and a.requester_feedback == "Our mistake, sorry."
    review.unreject(assignment=a, mturk=mturk)  # approved already: nothing is sent
    assert MTurkCall.objects.filter(operation="ApproveAssignment").count() == 1


def test_only_a_rejected_assignment_can_be_unrejected(mturk_stub):
    a = MTurkAssignmentFactory(status=AssignmentStatus.SUBMITTED)
    with pytest.raises(review.ReviewError, match="not rejected"):
        review.unreject(assignment=a, mturk=open_mturk(mode="sandbox"))
    assert not MTurkCall.objects.exists()


def test_the_review_command_unrejects_by_assignment_id(mturk_stub):
    a = MTurkAssignmentFactory(status=AssignmentStatus.REJECTED)
    mturk_stub.sandbox.add_response(
        "approve_assignment", {}, expected_params={"AssignmentId": a.assignment_id, "OverrideRejection": True}
    )
    out = StringIO()
    call_command("mturk_review", "unreject", "--assignment", a.assignment_id, stdout=out)
    assert "un-rejected 1" in out.getvalue()
    a.refresh_from_db()
    assert a.status == AssignmentStatus.APPROVED


def test_messages_go_100_workers_per_call_and_unreached_workers_are_reported(mturk_stub, settings):
    settings.MVFIT_PSEUDONYM_KEY = "message-test-key"
    workers = [f"A{n:013d}" for n in range(150)]
    stub = mturk_stub.sandbox
    stub.add_response(
        "notify_workers",
        {
            "NotifyWorkersFailureStatuses": [
                {
                    "WorkerId": workers[3],
                    "NotifyWorkersFailureCode": "HardFailure",
                    "NotifyWorkersFailureMessage": "No such worker",
                }
            ]
        },
        expected_params={
            "Subject": "New study",
            "MessageText": "A follow-up study is open.",
            "WorkerIds": workers[:100],
        },
    )
    stub.add_response(
        "notify_workers",
        {"NotifyWorkersFailureStatuses": []},
        expected_params={
            "Subject": "New study",
            "MessageText": "A follow-up study is open.",
            "WorkerIds": workers[100:],
        },
    )
    failures = review.message_workers(
        worker_ids=workers + workers[:5],
        subject="New study",
        text="A follow-up study is open.",
        mturk=open_mturk(mode="sandbox"),
    )
    assert failures == [(workers[3], "No such worker")]
    stored = json.dumps(list(MTurkCall.objects.values("request", "response")), default=str)
    assert MTurkCall.objects.filter(operation="NotifyWorkers").count() == 2 and workers[0] not in stored


@pytest.mark.parametrize(
    ("subject", "text", "ids", "match"),
    [
        ("", "hi", ["A1"], "subject is required"),
        ("s", "", ["A1"], "text of 1 to"),
        ("s", "hi", [], "at least one worker"),
        ("s" * 201, "hi", ["A1"], "at most 200"),
    ],
)
def test_bad_messages_are_refused_before_any_call(mturk_stub, subject, text, ids, match):
    with pytest.raises(review.ReviewError, match=match):
        review.message_workers(worker_ids=ids, subject=subject, text=text, mturk=open_mturk(mode="sandbox"))
    assert not MTurkCall.objects.exists()


def test_the_review_command_messages_every_worker_of_a_batch(mturk_stub):
    batch = publish_rows(make_batch(n_assignments=9))
    hit = batch.hits.get()
    a = MTurkAssignmentFactory(hit=hit, status=AssignmentStatus.APPROVED)
    b = MTurkAssignmentFactory(hit=hit)
    mturk_stub.sandbox.add_response(
        "notify_workers",
        {},
        expected_params={
            "Subject": "Thanks",
            "MessageText": "Bonus coming.",
            "WorkerIds": sorted([a.worker_id, b.worker_id]),
        },
    )
    out = StringIO()
    call_command(
        "mturk_review",
        "message",
        "--batch",
        str(batch.pk),
        "--subject",
        "Thanks",
        "--text",
        "Bonus coming.",
        stdout=out,
    )
    assert "messaged 2 worker(s)" in out.getvalue()
    with pytest.raises(CommandError, match="needs --mode"):
        call_command("mturk_review", "message", "--worker", "A1", "--subject", "s", "--text", "t")
    assert review_actions.workers_of([a, b, a]) == sorted([a.worker_id, b.worker_id])


def test_publishing_below_the_pay_floor_is_refused_before_any_call_when_the_setting_blocks(mturk_stub, settings):
    from mturk.services.publishing import BelowPayFloor, check_pay, publish_batch

    settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR = 1200
    batch = make_batch(reward="1.50", estimated_minutes=10)  # 9.00 per hour
    settings.MVFIT_PAY_FLOOR_BLOCKS = False
    assert "BELOW the floor" in check_pay(batch).summary()
    settings.MVFIT_PAY_FLOOR_BLOCKS = True
    with pytest.raises(BelowPayFloor, match=r"9\.00 per hour, BELOW the floor of 12\.00"):
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    batch.refresh_from_db()
    assert batch.state == batch.State.DRAFT and not MTurkCall.objects.exists()
    fair = make_batch(reward="1.50", estimated_minutes=5)  # 18.00 per hour: passes the check
    assert not check_pay(fair).below_floor


def test_the_batch_command_prints_the_pay_check(settings):
    from tests.factories.mturk import MTurkStudyFactory

    settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR = 1200
    study = MTurkStudyFactory()
    out = StringIO()
    call_command(
        "mturk_batch", "--study", study.name, "--mode", "sandbox", "--task-url", "https://mvfit.example.org/t/",
        "--title", "Rate fit", "--description", "Watch and rate", "--reward", "1.00", "--assignments", "9",
        "--minutes", "10", stdout=out,
    )  # fmt: skip
    assert "pay check: 1.00 for 10.0 min (estimate) = 6.00 per hour, BELOW the floor of 12.00" in out.getvalue()


def test_the_staff_api_unrejects(staff_client, mturk_stub):
    a = MTurkAssignmentFactory(status=AssignmentStatus.REJECTED)
    mturk_stub.sandbox.add_response(
        "approve_assignment", {}, expected_params={"AssignmentId": a.assignment_id, "OverrideRejection": True}
    )
    response = staff_client.post(
        f"/api/mturk/assignments/{a.assignment_id}/unreject/", {}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Approved"
