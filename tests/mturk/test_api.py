"""The staff API: authentication, batch creation with estimate, publishing, review actions, errors."""

from decimal import Decimal

import pytest

from mturk.models import AssignmentStatus, HitBatch, MTurkCall
from tests.factories.mturk import MTurkAssignmentFactory, MTurkStudyFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


def test_the_api_is_staff_only(client, django_user_model):
    assert client.get("/api/mturk/batches/").status_code in {401, 403}
    user = django_user_model.objects.create_user(username="worker", password="x")
    client.force_login(user)
    assert client.get("/api/mturk/batches/").status_code == 403


def test_create_a_batch_and_see_its_estimate(staff_client):
    study = MTurkStudyFactory()
    payload = {
        "study": study.pk,
        "mode": "sandbox",
        "task_url": "https://mvfit.example.org/mturk/e/1/",
        "title": "Rate music-video fit",
        "description": "Watch and rate.",
        "reward": "1.00",
        "n_assignments": 20,
        "locales": ["US"],
    }
    response = staff_client.post("/api/mturk/batches/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["estimate"]["n_hits"] == 3 and body["estimate"]["total"] == "24.00"
    assert body["progress"]["hits"] == 3 and body["state"] == "draft"


def test_batch_creation_needs_a_mode_and_reports_constraint_errors(staff_client):
    study = MTurkStudyFactory()
    base = {
        "study": study.pk,
        "task_url": "https://x.org/",
        "title": "t",
        "description": "d",
        "reward": "1.00",
        "n_assignments": 20,
    }
    assert "mode" in staff_client.post("/api/mturk/batches/", base, content_type="application/json").json()
    response = staff_client.post(
        "/api/mturk/batches/",
        {**base, "mode": "sandbox", "max_assignments_per_hit": 12},
        content_type="application/json",
    )
    assert response.status_code == 400 and "20 %" in str(response.json()["detail"])
    response = staff_client.post(
        "/api/mturk/batches/",
        {**base, "mode": "live", "task_url": "http://127.0.0.1:8000/"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "HTTPS" in response.json()["detail"]
    assert not HitBatch.objects.exists()


def test_publishing_live_without_confirmation_is_forbidden(staff_client, mturk_stub):
    batch = make_batch(mode="live")
    response = staff_client.post(f"/api/mturk/batches/{batch.pk}/publish/", {}, content_type="application/json")
    assert response.status_code == 403 and "LIVE" in response.json()["detail"]
    assert not MTurkCall.objects.exists()


def test_publishing_over_the_cap_is_a_conflict(staff_client, mturk_stub):
    batch = make_batch(MTurkStudyFactory(spending_cap=Decimal("5.00")))
    response = staff_client.post(f"/api/mturk/batches/{batch.pk}/publish/", {}, content_type="application/json")
    assert response.status_code == 409 and "spending cap" in response.json()["detail"]


def test_publish_through_the_api(staff_client, mturk_stub):
    batch = make_batch(n_assignments=3, exclude_returning_workers=False)
    stub = mturk_stub.sandbox
    stub.add_response("create_hit_type", {"HITTypeId": "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"})
    stub.add_response(
        "create_hit_with_hit_type", {"HIT": stubs.hit(hit_id="3APIHITXXXXXXXXXXXXXXXXXXXXXXX", max_assignments=3)}
    )
    response = staff_client.post(f"/api/mturk/batches/{batch.pk}/publish/", {}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == ["3APIHITXXXXXXXXXXXXXXXXXXXXXXX"]
    assert response.json()["batch"]["state"] == "published"
    assert MTurkCall.objects.filter(actor="api: experimenter").count() == 2


def test_reject_needs_a_reason(staff_client, mturk_stub):
    assignment = MTurkAssignmentFactory()
    url = f"/api/mturk/assignments/{assignment.assignment_id}/reject/"
    response = staff_client.post(url, {"reason": ""}, content_type="application/json")
    assert response.status_code == 400 and "reason is required" in response.json()["detail"]
    assert staff_client.post(f"/api/mturk/assignments/{assignment.assignment_id}/delete/", {}).status_code == 404


def test_pay_with_bonus_then_list(staff_client, mturk_stub):
    assignment = MTurkAssignmentFactory()
    mturk_stub.sandbox.add_response("send_bonus", {})
    mturk_stub.sandbox.add_response("approve_assignment", {})
    response = staff_client.post(
        f"/api/mturk/assignments/{assignment.assignment_id}/pay/",
        {"amount": "0.75", "reason": "Great attention"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Approved" and response.json()["bonuses"][0]["state"] == "sent"
    listed = staff_client.get(f"/api/mturk/assignments/?batch={assignment.hit.batch_id}").json()
    assert listed["results"][0]["assignment_id"] == assignment.assignment_id


def test_bulk_approve_reports_each_failure(staff_client, mturk_stub):
    hit = publish_rows(make_batch()).hits.get()
    good, bad = MTurkAssignmentFactory(hit=hit), MTurkAssignmentFactory(hit=hit)
    mturk_stub.sandbox.add_response("approve_assignment", {})
    mturk_stub.sandbox.add_client_error("approve_assignment", service_error_code="RequestError", service_message="nope")
    mturk_stub.sandbox.add_client_error("get_assignment", service_error_code="RequestError", service_message="nope")
    response = staff_client.post(
        "/api/mturk/assignments/bulk/",
        {"action": "approve", "assignment_ids": [good.assignment_id, bad.assignment_id]},
        content_type="application/json",
    )
    assert response.status_code == 207
    assert response.json()["succeeded"] == [good.assignment_id]
    assert response.json()["failed"][0]["assignment_id"] == bad.assignment_id
    good.refresh_from_db()
    assert good.status == AssignmentStatus.APPROVED


def test_balance_and_block(staff_client, mturk_stub):
    mturk_stub.sandbox.add_response("get_account_balance", {"AvailableBalance": "10000.00"})
    assert staff_client.get("/api/mturk/balance/?mode=sandbox").json()["available"] == "10000.00"
    assert staff_client.get("/api/mturk/balance/").status_code == 400  # no default marketplace
    mturk_stub.sandbox.add_response("create_worker_block", {})
    response = staff_client.post(
        "/api/mturk/workers/block/",
        {"mode": "sandbox", "worker_id": "A1SPAMMERXXXXX", "reason": "Bot answers"},
        content_type="application/json",
    )
    assert response.json() == {"worker_id": "A1SPAMMERXXXXX", "mode": "sandbox", "state": "blocked"}
    calls = staff_client.get("/api/mturk/calls/").json()["results"]
    assert [c["operation"] for c in calls] == ["CreateWorkerBlock", "GetAccountBalance"]
