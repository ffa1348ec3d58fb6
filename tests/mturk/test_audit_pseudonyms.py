"""The MTurk audit log keeps no WorkerId: requests, responses and error messages store the exports'
pseudonym (MTurk itself still gets the real id), and the API and admin show only what is stored."""

import glob
import importlib
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from experiments.services.pseudonyms import pseudonymise
from mturk.client import MTurkRequestError
from mturk.models import MTurkCall
from mturk.services.audit import open_mturk

from . import stubs

pytestmark = pytest.mark.django_db

RAW = "A1RAWWORKERID7"
OTHER = "A2OTHERWORKER9"


@pytest.fixture
def pseudonym(settings):
    settings.MVFIT_PSEUDONYM_KEY = "audit-test-key"
    return lambda worker_id: pseudonymise(worker_id, key="audit-test-key")


def stored_text() -> str:
    return json.dumps(list(MTurkCall.objects.values("request", "response", "error_message")), default=str)


def test_a_bonus_reaches_mturk_with_the_real_id_and_is_logged_with_the_pseudonym(mturk_stub, pseudonym, staff_client):
    # Finding 11: full WorkerIds were stored in the audit log and shown by /api/mturk/calls/.
    params = {
        "WorkerId": RAW,
        "AssignmentId": "3ASGX",
        "BonusAmount": "0.50",
        "Reason": "Thanks",
        "UniqueRequestToken": "t1",
    }
    mturk_stub.sandbox.add_response("send_bonus", {}, expected_params=params)  # MTurk gets the real id
    open_mturk(mode="sandbox").send_bonus(
        worker_id=RAW, assignment_id="3ASGX", amount="0.50", reason="Thanks", unique_request_token="t1"
    )
    call = MTurkCall.objects.get()
    assert call.request == {**params, "WorkerId": pseudonym(RAW)}
    assert RAW not in stored_text()
    api = staff_client.get("/api/mturk/calls/")
    assert api.status_code == 200 and pseudonym(RAW) in api.content.decode() and RAW not in api.content.decode()
    for page in ("/admin/mturk/mturkcall/", f"/admin/mturk/mturkcall/{call.pk}/change/"):
        html = staff_client.get(page).content.decode()
        assert RAW not in html


def test_worker_ids_in_responses_lists_and_error_messages_are_pseudonymised(mturk_stub, pseudonym):
    hit_id = "3HITXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assignments = [
        stubs.assignment(assignment_id="3ASG1XXXXXXXXXXXXXXXXXXXXXXXXX", worker_id=RAW, hit_id=hit_id),
        stubs.assignment(assignment_id="3ASG2XXXXXXXXXXXXXXXXXXXXXXXXX", worker_id=OTHER, hit_id=hit_id),
    ]
    mturk_stub.sandbox.add_response("list_assignments_for_hit", {"Assignments": assignments, "NumResults": 2})
    found = list(open_mturk(mode="sandbox").iter_assignments(hit_id))
    assert [a.worker_id for a in found] == [RAW, OTHER]  # the caller (our own records) gets the real ids
    listed = MTurkCall.objects.get(operation="ListAssignmentsForHIT").response
    assert [a["WorkerId"] for a in listed["Assignments"]] == [pseudonym(RAW), pseudonym(OTHER)]

    mturk_stub.sandbox.add_client_error(
        "create_worker_block", service_error_code="RequestError", service_message=f"Worker {RAW} is unknown"
    )
    with pytest.raises(MTurkRequestError, match=RAW):  # the operator sees the real id in the error
        open_mturk(mode="sandbox").create_worker_block(worker_id=RAW, reason="spam")
    failed = MTurkCall.objects.get(operation="CreateWorkerBlock")
    assert failed.error_message == f"Worker {pseudonym(RAW)} is unknown"
    assert RAW not in stored_text() and OTHER not in stored_text()


def test_no_client_opens_without_a_pseudonym_key(mturk_stub, settings):
    settings.MVFIT_PSEUDONYM_KEY = None
    with pytest.raises(ImproperlyConfigured, match="MVFIT_PSEUDONYM_KEY"):
        open_mturk(mode="sandbox")
    assert mturk_stub.built == [] and not MTurkCall.objects.exists()


def test_the_migration_pseudonymises_calls_logged_before_it_once(pseudonym):
    (path,) = glob.glob(str(Path(apps.get_app_config("mturk").path) / "migrations" / "*pseudonymised_audit.py"))
    migration = importlib.import_module(f"mturk.migrations.{Path(path).stem}")
    old = MTurkCall.objects.create(
        operation="SendBonus",
        mode="sandbox",
        endpoint="https://mturk-requester-sandbox.us-east-1.amazonaws.com",
        request={"WorkerId": RAW, "Reason": f"Thanks {RAW}"},
        response={"WorkerIds": [OTHER]},
        error_message=f"{OTHER} failed",
        duration_ms=1,
        started_at=timezone.now(),
    )
    migration.pseudonymise_audit_log(apps, None)
    migration.pseudonymise_audit_log(apps, None)  # idempotent: a pseudonym is not pseudonymised again
    old.refresh_from_db()
    assert old.request == {"WorkerId": pseudonym(RAW), "Reason": f"Thanks {pseudonym(RAW)}"}
    assert old.response == {"WorkerIds": [pseudonym(OTHER)]} and old.error_message == f"{pseudonym(OTHER)} failed"
