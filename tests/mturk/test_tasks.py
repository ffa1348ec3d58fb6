"""Celery tasks: the beat sync and the background exclusion grant (run eagerly against stubbed clients)."""

import pytest
from celery.exceptions import Retry

from mturk.models import ExclusionQualification, MTurkCall, QualificationGrant
from mturk.modes import Mode
from mturk.tasks import grant_exclusion_qualification, sync_published_batches
from tests.factories.mturk import MTurkStudyFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db

QUAL = "3QUALXXXXXXXXXXXXXXXXXXXXXXXXX"


def test_beat_sync_covers_every_marketplace_in_use(mturk_stub):
    sandbox = publish_rows(make_batch(mode=Mode.SANDBOX))
    live = publish_rows(make_batch(mode=Mode.LIVE))
    make_batch(mode=Mode.SANDBOX)  # a draft: nothing to sync
    for stub, batch in ((mturk_stub.live, live), (mturk_stub.sandbox, sandbox)):
        hit = batch.hits.get()
        stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=hit.hit_id)]})
        stub.add_response("list_assignments_for_hit", {"Assignments": []})
    summary = sync_published_batches.delay().get()
    assert set(summary) == {"sandbox", "live"}
    assert summary["live"]["hits_updated"] == 1 and summary["sandbox"]["grants_resent"] == 0
    assert set(MTurkCall.objects.values_list("actor", flat=True)) == {"celery beat: sync"}


def _grant():
    exclusion = ExclusionQualification.objects.create(
        study=MTurkStudyFactory(), mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL
    )
    return QualificationGrant.objects.create(exclusion=exclusion, worker_id="A1WORKER")


def test_grant_task_records_a_refusal_without_failing(mturk_stub):
    grant = _grant()
    mturk_stub.sandbox.add_client_error(
        "associate_qualification_with_worker", service_error_code="RequestError", service_message="No such worker"
    )
    assert grant_exclusion_qualification.apply(args=[grant.pk]).get() == "failed"


def test_grant_task_retries_when_the_outcome_is_unknown(mturk_stub):
    grant = _grant()
    mturk_stub.sandbox.add_client_error(
        "associate_qualification_with_worker",
        service_error_code="ServiceFault",
        service_message="x",
        http_status_code=500,
    )
    with pytest.raises(Retry, match="Retry in"):
        grant_exclusion_qualification.apply(args=[grant.pk]).get()
    grant.refresh_from_db()
    assert grant.state == QualificationGrant.State.PENDING and grant.attempts == 1
    mturk_stub.sandbox.add_response("associate_qualification_with_worker", {})
    assert grant_exclusion_qualification.apply(args=[grant.pk]).get() == "granted"  # the retry
    grant.refresh_from_db()
    assert grant.state == QualificationGrant.State.GRANTED and grant.attempts == 2
