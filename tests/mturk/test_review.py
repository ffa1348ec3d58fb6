"""Approve, reject, bonus (before approval, idempotent, under the cap) and block."""

from decimal import Decimal

import pytest

from mturk.client import MTurkRequestError, MTurkServiceError
from mturk.models import AssignmentStatus, Bonus, MTurkCall, PaymentState, Spend, WorkerBlock
from mturk.modes import Mode
from mturk.services import review
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from tests.factories.mturk import MTurkAssignmentFactory, MTurkStudyFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment():
    return MTurkAssignmentFactory()


def bonus_token(worker_id, assignment_id):
    import hashlib

    return "mvfit-bonus-" + hashlib.sha256(f"{worker_id}:{assignment_id}".encode()).hexdigest()[:40]


def expect_bonus(stub, a, amount="0.50", reason="Thanks for careful work"):
    stub.add_response(
        "send_bonus",
        {},
        expected_params={
            "WorkerId": a.worker_id,
            "AssignmentId": a.assignment_id,
            "BonusAmount": amount,
            "Reason": reason,
            "UniqueRequestToken": bonus_token(a.worker_id, a.assignment_id),
        },
    )


def test_approve(mturk_stub, assignment):
    mturk_stub.sandbox.add_response(
        "approve_assignment",
        {},
        expected_params={"AssignmentId": assignment.assignment_id, "RequesterFeedback": "Thanks!"},
    )
    review.approve(assignment=assignment, mturk=open_mturk(mode="sandbox"), feedback="Thanks!", actor="alice")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.APPROVED and assignment.approval_time
    call = MTurkCall.objects.get()
    assert (call.operation, call.actor, call.batch_id) == ("ApproveAssignment", "alice", assignment.hit.batch_id)


def test_approve_believes_mturk_when_auto_approval_got_there_first(mturk_stub, assignment):
    mturk_stub.sandbox.add_client_error(
        "approve_assignment",
        service_error_code="RequestError",
        service_message="This operation can be called with a status of: Submitted",
    )
    mturk_stub.sandbox.add_response(
        "get_assignment",
        {
            "Assignment": stubs.assignment(
                assignment_id=assignment.assignment_id,
                worker_id=assignment.worker_id,
                hit_id=assignment.hit.hit_id,
                status="Approved",
            )
        },
    )
    review.approve(assignment=assignment, mturk=open_mturk(mode="sandbox"))
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.APPROVED


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_requires_a_reason_and_sends_nothing_without_one(mturk_stub, assignment, reason):
    with pytest.raises(review.ReviewError, match="rejection reason is required"):
        review.reject(assignment=assignment, mturk=open_mturk(mode="sandbox"), reason=reason)
    assert not MTurkCall.objects.exists()


def test_reject(mturk_stub, assignment):
    mturk_stub.sandbox.add_response(
        "reject_assignment",
        {},
        expected_params={
            "AssignmentId": assignment.assignment_id,
            "RequesterFeedback": "Failed 4 of 5 attention checks.",
        },
    )
    review.reject(assignment=assignment, mturk=open_mturk(mode="sandbox"), reason=" Failed 4 of 5 attention checks. ")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.REJECTED and assignment.requester_feedback.startswith("Failed")


def test_pay_sends_the_bonus_before_approving(mturk_stub, assignment):
    expect_bonus(mturk_stub.sandbox, assignment)
    mturk_stub.sandbox.add_response(
        "approve_assignment", {}, expected_params={"AssignmentId": assignment.assignment_id}
    )
    review.pay(
        assignment=assignment, mturk=open_mturk(mode="sandbox"), bonus="0.50", bonus_reason="Thanks for careful work"
    )
    assert list(MTurkCall.objects.order_by("pk").values_list("operation", flat=True)) == [
        "SendBonus",
        "ApproveAssignment",
    ]
    bonus = Bonus.objects.get()
    assert bonus.state == PaymentState.SENT and bonus.request_token == bonus_token(
        assignment.worker_id, assignment.assignment_id
    )
    assert Spend.objects.get(bonus=bonus).amount == Decimal("0.60")  # 0.50 + 20 % fee


