"""Rules suggest rejections from attention checks; only the experimenter's confirmation carries them out."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from experiments.models import Response, Trial
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from mturk.models import AssignmentStatus, MTurkCall, ReviewSuggestion
from mturk.rules import CatchScore, suggest_rejections
from mturk.services import review, suggestions
from mturk.services.audit import open_mturk
from mturk.services.experiments import create_batch_for_experiment
from tests.factories.experiments import make_experiment
from tests.factories.mturk import MTurkAssignmentFactory, publish_rows

pytestmark = pytest.mark.django_db


def test_rule_suggests_only_below_the_threshold_and_only_with_evidence():
    scores = [
        CatchScore(worker_id="W1", assignment_id="A1", passed=1, total=4),
        CatchScore(worker_id="W2", assignment_id="A2", passed=4, total=4),
        CatchScore(worker_id="W3", assignment_id="A3", passed=0, total=0),
    ]
    found = suggest_rejections(scores, min_pass_rate=0.8)
    assert [s.worker_id for s in found] == ["W1"]
    assert "1 of 4 attention checks" in found[0].reason and "80%" in found[0].reason
    with pytest.raises(ValueError, match="fraction"):
        suggest_rejections(scores, min_pass_rate=80)


@pytest.fixture
def batch_with_checked_work():
    experiment = open_experiment(
        experiment=make_experiment(slug="checks", trials_per_assignment=3, catch_trials_per_assignment=1),
        allow_unrendered=True,
    )
    batch = publish_rows(
        create_batch_for_experiment(
            experiment=experiment, mode="sandbox", reward=Decimal("1"), spending_cap=Decimal("99")
        )
    )
    hit = batch.hits.first()
    for worker, passed in (("A1CARELESS", False), ("A2CAREFUL", True)):
        assignment_id = f"3{worker}ASG".ljust(30, "X")
        participant = enter_via_mturk(
            experiment=experiment, worker_id=worker, assignment_id=assignment_id, hit_id=hit.hit_id
        )
        work = allocate_assignment(participant=participant)
        catch_trial = Trial.objects.filter(bundle=work.bundle, catch__isnull=False).first()
        Response.objects.create(
            assignment=work,
            trial=catch_trial,
            idempotency_key=f"k-{worker}",
            rating=4,
            is_catch=True,
            catch_passed=passed,
        )
        MTurkAssignmentFactory(hit=hit, assignment_id=assignment_id, worker_id=worker)
    return batch


def test_suggestions_come_from_the_experiments_attention_checks(batch_with_checked_work, mturk_stub):
    created = suggestions.suggest_for_batch(batch=batch_with_checked_work, min_pass_rate=0.5)
    assert [s.assignment.worker_id for s in created] == ["A1CARELESS"]
    assert suggestions.suggest_for_batch(batch=batch_with_checked_work, min_pass_rate=0.5) == []  # no duplicates
    assert not MTurkCall.objects.exists()  # suggesting never talks to MTurk

    with pytest.raises(review.ReviewError, match="experimenter confirms"):
        suggestions.confirm(suggestions=created, mturk=open_mturk(mode="sandbox"), actor="pi")
    assert created[0].assignment.status == AssignmentStatus.SUBMITTED

    mturk_stub.sandbox.add_response(
        "reject_assignment",
        {},
        expected_params={"AssignmentId": created[0].assignment.assignment_id, "RequesterFeedback": created[0].reason},
    )
    result = suggestions.confirm(suggestions=created, mturk=open_mturk(mode="sandbox"), actor="pi", confirmed=True)
    assert len(result.succeeded) == 1
    created[0].refresh_from_db()
    created[0].assignment.refresh_from_db()
    assert created[0].state == ReviewSuggestion.State.CONFIRMED and created[0].decided_by == "pi"
    assert created[0].assignment.status == AssignmentStatus.REJECTED


def test_suggest_and_confirm_commands(batch_with_checked_work, mturk_stub):
    from io import StringIO

    out = StringIO()
    call_command(
        "mturk_review", "suggest", "--batch", str(batch_with_checked_work.pk), "--min-pass-rate", "0.5", stdout=out
    )
    assert "1 pending suggestion(s)" in out.getvalue() and "A1CARELESS" in out.getvalue()
    mturk_stub.sandbox.add_response("reject_assignment", {})
    out = StringIO()
    call_command("mturk_review", "confirm-suggestions", "--batch", str(batch_with_checked_work.pk), stdout=out)
    assert "rejected 1" in out.getvalue()


def test_dismissed_suggestions_are_never_carried_out(batch_with_checked_work, staff_client):
    (suggestion,) = suggestions.suggest_for_batch(batch=batch_with_checked_work, min_pass_rate=0.5)
    staff_client.post("/admin/mturk/reviewsuggestion/", {"action": "dismiss", "_selected_action": [suggestion.pk]})
    suggestion.refresh_from_db()
    assert suggestion.state == ReviewSuggestion.State.DISMISSED
    page = staff_client.post(
        "/admin/mturk/reviewsuggestion/", {"action": "confirm", "_selected_action": [suggestion.pk], "apply": "1"}
    )
    assert page.status_code == 302 and not MTurkCall.objects.exists()


def test_suggestions_api_requires_an_explicit_confirmation(batch_with_checked_work, staff_client, mturk_stub):
    url = f"/api/mturk/batches/{batch_with_checked_work.pk}/suggest/"
    (created,) = staff_client.post(url, {"min_pass_rate": 0.5}, content_type="application/json").json()
    assert created["worker_id"] == "A1CARELESS" and created["state"] == "pending"
    refused = staff_client.post(
        "/api/mturk/suggestions/confirm/", {"ids": [created["id"]], "confirmed": False}, content_type="application/json"
    )
    assert refused.status_code == 400 and not MTurkCall.objects.exists()
    mturk_stub.sandbox.add_response("reject_assignment", {})
    done = staff_client.post(
        "/api/mturk/suggestions/confirm/", {"ids": [created["id"]], "confirmed": True}, content_type="application/json"
    )
    assert done.json() == {"confirmed": [created["id"]], "failed": []}
