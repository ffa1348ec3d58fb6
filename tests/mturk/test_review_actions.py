"""One review policy for the admin, the API and the command: the selection, the one-marketplace rule and
the action dispatch live in ``services.review_actions``; each adapter only parses its input."""

import pytest
from django.core.management import CommandError, call_command

from mturk.models import AssignmentStatus, Discrepancy, HitBatch, MTurkCall
from mturk.services import review_actions
from mturk.services.reconciliation import resolve_discrepancies
from mturk.services.review import ReviewError
from mturk.services.review_actions import Action, Decision
from tests.factories.mturk import MTurkAssignmentFactory, make_batch, publish_rows

pytestmark = pytest.mark.django_db


def _hit(mode="sandbox"):
    return publish_rows(make_batch(mode=mode)).hits.get()


@pytest.fixture
def mixed():
    """One submitted assignment in each marketplace."""
    return MTurkAssignmentFactory(hit=_hit("sandbox")), MTurkAssignmentFactory(hit=_hit("live"))


def test_a_decision_is_checked_before_anything_is_sent():
    with pytest.raises(ReviewError, match="needs an amount"):
        Decision(action=Action.BONUS, reason="thanks")
    with pytest.raises(ReviewError, match="not an amount"):
        Decision(action="pay", amount="lots")
    with pytest.raises(ValueError):
        Decision(action="delete")
    assert Decision(action="pay").action is Action.PAY  # pay without a bonus only approves


def test_a_mixed_selection_is_refused_before_any_call(mixed, mturk_stub):
    with pytest.raises(ReviewError, match="mixes sandbox and live"):
        review_actions.review_assignments(
            assignments=list(mixed), decision=Decision(action="approve"), confirm_live=True, actor="t"
        )
    assert not MTurkCall.objects.exists()
    assert (
        review_actions.review_assignments(
            assignments=[], decision=Decision(action="approve"), confirm_live=False, actor="t"
        ).succeeded
        == []
    )


def test_selection_by_id_names_unknown_ids_and_by_batch_takes_the_submitted(mturk_stub):
    hit = _hit()
    submitted = MTurkAssignmentFactory(hit=hit)
    MTurkAssignmentFactory(hit=hit, status=AssignmentStatus.APPROVED)
    with pytest.raises(review_actions.UnknownAssignments) as refused:
        review_actions.select_assignments(assignment_ids=[submitted.assignment_id, "3NOSUCH", "3NOSUCH"])
    assert refused.value.missing == ["3NOSUCH"]
    assert review_actions.select_assignments(assignment_ids=[submitted.assignment_id] * 2) == [submitted]
    assert review_actions.select_assignments(batch=hit.batch) == [submitted]
    with pytest.raises(ReviewError, match="Select assignments"):
        review_actions.select_assignments()


def test_the_api_bulk_endpoint_applies_the_same_rules(staff_client, mixed, mturk_stub):
    url = "/api/mturk/assignments/bulk/"
    ids = [a.assignment_id for a in mixed]
    response = staff_client.post(
        url, {"action": "approve", "assignment_ids": ids, "confirm_live": True}, content_type="application/json"
    )
    assert response.status_code == 400 and "mixes sandbox and live" in response.json()["detail"]
    response = staff_client.post(
        url, {"action": "approve", "assignment_ids": [*ids, "3NOSUCH"]}, content_type="application/json"
    )
    assert response.status_code == 404 and "3NOSUCH" in response.json()["detail"]
    response = staff_client.post(url, {"action": "bonus", "assignment_ids": ids[:1]}, content_type="application/json")
    assert response.status_code == 400 and "needs an amount" in response.json()["detail"]
    assert not MTurkCall.objects.exists()


def test_the_admin_applies_the_same_rules(staff_client, mixed, mturk_stub):
    response = staff_client.post(
        "/admin/mturk/mturkassignment/",
        {"action": "approve", "_selected_action": [a.pk for a in mixed], "apply": "1", "confirm_live": "on"},
        follow=True,
    )
    assert b"mixes sandbox and live" in response.content and not MTurkCall.objects.exists()


def test_the_command_applies_the_same_rules(mixed, mturk_stub):
    with pytest.raises(CommandError, match="mixes sandbox and live"):
        call_command("mturk_review", "approve", *[f"--assignment={a.assignment_id}" for a in mixed], "--confirm-live")
    with pytest.raises(CommandError, match="needs an amount"):
        call_command("mturk_review", "bonus", f"--assignment={mixed[0].assignment_id}", "--reason=thanks")
    assert not MTurkCall.objects.exists()
    mturk_stub.sandbox.add_response("approve_assignment", {})
    call_command("mturk_review", "pay", f"--assignment={mixed[0].assignment_id}")  # no bonus: approve only
    mixed[0].refresh_from_db()
    assert mixed[0].status == AssignmentStatus.APPROVED