def test_a_failed_bonus_stops_the_approval_and_stays_visible(mturk_stub, assignment):
    mturk_stub.sandbox.add_client_error(
        "send_bonus", service_error_code="RequestError", service_message="Insufficient funds to send this bonus."
    )
    with pytest.raises(MTurkRequestError, match="Insufficient funds"):
        review.pay(assignment=assignment, mturk=open_mturk(mode="sandbox"), bonus="0.50", bonus_reason="Thanks")
    assignment.refresh_from_db()
    bonus = Bonus.objects.get()
    assert assignment.status == AssignmentStatus.SUBMITTED
    assert bonus.state == PaymentState.FAILED and "Insufficient funds" in bonus.error
    assert Spend.objects.get(bonus=bonus).state == Spend.State.RELEASED
    with pytest.raises(review.ReviewError, match="unpaid bonus"):
        review.approve(assignment=assignment, mturk=open_mturk(mode="sandbox"))


def test_a_bonus_is_paid_at_most_once(mturk_stub, assignment):
    expect_bonus(mturk_stub.sandbox, assignment)
    mturk = open_mturk(mode="sandbox")
    review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks for careful work")
    review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks for careful work")
    assert MTurkCall.objects.filter(operation="SendBonus").count() == 1
    with pytest.raises(review.ReviewError, match=r"already received a \$0\.50 bonus"):
        review.send_bonus(assignment=assignment, mturk=mturk, amount="1.00", reason="more")


def test_a_bonus_with_an_unknown_outcome_is_checked_on_mturk_before_resending(mturk_stub, assignment):
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "send_bonus", service_error_code="ServiceFault", service_message="Internal", http_status_code=500
    )
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(MTurkServiceError):
        review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks")
    bonus = Bonus.objects.get()
    assert bonus.state == PaymentState.PENDING and Spend.objects.get(bonus=bonus).state == Spend.State.RESERVED
    stub.add_response(
        "list_bonus_payments",
        {
            "BonusPayments": [
                {
                    "WorkerId": assignment.worker_id,
                    "BonusAmount": "0.50",
                    "AssignmentId": assignment.assignment_id,
                    "Reason": "Thanks",
                    "GrantTime": stubs.NOW,
                }
            ]
        },
        expected_params={"AssignmentId": assignment.assignment_id, "MaxResults": 100},
    )
    review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks")
    bonus.refresh_from_db()
    assert bonus.state == PaymentState.SENT and "ListBonusPayments" in bonus.error
    assert MTurkCall.objects.filter(operation="SendBonus").count() == 1


def test_a_bonus_whose_token_mturk_already_knows_counts_as_paid(mturk_stub, assignment):
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "send_bonus", service_error_code="ServiceFault", service_message="Internal", http_status_code=500
    )
    stub.add_response("list_bonus_payments", {"BonusPayments": []})
    stub.add_client_error(
        "send_bonus",
        service_error_code="RequestError",
        service_message="The bonus with this UniqueRequestToken has already been sent.",
        expected_params={
            "WorkerId": assignment.worker_id,
            "AssignmentId": assignment.assignment_id,
            "BonusAmount": "0.50",
            "Reason": "Thanks",
            "UniqueRequestToken": bonus_token(assignment.worker_id, assignment.assignment_id),
        },
    )
    paid = {
        "WorkerId": assignment.worker_id,
        "BonusAmount": "0.50",
        "AssignmentId": assignment.assignment_id,
        "Reason": "Thanks",
        "GrantTime": stubs.NOW,
    }
    stub.add_response("list_bonus_payments", {"BonusPayments": [paid]})  # the earlier attempt did go through
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(MTurkServiceError):
        review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks")
    review.send_bonus(assignment=assignment, mturk=mturk, amount="0.50", reason="Thanks")
    assert Bonus.objects.get().state == PaymentState.SENT


