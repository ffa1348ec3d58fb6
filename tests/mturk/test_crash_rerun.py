"""Killed between MTurk's answer and our commit, then re-run: publish, approve, un-reject and bonus create
nothing twice (the process is interrupted right after the remote call, before the local write)."""

import pytest

from mturk.models import AssignmentStatus, Bonus, Hit, HitBatch, MTurkCall, PaymentState, Spend
from mturk.services import publishing, review
from mturk.services.audit import open_mturk
from mturk.services.publishing import publish_batch
from tests.factories.mturk import MTurkAssignmentFactory, make_batch

from . import stubs
from .test_publishing import expect_create, expect_setup
from .test_review import bonus_token

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


def kill_once(monkeypatch, module, name):
    """Make ``module.name`` die the first time it is called (after the remote call it follows)."""
    real = getattr(module, name)
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise Killed(f"killed before {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, dying)


def already(stub, operation, message):
    stub.add_client_error(operation, service_error_code="RequestError", service_message=message, http_status_code=400)


def remote_assignment(stub, a, status):
    stub.add_response(
        "get_assignment",
        {
            "Assignment": stubs.assignment(
                assignment_id=a.assignment_id, worker_id=a.worker_id, hit_id=a.hit.hit_id, status=status
            )
        },
        expected_params={"AssignmentId": a.assignment_id},
    )


def test_publish_killed_after_mturk_created_the_hit_adopts_it_on_the_rerun(mturk_stub, monkeypatch):
    batch = make_batch(n_assignments=9)
    hit = batch.hits.get()
    stub = mturk_stub.sandbox
    expect_setup(stub, batch)
    expect_create(stub, batch, hit, "3KILLEDHITXXXXXXXXXXXXXXXXXXXX")
    kill_once(monkeypatch, publishing, "_store")
    with pytest.raises(Killed):
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    hit.refresh_from_db()
    assert hit.hit_id is None and hit.create_attempts == 1

    # The re-run sends the same token; MTurk answers that the HIT exists, and it is adopted.
    stub.add_client_error(
        "create_hit_with_hit_type",
        service_error_code="RequestError",
        service_message='The HIT with ID "3KILLEDHITXXXXXXXXXXXXXXXXXXXX" already exists for this UniqueRequestToken.',
        http_status_code=400,
        modeled_fields={"TurkErrorCode": "AWS.MechanicalTurk.HitAlreadyExists"},
    )
    stub.add_response(
        "get_hit",
        {"HIT": stubs.hit(hit_id="3KILLEDHITXXXXXXXXXXXXXXXXXXXX", annotation=hit.request_token)},
        expected_params={"HITId": "3KILLEDHITXXXXXXXXXXXXXXXXXXXX"},
    )
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert [h.pk for h in report.recovered] == [hit.pk] and not report.created
    batch.refresh_from_db()
    assert batch.state == HitBatch.State.PUBLISHED
    assert Hit.objects.filter(batch=batch, hit_id="3KILLEDHITXXXXXXXXXXXXXXXXXXXX").count() == 1
    assert Spend.objects.get(hit=hit).state == Spend.State.COMMITTED
    # Exactly one CreateHIT reached MTurk successfully; the second was answered "already exists".
    creates = MTurkCall.objects.filter(operation="CreateHITWithHITType")
    assert [c.error_code for c in creates.order_by("pk")] == ["", "RequestError"]


@pytest.mark.parametrize(
    ("action", "start", "operation"),
    [
        ("approve", AssignmentStatus.SUBMITTED, "approve_assignment"),
        ("unreject", AssignmentStatus.REJECTED, "approve_assignment"),
    ],
)
def test_approve_and_unreject_killed_before_the_local_commit_are_not_repeated(
    mturk_stub, monkeypatch, action, start, operation
):
    a = MTurkAssignmentFactory(status=start)
    stub = mturk_stub.sandbox
    stub.add_response(operation, {})
    kill_once(monkeypatch, review, "_set_status")
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(Killed):
        getattr(review, action)(assignment=a, mturk=mturk)
    a.refresh_from_db()
    assert a.status == start  # MTurk approved it; we never wrote it down

    # The re-run asks again; MTurk refuses (already approved) and its current state is believed.
    already(stub, operation, "This operation can be called with a status of: Submitted")
    remote_assignment(stub, a, "Approved")
    getattr(review, action)(assignment=a, mturk=mturk)
    a.refresh_from_db()
    assert a.status == AssignmentStatus.APPROVED
    assert MTurkCall.objects.filter(operation="ApproveAssignment", error_code="").count() == 1


def test_a_bonus_killed_before_the_local_commit_is_found_on_mturk_and_not_paid_again(mturk_stub, monkeypatch):
    a = MTurkAssignmentFactory()
    stub = mturk_stub.sandbox
    stub.add_response(
        "send_bonus",
        {},
        expected_params={
            "WorkerId": a.worker_id,
            "AssignmentId": a.assignment_id,
            "BonusAmount": "0.50",
            "Reason": "Thanks",
            "UniqueRequestToken": bonus_token(a.worker_id, a.assignment_id),
        },
    )
    kill_once(monkeypatch, review, "_bonus_sent")
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(Killed):
        review.send_bonus(assignment=a, mturk=mturk, amount="0.50", reason="Thanks")
    bonus = Bonus.objects.get()
    assert bonus.state == PaymentState.PENDING and bonus.attempts == 1
    stub.add_response(
        "list_bonus_payments",
        {
            "BonusPayments": [
                {
                    "WorkerId": a.worker_id,
                    "BonusAmount": "0.50",
                    "AssignmentId": a.assignment_id,
                    "Reason": "Thanks",
                    "GrantTime": stubs.NOW,
                }
            ]
        },
    )
    review.send_bonus(assignment=a, mturk=mturk, amount="0.50", reason="Thanks")
    bonus.refresh_from_db()
    assert bonus.state == PaymentState.SENT
    assert MTurkCall.objects.filter(operation="SendBonus").count() == 1
    assert Spend.objects.get(bonus=bonus).state == Spend.State.COMMITTED
