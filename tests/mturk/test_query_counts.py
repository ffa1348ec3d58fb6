"""Every mturk list (staff API and admin changelist) costs the same number of queries however many
rows it shows: measured with N rows of everything, then held as the bound with 2N rows."""

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from experiments.models import Participant, ParticipantSource
from mturk.models import (
    Bonus,
    Discrepancy,
    ExclusionQualification,
    MTurkCall,
    MTurkEntry,
    QualificationGrant,
    ReviewSuggestion,
    Spend,
    WorkerBlock,
)
from mturk.modes import Mode
from mturk.services import budget
from tests.factories.experiments import make_experiment
from tests.factories.mturk import MTurkAssignmentFactory, MTurkStudyFactory, make_batch, publish_rows

pytestmark = pytest.mark.django_db

API_LISTS = [
    "/api/mturk/studies/",
    "/api/mturk/batches/",
    "/api/mturk/assignments/",
    "/api/mturk/assignments/?status=Submitted",
    "/api/mturk/calls/",
    "/api/mturk/discrepancies/",
    "/api/mturk/discrepancies/?open=1",
    "/api/mturk/suggestions/",
    "/api/mturk/suggestions/?state=pending",
]
ADMIN_LISTS = [
    f"/admin/mturk/{model}/"
    for model in (
        "mturkstudy", "hitbatch", "hit", "mturkassignment", "reviewsuggestion", "mturkcall", "mturkentry",
        "spend", "bonus", "workerblock", "exclusionqualification", "qualificationgrant", "discrepancy",
    )
]  # fmt: skip
MOST_QUERIES = 12  # sessions, user, counts, filters and the page itself: a fixed cost, never one per row
serial = itertools.count()


def add_rows(n: int) -> None:
    """``n`` rows of every mturk list, each with the related rows its list shows (both marketplaces)."""
    experiment = make_experiment(slug=f"q{next(serial)}")
    for i in range(n):
        study = MTurkStudyFactory()
        mode = (Mode.SANDBOX, Mode.LIVE)[i % 2]
        batch = publish_rows(make_batch(study, mode=mode))
        hit = batch.hits.get()
        k = next(serial)
        assignment = MTurkAssignmentFactory(hit=hit, status=("Submitted", "Approved")[i % 2])
        spend = budget.reserve(study=study, mode=mode, kind=Spend.Kind.HIT, amount=Decimal("2.00"), hit=hit)
        budget.commit(spend=spend)
        Bonus.objects.create(assignment=assignment, worker_id=assignment.worker_id, amount=Decimal("0.50"), reason="x")
        ReviewSuggestion.objects.create(assignment=assignment, reason="failed checks", rule="catch < 0.8")
        Discrepancy.objects.create(
            batch=batch, kind=Discrepancy.Kind.SUBMITTED_UNKNOWN, worker_id=assignment.worker_id, assignment_id=f"A{k}"
        )
        MTurkCall.objects.create(
            operation="GetHIT", mode=mode, endpoint="x", request={}, duration_ms=1, started_at=timezone.now(),
            study=study, batch=batch,
        )  # fmt: skip
        WorkerBlock.objects.create(mode=mode, worker_id=f"W{k}", reason="bot")
        exclusion = ExclusionQualification.objects.create(
            study=study, mode=mode, name=f"q{k}", qualification_type_id=f"3Q{k:028d}"
        )
        QualificationGrant.objects.create(exclusion=exclusion, worker_id=assignment.worker_id)
        participant = Participant.objects.create(
            experiment=experiment, source=ParticipantSource.MTURK, worker_id=assignment.worker_id,
            assignment_id=assignment.assignment_id, hit_id=hit.hit_id, token=f"t{k}",
        )  # fmt: skip
        MTurkEntry.objects.create(participant=participant, hit=hit)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


@pytest.mark.parametrize("url", API_LISTS + ADMIN_LISTS)
def test_a_list_costs_the_same_queries_for_twice_the_rows(staff_client, django_assert_max_num_queries, url):
    add_rows(2)
    staff_client.get(url)  # warm: the session and content types are looked up once
    baseline = count_queries(staff_client, url)
    assert baseline <= MOST_QUERIES
    add_rows(2)
    with django_assert_max_num_queries(baseline):
        response = staff_client.get(url)
    if url.startswith("/api/"):
        body = response.json()
        assert len(body.get("results", body)) >= (2 if "?" in url else 4)  # the rows are on the page