def test_changing_a_draft_in_the_admin_goes_through_the_service(staff_client):
    batch = make_batch(n_assignments=9)
    assert [h.max_assignments for h in batch.hits.all()] == [9]
    form = {
        "study": batch.study_id, "mode": "sandbox", "task_url": batch.task_url, "frame_height": 800,
        "title": "t", "description": "d", "keywords": "", "reward": "1.00", "assignment_duration_s": 3600,
        "auto_approval_delay_s": 3600, "lifetime_s": 86400, "n_assignments": 20, "max_assignments_per_hit": 9,
        "planned_bonus_per_assignment": "0.00", "locales": '["US"]', "exclude_returning_workers": "on",
        "hits-TOTAL_FORMS": "0", "hits-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = staff_client.post(f"/admin/mturk/hitbatch/{batch.pk}/change/", form)
    assert response.status_code == 302, response.content[-2000:]
    batch.refresh_from_db()
    assert batch.n_assignments == 20 and [h.max_assignments for h in batch.hits.order_by("index")] == [9, 9, 2]
    assert HitBatch.objects.count() == 1


def test_resolving_a_discrepancy_by_hand_is_recorded_and_sticks(staff_client, mturk_stub):
    batch = _hit().batch
    found = Discrepancy.objects.create(batch=batch, kind="submitted_unknown", worker_id="W1", assignment_id="3A")
    form = staff_client.post("/admin/mturk/discrepancy/", {"action": "mark_resolved", "_selected_action": [found.pk]})
    assert form.status_code == 200 and b"Resolve discrepancies" in form.content
    staff_client.post(
        "/admin/mturk/discrepancy/",
        {"action": "mark_resolved", "_selected_action": [found.pk], "apply": "1", "note": "paid by bonus"},
    )
    found.refresh_from_db()
    assert (
        found.resolved_by == "experimenter" and found.resolution == "manually resolved by experimenter: paid by bonus"
    )
    assert resolve_discrepancies(discrepancies=[found], actor="someone else") == 0  # already resolved: kept as is
    found.refresh_from_db()
    assert found.resolved_by == "experimenter"


def test_a_live_hit_change_needs_the_confirmation(staff_client, mturk_stub):
    hit = _hit("live")
    response = staff_client.post(f"/api/mturk/hits/{hit.hit_id}/extend/", {"hours": 2}, content_type="application/json")
    assert response.status_code == 403 and not MTurkCall.objects.exists()
    response = staff_client.post(f"/api/mturk/hits/{hit.hit_id}/add/", {}, content_type="application/json")
    assert response.status_code == 400 and "add needs number" in response.json()["detail"]


def test_the_grant_task_retries_transient_errors_through_celery():
    from mturk.client import MTurkRequestError, MTurkThrottled, MTurkTransientError, MTurkUnavailable
    from mturk.tasks import grant_exclusion_qualification

    assert grant_exclusion_qualification.autoretry_for == (MTurkTransientError,)
    assert issubclass(MTurkThrottled, MTurkTransientError) and issubclass(MTurkUnavailable, MTurkTransientError)
    assert not issubclass(MTurkRequestError, MTurkTransientError)  # a refusal is final
    assert grant_exclusion_qualification.retry_jitter and grant_exclusion_qualification.max_retries == 6


def test_the_hit_command_uses_the_same_hit_changes(mturk_stub, capsys):
    hit = _hit()
    with pytest.raises(CommandError, match="extend needs hours"):
        call_command("mturk_hit", "extend", hit.hit_id)
    mturk_stub.sandbox.add_response("update_expiration_for_hit", {})
    call_command("mturk_hit", "extend", hit.hit_id, "--hours", "2")
    hit.refresh_from_db()
    assert f"HIT {hit.hit_id} now expires {hit.expiration:%Y-%m-%d %H:%M} UTC" in capsys.readouterr().out
    live = _hit("live")
    with pytest.raises(CommandError, match="confirm"):
        call_command("mturk_hit", "expire", live.hit_id)
    assert MTurkCall.objects.count() == 1


def test_the_admin_add_assignments_action_asks_then_adds(staff_client, mturk_stub):
    hit = publish_rows(make_batch(n_assignments=2)).hits.get()
    url, selected = "/admin/mturk/hit/", {"action": "add_assignments", "_selected_action": [hit.pk]}
    form = staff_client.post(url, selected)
    assert b'name="action" value="add_assignments"' in form.content and not MTurkCall.objects.exists()
    mturk_stub.sandbox.add_response("create_additional_assignments_for_hit", {})
    done = staff_client.post(url, {**selected, "apply": "1", "number": "3"}, follow=True)
    assert b"Extended 1" in done.content
    hit.refresh_from_db()
    assert hit.max_assignments == 5
