"""Expire, extend and add assignments to HITs that are already on MTurk."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from mturk.models import HitExtension, MTurkCall, Spend
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.hits import EXPIRE_NOW, HitChangeError, add_assignments, expire_hit, extend_hit, retry_extension
from tests.factories.mturk import MTurkStudyFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


@pytest.fixture
def hit():
    return publish_rows(make_batch(n_assignments=5)).hits.get()


def test_expire_sets_a_time_in_the_past(mturk_stub, hit):
    mturk_stub.sandbox.add_response(
        "update_expiration_for_hit", {}, expected_params={"HITId": hit.hit_id, "ExpireAt": EXPIRE_NOW}
    )
    expire_hit(hit=hit, mturk=open_mturk(mode="sandbox"))
    assert hit.expiration <= timezone.now()


def test_extend_needs_a_future_time(mturk_stub, hit):
    until = timezone.now() + dt.timedelta(days=2)
    mturk_stub.sandbox.add_response(
        "update_expiration_for_hit", {}, expected_params={"HITId": hit.hit_id, "ExpireAt": until}
    )
    extend_hit(hit=hit, mturk=open_mturk(mode="sandbox"), until=until)
    with pytest.raises(HitChangeError, match="future"):
        extend_hit(hit=hit, mturk=open_mturk(mode="sandbox"), until=timezone.now())


def test_add_assignments_with_a_row_token_under_the_cap(mturk_stub, hit):
    mturk_stub.sandbox.add_response(
        "create_additional_assignments_for_hit",
        {},
        expected_params={
            "HITId": hit.hit_id,
            "NumberOfAdditionalAssignments": 3,
            "UniqueRequestToken": f"mvfit-{hit.batch.study.nonce}-add-{HitExtension.objects.count() + 1}",
        },
    )
    extension = add_assignments(hit=hit, mturk=open_mturk(mode="sandbox"), number=3)
    hit.refresh_from_db()
    assert extension.state == HitExtension.State.DONE and hit.max_assignments == 8
    assert Spend.objects.get(extension=extension).amount == Decimal("5.40")  # 3 x (1.50 + 0.30)


def test_crossing_from_nine_to_ten_assignments_is_refused_before_asking_mturk(mturk_stub, hit):
    with pytest.raises(HitChangeError, match="fewer than 10"):
        add_assignments(hit=hit, mturk=open_mturk(mode="sandbox"), number=5)
    assert not MTurkCall.objects.exists() and not HitExtension.objects.exists()


def test_adding_assignments_respects_the_spending_cap(mturk_stub):
    hit = publish_rows(make_batch(MTurkStudyFactory(spending_cap=Decimal("1.00")), n_assignments=1)).hits.get()
    with pytest.raises(SpendingCapExceeded):
        add_assignments(hit=hit, mturk=open_mturk(mode="sandbox"), number=1)
    assert HitExtension.objects.get().state == HitExtension.State.FAILED
    assert not MTurkCall.objects.exists()


def test_an_extension_with_an_unknown_outcome_is_resent_with_the_same_token(mturk_stub, hit):
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "create_additional_assignments_for_hit",
        service_error_code="ServiceFault",
        service_message="x",
        http_status_code=500,
    )
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(Exception, match="ServiceFault"):
        add_assignments(hit=hit, mturk=mturk, number=2)
    extension = HitExtension.objects.get()
    assert extension.state == HitExtension.State.PENDING and extension.spend.state == Spend.State.RESERVED
    stub.add_client_error(
        "create_additional_assignments_for_hit",
        service_error_code="RequestError",
        service_message="This UniqueRequestToken has already been used.",
        expected_params={
            "HITId": hit.hit_id,
            "NumberOfAdditionalAssignments": 2,
            "UniqueRequestToken": extension.request_token,
        },
    )
    stub.add_response("get_hit", {"HIT": stubs.hit(hit_id=hit.hit_id, max_assignments=7)})
    retry_extension(extension=extension, mturk=mturk)
    extension.refresh_from_db()
    hit.refresh_from_db()
    assert extension.state == HitExtension.State.DONE and hit.max_assignments == 7


def test_changes_need_a_published_hit(mturk_stub):
    hit = make_batch().hits.get()
    with pytest.raises(HitChangeError, match="not on MTurk yet"):
        expire_hit(hit=hit, mturk=open_mturk(mode="sandbox"))


def test_hit_changes_from_the_admin_and_the_api(staff_client, mturk_stub, hit):
    mturk_stub.sandbox.add_response(
        "update_expiration_for_hit", {}, expected_params={"HITId": hit.hit_id, "ExpireAt": EXPIRE_NOW}
    )
    staff_client.post("/admin/mturk/hit/", {"action": "expire", "_selected_action": [hit.pk], "apply": "1"})
    mturk_stub.sandbox.add_response("create_additional_assignments_for_hit", {})
    response = staff_client.post(f"/api/mturk/hits/{hit.hit_id}/add/", {"number": 2}, content_type="application/json")
    assert response.status_code == 200 and response.json()["max_assignments"] == 7
    refused = staff_client.post(f"/api/mturk/hits/{hit.hit_id}/add/", {"number": 5}, content_type="application/json")
    assert refused.status_code == 400 and "fewer than 10" in refused.json()["detail"]
    assert list(MTurkCall.objects.order_by("pk").values_list("operation", flat=True)) == [
        "UpdateExpirationForHIT",
        "CreateAdditionalAssignmentsForHIT",
    ]