def test_a_used_token_without_a_listed_payment_stays_pending_and_reserved(mturk_stub, assignment):
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "send_bonus", service_error_code="RequestError", service_message="This UniqueRequestToken was already used."
    )
    stub.add_response("list_bonus_payments", {"BonusPayments": []})
    with pytest.raises(MTurkRequestError):
        review.send_bonus(assignment=assignment, mturk=open_mturk(mode="sandbox"), amount="0.50", reason="Thanks")
    bonus = Bonus.objects.get()
    assert bonus.state == PaymentState.PENDING and "already used" in bonus.error
    assert Spend.objects.get(bonus=bonus).state == Spend.State.RESERVED


def test_bonuses_respect_the_spending_cap(mturk_stub):
    study = MTurkStudyFactory(spending_cap=Decimal("20.00"))
    batch = publish_rows(make_batch(study, n_assignments=9))
    assignment = MTurkAssignmentFactory(hit=batch.hits.get())
    Spend.objects.create(
        study=study, mode=Mode.SANDBOX, kind=Spend.Kind.HIT, amount=Decimal("16.20"), hit=batch.hits.get()
    )
    with pytest.raises(SpendingCapExceeded, match=r"would spend \$6\.00"):
        review.send_bonus(assignment=assignment, mturk=open_mturk(mode="sandbox"), amount="5.00", reason="Great")
    assert not MTurkCall.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "abc", ""])
def test_bad_bonus_amounts_are_refused(mturk_stub, assignment, amount):
    with pytest.raises(review.ReviewError):
        review.send_bonus(assignment=assignment, mturk=open_mturk(mode="sandbox"), amount=amount, reason="x")
    assert not Bonus.objects.exists()


def test_block_worker(mturk_stub):
    mturk_stub.sandbox.add_response(
        "create_worker_block", {}, expected_params={"WorkerId": "A1BADWORKERXXX", "Reason": "Random answers"}
    )
    block = review.block_worker(
        mode="sandbox", worker_id="A1BADWORKERXXX", reason="Random answers", mturk=open_mturk(mode="sandbox")
    )
    assert block.state == WorkerBlock.State.BLOCKED
    again = review.block_worker(
        mode="sandbox", worker_id="A1BADWORKERXXX", reason="Random answers", mturk=open_mturk(mode="sandbox")
    )
    assert again.pk == block.pk and MTurkCall.objects.count() == 1
    with pytest.raises(review.ReviewError, match="block reason is required"):
        review.block_worker(mode="sandbox", worker_id="A2", reason="", mturk=open_mturk(mode="sandbox"))


def test_bulk_approval_reports_failures_without_stopping(mturk_stub):
    batch = publish_rows(make_batch(n_assignments=9))
    assignments = [MTurkAssignmentFactory(hit=batch.hits.get()) for _ in range(3)]
    stub = mturk_stub.sandbox
    stub.add_response("approve_assignment", {})
    stub.add_client_error(
        "approve_assignment", service_error_code="RequestError", service_message="Assignment does not exist"
    )
    stub.add_client_error(
        "get_assignment", service_error_code="RequestError", service_message="Assignment does not exist"
    )
    stub.add_response("approve_assignment", {})
    mturk = open_mturk(mode="sandbox")
    result = review.bulk(assignments, lambda a: review.approve(assignment=a, mturk=mturk))
    assert result.succeeded == [assignments[0], assignments[2]]
    assert [item for item, _ in result.failed] == [assignments[1]]
    assert "Approved 2; 1 failed" in result.summary("Approved")


def test_review_refuses_a_client_of_the_other_marketplace(mturk_stub, assignment):
    with pytest.raises(review.ReviewError, match="is sandbox, the client is live"):
        review.approve(assignment=assignment, mturk=open_mturk(mode="live", confirm_live=True))
