"""Publishing batches of HITs: request shapes, idempotent re-runs, the spending cap and live guards."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mturk.models import Hit, HitBatch, HitState, MTurkCall, Spend
from mturk.modes import Mode
from mturk.question import external_question_xml
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.publishing import PublishError, publish_batch
from mturk.services.qualifications import exclusion_name
from tests.factories.mturk import MTurkStudyFactory, make_batch

from . import stubs

pytestmark = pytest.mark.django_db

EXCLUSION_ID = "3EXCLUSIONQUALXXXXXXXXXXXXXXXX"
HIT_TYPE_ID = "3HITTYPEXXXXXXXXXXXXXXXXXXXXXX"


def expect_setup(stub, batch, *, masters_id=None):
    """CreateQualificationType (exclusion) and CreateHITType, with the exact parameters we must send."""
    stub.add_response(
        "create_qualification_type",
        {"QualificationType": {"QualificationTypeId": EXCLUSION_ID, "Name": exclusion_name(batch.study)}},
        expected_params={
            "Name": exclusion_name(batch.study),
            "Description": stubs.ANY,
            "Keywords": "mvfit",
            "QualificationTypeStatus": "Active",
        },
    )
    requirements = [
        {
            "QualificationTypeId": "000000000000000000L0",
            "Comparator": "GreaterThanOrEqualTo",
            "IntegerValues": [95],
            "ActionsGuarded": "Accept",
        },
        {
            "QualificationTypeId": "00000000000000000040",
            "Comparator": "GreaterThanOrEqualTo",
            "IntegerValues": [500],
            "ActionsGuarded": "Accept",
        },
        {
            "QualificationTypeId": "00000000000000000071",
            "Comparator": "EqualTo",
            "LocaleValues": [{"Country": "US"}],
            "ActionsGuarded": "Accept",
        },
    ]
    if masters_id:
        requirements.append({"QualificationTypeId": masters_id, "Comparator": "Exists", "ActionsGuarded": "Accept"})
    requirements.append(
        {
            "QualificationTypeId": EXCLUSION_ID,
            "Comparator": "DoesNotExist",
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        }
    )
    stub.add_response(
        "create_hit_type",
        {"HITTypeId": HIT_TYPE_ID},
        expected_params={
            "Title": batch.title,
            "Description": batch.description,
            "Keywords": batch.keywords,
            "Reward": "1.50",
            "AssignmentDurationInSeconds": 3600,
            "AutoApprovalDelayInSeconds": 259200,
            "QualificationRequirements": requirements,
        },
    )


def expect_create(stub, batch, hit, hit_id):
    token = hit.request_token
    stub.add_response(
        "create_hit_with_hit_type",
        {"HIT": stubs.hit(hit_id=hit_id, annotation=token, max_assignments=hit.max_assignments)},
        expected_params={
            "HITTypeId": HIT_TYPE_ID,
            "MaxAssignments": hit.max_assignments,
            "LifetimeInSeconds": batch.lifetime_s,
            "Question": external_question_xml(batch.task_url, frame_height=batch.frame_height),
            "RequesterAnnotation": token,
            "UniqueRequestToken": token,
        },
    )


def test_batch_splits_assignments_into_hits_within_the_20_percent_tier():
    batch = make_batch(n_assignments=20)
    assert [h.max_assignments for h in batch.hits.all()] == [9, 9, 2]
    assert batch.state == HitBatch.State.DRAFT
    assert batch.cost_estimate().total == Decimal("36.00")  # 20 x 1.50 + 20 %


def test_ten_plus_assignments_per_hit_need_an_explicit_opt_out():
    with pytest.raises(ValidationError, match="20 %"):
        make_batch(n_assignments=20, max_assignments_per_hit=10)
    batch = make_batch(n_assignments=20, max_assignments_per_hit=20, allow_ten_plus_assignments=True)
    assert [h.max_assignments for h in batch.hits.all()] == [20]
    assert batch.cost_estimate().fee_tier.startswith("40 %")


def test_invalid_batches_are_refused_with_clear_errors():
    with pytest.raises(ValidationError, match=r"\$0\.01"):
        make_batch(reward=Decimal("0.00"))
    with pytest.raises(ValueError, match="ISO 3166"):
        make_batch(locales=["USA"])
    with pytest.raises(UnsafeTaskURL):
        make_batch(mode=Mode.LIVE, task_url="https://localhost:8000/mturk/")
    assert not HitBatch.objects.exists()


def test_publish_creates_every_hit_with_a_row_derived_token(mturk_stub):
    batch = make_batch(n_assignments=20, planned_bonus_per_assignment=Decimal("0.25"))
    hits = list(batch.hits.all())
    expect_setup(mturk_stub.sandbox, batch)
    hit_ids = [stubs.new_id() for _ in hits]
    for hit, hit_id in zip(hits, hit_ids, strict=True):
        expect_create(mturk_stub.sandbox, batch, hit, hit_id)

    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"), actor="alice")

    batch.refresh_from_db()
    assert report.complete and len(report.created) == 3
    assert batch.state == HitBatch.State.PUBLISHED and batch.published_at
    assert batch.hit_type_id == HIT_TYPE_ID
    assert list(batch.hits.values_list("hit_id", "state")) == [(i, HitState.CREATED) for i in hit_ids]
    assert hits[0].request_token == f"mvfit-{batch.study.nonce}-hit-{hits[0].pk}"
    # Each HIT's worst case is committed against the cap: 9 x (1.50 + 0.30), 9 x ..., 2 x ...
    assert sorted(Spend.objects.values_list("amount", "state")) == [
        (Decimal("3.60"), "committed"),
        (Decimal("16.20"), "committed"),
        (Decimal("16.20"), "committed"),
    ]
    calls = MTurkCall.objects.filter(batch=batch)
    assert calls.count() == 5 and set(calls.values_list("actor", flat=True)) == {"alice"}


def test_rerunning_a_published_batch_makes_no_calls(mturk_stub):
    batch = make_batch(n_assignments=9)
    expect_setup(mturk_stub.sandbox, batch)
    expect_create(mturk_stub.sandbox, batch, batch.hits.get(), stubs.new_id())
    publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert report.already_published == 1 and not report.created
    assert MTurkCall.objects.count() == 3


def test_rerun_after_an_unknown_outcome_reuses_the_token_and_adopts_the_existing_hit(mturk_stub):
    """The first CreateHIT failed with a 500 after MTurk created the HIT; the re-run must not duplicate it."""
    batch = make_batch(n_assignments=18)
    first, second = batch.hits.all()
    stub = mturk_stub.sandbox
    expect_setup(stub, batch)
    expect_create(stub, batch, first, "3FIRSTHITXXXXXXXXXXXXXXXXXXXXX")
    stub.add_client_error(
        "create_hit_with_hit_type",
        service_error_code="ServiceFault",
        service_message="We encountered an internal error.",
        http_status_code=500,
        expected_params={
            "HITTypeId": HIT_TYPE_ID,
            "MaxAssignments": 9,
            "LifetimeInSeconds": batch.lifetime_s,
            "Question": stubs.ANY,
            "RequesterAnnotation": second.request_token,
            "UniqueRequestToken": second.request_token,
        },
    )
    with pytest.raises(PublishError, match="1 of 2 HITs are on MTurk") as failed:
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert "Re-run publish" in str(failed.value)
    batch.refresh_from_db()
    second.refresh_from_db()
    assert batch.state == HitBatch.State.PUBLISHING  # not published while a HIT id is missing
    assert second.hit_id is None and second.create_attempts == 1 and "internal error" in second.last_error
    assert Spend.objects.get(hit=second).state == Spend.State.RESERVED  # outcome unknown: stays reserved

    # Re-run: same token; MTurk answers with the duplicate-token error quoting the existing HIT id.
    existing = "3SECONDHITXXXXXXXXXXXXXXXXXXXX"
    stub.add_client_error(
        "create_hit_with_hit_type",
        service_error_code="RequestError",
        service_message=f'The HIT with ID "{existing}" already exists for this UniqueRequestToken.',
        http_status_code=400,
        modeled_fields={"TurkErrorCode": "AWS.MechanicalTurk.HitAlreadyExists"},
        expected_params={
            "HITTypeId": HIT_TYPE_ID,
            "MaxAssignments": 9,
            "LifetimeInSeconds": batch.lifetime_s,
            "Question": stubs.ANY,
            "RequesterAnnotation": second.request_token,
            "UniqueRequestToken": second.request_token,
        },
    )
    stub.add_response(
        "get_hit",
        {"HIT": stubs.hit(hit_id=existing, annotation=second.request_token)},
        expected_params={"HITId": existing},
    )
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))

    assert [h.pk for h in report.recovered] == [second.pk] and report.already_published == 1
    second.refresh_from_db()
    batch.refresh_from_db()
    assert (second.hit_id, second.state, second.create_attempts) == (existing, HitState.CREATED, 2)
    assert batch.state == HitBatch.State.PUBLISHED
    assert Spend.objects.get(hit=second).state == Spend.State.COMMITTED
    assert Hit.objects.filter(batch=batch, hit_id__isnull=False).count() == 2


def test_duplicate_token_without_an_id_in_the_message_is_resolved_by_annotation(mturk_stub):
    batch = make_batch(n_assignments=9)
    hit = batch.hits.get()
    batch.hit_type_id = HIT_TYPE_ID
    batch.exclude_returning_workers = False
    batch.save()
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "create_hit_with_hit_type",
        service_error_code="RequestError",
        service_message="There is already a HIT created with this UniqueRequestToken.",
    )
    stub.add_response(
        "list_hits", {"HITs": [stubs.hit(hit_id=stubs.new_id(), annotation="someone else")], "NextToken": "p2"}
    )
    stub.add_response(
        "list_hits", {"HITs": [stubs.hit(hit_id="3FOUNDXXXXXXXXXXXXXXXXXXXXXXX", annotation=hit.request_token)]}
    )
    publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    hit.refresh_from_db()
    assert hit.hit_id == "3FOUNDXXXXXXXXXXXXXXXXXXXXXXX"


def test_after_24_hours_the_hit_is_searched_for_before_creating_again(mturk_stub):
    """MTurk forgets UniqueRequestTokens after 24 h, so the token alone no longer protects us."""
    batch = make_batch(n_assignments=9, exclude_returning_workers=False)
    batch.hit_type_id, batch.state = HIT_TYPE_ID, HitBatch.State.PUBLISHING
    batch.save()
    hit = batch.hits.get()
    Hit.objects.filter(pk=hit.pk).update(create_attempts=1, first_attempt_at=timezone.now() - dt.timedelta(hours=30))
    mturk_stub.sandbox.add_response(
        "list_hits", {"HITs": [stubs.hit(hit_id="3LATEXXXXXXXXXXXXXXXXXXXXXXXXX", annotation=hit.request_token)]}
    )
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert len(report.recovered) == 1
    assert not MTurkCall.objects.filter(operation="CreateHITWithHITType").exists()


def test_a_refused_hit_releases_its_reservation_and_is_retried_on_the_next_run(mturk_stub):
    batch = make_batch(n_assignments=9, exclude_returning_workers=False)
    batch.hit_type_id = HIT_TYPE_ID
    batch.save()
    hit = batch.hits.get()
    mturk_stub.sandbox.add_client_error(
        "create_hit_with_hit_type",
        service_error_code="RequestError",
        service_message="This Requester has insufficient funds in their account to complete this transaction.",
    )
    with pytest.raises(PublishError, match="insufficient funds"):
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    hit.refresh_from_db()
    assert hit.state == HitState.FAILED
    assert Spend.objects.get(hit=hit).state == Spend.State.RELEASED
    expect_create(mturk_stub.sandbox, batch, hit, "3RETRIEDXXXXXXXXXXXXXXXXXXXXXX")
    publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    hit.refresh_from_db()
    assert hit.state == HitState.CREATED and Spend.objects.get(hit=hit).state == Spend.State.COMMITTED


def test_the_spending_cap_refuses_before_any_call(mturk_stub):
    study = MTurkStudyFactory(spending_cap=Decimal("30.00"))
    batch = make_batch(study, n_assignments=20)  # $36.00 with fees
    with pytest.raises(SpendingCapExceeded, match=r"has \$30\.00 left of its \$30\.00 sandbox spending cap"):
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert not MTurkCall.objects.exists() and not Spend.objects.exists()
    batch.refresh_from_db()
    assert batch.state == HitBatch.State.DRAFT


def test_the_cap_counts_planned_bonuses_and_each_marketplace_separately(mturk_stub):
    study = MTurkStudyFactory(spending_cap=Decimal("40.00"))
    bonus_batch = make_batch(study, n_assignments=20, planned_bonus_per_assignment=Decimal("0.25"))  # $42.00
    with pytest.raises(SpendingCapExceeded):
        publish_batch(batch=bonus_batch, mturk=open_mturk(mode="sandbox"))
    # Spending in the sandbox does not eat the live budget.
    sandbox = make_batch(study, n_assignments=9, exclude_returning_workers=False)
    sandbox.hit_type_id = HIT_TYPE_ID
    sandbox.save()
    expect_create(mturk_stub.sandbox, sandbox, sandbox.hits.get(), stubs.new_id())
    publish_batch(batch=sandbox, mturk=open_mturk(mode="sandbox"))
    from mturk.selectors import spending

    assert spending(study=study, mode=Mode.SANDBOX).committed == Decimal("16.20")
    assert spending(study=study, mode=Mode.LIVE).remaining == Decimal("40.00")


def test_live_publishing_needs_confirmation_and_the_matching_client(mturk_stub):
    batch = make_batch(mode=Mode.LIVE, n_assignments=9, require_masters=True)
    with pytest.raises(ValueError, match="live batch but the client talks to sandbox"):
        publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"), confirm_live=True)
    with pytest.raises(LiveModeNotConfirmed):
        publish_batch(batch=batch, mturk=open_mturk(mode="live", confirm_live=True), confirm_live=False)
    assert not MTurkCall.objects.exists()

    expect_setup(mturk_stub.live, batch, masters_id="2F1QJWKUDD8XADTFD2Q0G6UTO95ALH")
    expect_create(mturk_stub.live, batch, batch.hits.get(), stubs.new_id())
    publish_batch(batch=batch, mturk=open_mturk(mode="live", confirm_live=True), confirm_live=True, actor="pi")
    batch.refresh_from_db()
    assert batch.live_confirmed_by == "pi" and batch.live_confirmed_at is not None
    assert set(MTurkCall.objects.values_list("endpoint", flat=True)) == {
        "https://mturk-requester.us-east-1.amazonaws.com"
    }


def test_a_live_batch_cannot_leave_draft_without_confirmation_at_the_database_level():
    batch = make_batch(mode=Mode.LIVE)
    batch.state = HitBatch.State.PUBLISHING
    with pytest.raises(ValidationError, match="explicit live confirmation"):
        batch.full_clean()


def test_after_24_hours_a_hit_that_was_never_created_is_created_with_its_token(mturk_stub):
    batch = make_batch(n_assignments=9, exclude_returning_workers=False)
    batch.hit_type_id, batch.state = HIT_TYPE_ID, HitBatch.State.PUBLISHING
    batch.save()
    hit = batch.hits.get()
    Hit.objects.filter(pk=hit.pk).update(create_attempts=1, first_attempt_at=timezone.now() - dt.timedelta(hours=30))
    hit.refresh_from_db()
    mturk_stub.sandbox.add_response("list_hits", {"HITs": []})
    expect_create(mturk_stub.sandbox, batch, hit, "3NEWXXXXXXXXXXXXXXXXXXXXXXXXXX")
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    hit.refresh_from_db()
    assert len(report.created) == 1 and hit.create_attempts == 2
