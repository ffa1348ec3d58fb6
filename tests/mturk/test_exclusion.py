"""The per-study exclusion qualification: granted when a worker starts, checked in our database at once."""

import pytest

from mturk.models import ExclusionQualification, MTurkCall, QualificationGrant
from mturk.modes import Mode
from mturk.selectors import worker_has_taken_part
from mturk.services.audit import open_mturk
from mturk.services.qualifications import ensure_exclusion_qualification, exclusion_name
from mturk.services.scheduling import record_worker_start
from tests.factories.mturk import MTurkStudyFactory

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit dispatch of the grant task

QUAL = "3QUALXXXXXXXXXXXXXXXXXXXXXXXXX"


def test_a_starting_worker_is_excluded_at_once_and_granted_the_qualification(mturk_stub):
    study = MTurkStudyFactory()
    ExclusionQualification.objects.create(study=study, mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL)
    mturk_stub.sandbox.add_response(
        "associate_qualification_with_worker",
        {},
        expected_params={
            "QualificationTypeId": QUAL,
            "WorkerId": "A1NEWWORKER",
            "IntegerValue": 1,
            "SendNotification": False,
        },
    )
    assert not worker_has_taken_part(study=study, mode=Mode.SANDBOX, worker_id="A1NEWWORKER")
    record_worker_start(study=study, mode=Mode.SANDBOX, worker_id="A1NEWWORKER")  # task runs eagerly on commit
    assert worker_has_taken_part(study=study, mode=Mode.SANDBOX, worker_id="A1NEWWORKER")
    assert not worker_has_taken_part(study=study, mode=Mode.LIVE, worker_id="A1NEWWORKER")
    assert QualificationGrant.objects.get().state == QualificationGrant.State.GRANTED
    record_worker_start(study=study, mode=Mode.SANDBOX, worker_id="A1NEWWORKER")  # resuming: no second grant
    assert MTurkCall.objects.filter(operation="AssociateQualificationWithWorker").count() == 1


def test_no_exclusion_qualification_means_nothing_to_grant(mturk_stub):
    assert record_worker_start(study=MTurkStudyFactory(), mode=Mode.SANDBOX, worker_id="A1") is None


def test_an_exclusion_created_by_a_crashed_run_is_found_by_name(mturk_stub):
    study = MTurkStudyFactory()
    stub = mturk_stub.sandbox
    stub.add_client_error(
        "create_qualification_type",
        service_error_code="RequestError",
        service_message="You have already created a QualificationType with this name.",
    )
    stub.add_response(
        "list_qualification_types",
        {"QualificationTypes": [{"QualificationTypeId": QUAL, "Name": exclusion_name(study)}]},
        expected_params={
            "Query": exclusion_name(study),
            "MustBeRequestable": False,
            "MustBeOwnedByCaller": True,
            "MaxResults": 100,
        },
    )
    exclusion = ensure_exclusion_qualification(study=study, mturk=open_mturk(mode="sandbox"))
    assert exclusion.qualification_type_id == QUAL
    assert ensure_exclusion_qualification(study=study, mturk=open_mturk(mode="sandbox")) == exclusion


def test_a_refused_grant_is_recorded(mturk_stub):
    study = MTurkStudyFactory()
    ExclusionQualification.objects.create(study=study, mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL)
    mturk_stub.sandbox.add_client_error(
        "associate_qualification_with_worker",
        service_error_code="RequestError",
        service_message="Worker does not exist",
    )
    record_worker_start(study=study, mode=Mode.SANDBOX, worker_id="A1GHOST")  # never breaks the worker's page
    grant = QualificationGrant.objects.get()
    assert grant.state == QualificationGrant.State.FAILED and "does not exist" in grant.error
    # The worker still counts as having taken part: our own row is the authority.
    assert worker_has_taken_part(study=study, mode=Mode.SANDBOX, worker_id="A1GHOST")


def test_the_sync_resends_grants_that_are_still_pending(mturk_stub):
    import datetime as dt

    from django.utils import timezone

    from mturk.services.qualifications import resend_pending_grants

    study = MTurkStudyFactory()
    exclusion = ExclusionQualification.objects.create(
        study=study, mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL
    )
    grant = QualificationGrant.objects.create(exclusion=exclusion, worker_id="A1LOST")
    QualificationGrant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    QualificationGrant.objects.create(exclusion=exclusion, worker_id="A2JUSTNOW")  # its task is still in flight
    mturk_stub.sandbox.add_response(
        "associate_qualification_with_worker",
        {},
        expected_params={
            "QualificationTypeId": QUAL,
            "WorkerId": "A1LOST",
            "IntegerValue": 1,
            "SendNotification": False,
        },
    )
    assert resend_pending_grants(mturk=open_mturk(mode="sandbox")) == 1
    grant.refresh_from_db()
    assert grant.state == QualificationGrant.State.GRANTED
