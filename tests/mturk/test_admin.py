"""Admin pages load, and review actions go through an intermediate form before anything reaches MTurk."""

import pytest

from mturk.models import AssignmentStatus, Bonus, HitBatch, MTurkCall, WorkerBlock
from tests.factories.mturk import MTurkAssignmentFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db

MODELS = [
    "mturkstudy", "hitbatch", "mturkassignment", "mturkcall", "spend", "bonus", "workerblock", "hit",
    "exclusionqualification", "qualificationgrant", "discrepancy", "reviewsuggestion", "mturkentry",
]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load(staff_client, model):
    MTurkAssignmentFactory()
    assert staff_client.get(f"/admin/mturk/{model}/").status_code == 200


def test_batch_page_shows_the_estimate(staff_client):
    batch = make_batch(n_assignments=20)
    page = staff_client.get(f"/admin/mturk/hitbatch/{batch.pk}/change/").content.decode()
    assert "total     $36.00" in page and "20 %" in page


def _post_action(staff_client, model, action, pks, *, follow=False, **data):
    return staff_client.post(
        f"/admin/mturk/{model}/", {"action": action, "_selected_action": pks, **data}, follow=follow
    )


def test_reject_action_asks_for_a_reason_first(staff_client, mturk_stub):
    assignment = MTurkAssignmentFactory()
    page = _post_action(staff_client, "mturkassignment", "reject", [assignment.pk])
    assert page.status_code == 200 and b"Shown to the worker" in page.content
    assert not MTurkCall.objects.exists()
    blank = _post_action(staff_client, "mturkassignment", "reject", [assignment.pk], apply="1", reason="")
    assert b"This field is required" in blank.content
    mturk_stub.sandbox.add_response(
        "reject_assignment",
        {},
        expected_params={"AssignmentId": assignment.assignment_id, "RequesterFeedback": "Random clicking"},
    )
    done = _post_action(staff_client, "mturkassignment", "reject", [assignment.pk], apply="1", reason="Random clicking")
    assert done.status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.REJECTED


def test_bonus_action_pays_then_approves(staff_client, mturk_stub):
    assignment = MTurkAssignmentFactory()
    mturk_stub.sandbox.add_response("send_bonus", {})
    mturk_stub.sandbox.add_response("approve_assignment", {})
    _post_action(
        staff_client,
        "mturkassignment",
        "bonus",
        [assignment.pk],
        apply="1",
        amount="0.40",
        reason="Thanks",
        approve="on",
    )
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.APPROVED and Bonus.objects.get().state == "sent"


def test_block_action_asks_for_a_reason_then_blocks_the_worker(staff_client, mturk_stub):
    assignment = MTurkAssignmentFactory()
    page = _post_action(staff_client, "mturkassignment", "block", [assignment.pk])
    assert page.status_code == 200 and b"Block workers" in page.content and not MTurkCall.objects.exists()
    mturk_stub.sandbox.add_response(
        "create_worker_block", {}, expected_params={"WorkerId": assignment.worker_id, "Reason": "Bot answers"}
    )
    done = _post_action(staff_client, "mturkassignment", "block", [assignment.pk], apply="1", reason="Bot answers")
    assert done.status_code == 302
    assert WorkerBlock.objects.get(worker_id=assignment.worker_id).state == WorkerBlock.State.BLOCKED


def test_suggest_rejections_action_validates_its_threshold_and_sends_nothing(staff_client):
    batch = make_batch()
    bad = _post_action(staff_client, "hitbatch", "suggest_rejections", [batch.pk], apply="1", min_pass_rate="2")
    assert bad.status_code == 200 and b"Suggest rejections" in bad.content
    assert b"less than or equal to 1" in bad.content
    done = _post_action(
        staff_client, "hitbatch", "suggest_rejections", [batch.pk], apply="1", min_pass_rate="0.8", follow=True
    )
    assert b"0 new suggestion(s)" in done.content and not MTurkCall.objects.exists()


def test_live_actions_need_the_confirmation_box(staff_client, mturk_stub):
    batch = publish_rows(make_batch(mode="live"))
    assignment = MTurkAssignmentFactory(hit=batch.hits.get())
    page = _post_action(staff_client, "mturkassignment", "approve", [assignment.pk], apply="1")
    assert b"confirm to continue" in page.content and not MTurkCall.objects.exists()
    mturk_stub.live.add_response("approve_assignment", {})
    _post_action(staff_client, "mturkassignment", "approve", [assignment.pk], apply="1", confirm_live="on")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.APPROVED
    assert MTurkCall.objects.get().endpoint == "https://mturk-requester.us-east-1.amazonaws.com"


def test_publish_action(staff_client, mturk_stub):
    batch = make_batch(n_assignments=2, exclude_returning_workers=False)
    stub = mturk_stub.sandbox
    stub.add_response("get_account_balance", {"AvailableBalance": "10000.00"})
    stub.add_response("create_hit_type", {"HITTypeId": "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"})
    stub.add_response(
        "create_hit_with_hit_type", {"HIT": stubs.hit(hit_id="3ADMINHITXXXXXXXXXXXXXXXXXXXXX", max_assignments=2)}
    )
    response = _post_action(staff_client, "hitbatch", "publish", [batch.pk], apply="1")
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.state == HitBatch.State.PUBLISHED


def test_adding_a_batch_in_the_admin_creates_its_hit_rows_and_checks_the_url(staff_client):
    from tests.factories.mturk import MTurkStudyFactory

    study = MTurkStudyFactory()
    form = {
        "study": study.pk, "mode": "live", "task_url": "https://localhost/mturk/e/x/", "frame_height": 800,
        "title": "t", "description": "d", "keywords": "", "reward": "1.00", "assignment_duration_s": 3600,
        "auto_approval_delay_s": 3600, "lifetime_s": 86400, "n_assignments": 20, "max_assignments_per_hit": 9,
        "planned_bonus_per_assignment": "0.00", "locales": "[]", "exclude_returning_workers": "on",
        "hits-TOTAL_FORMS": "0", "hits-INITIAL_FORMS": "0",
    }  # fmt: skip
    refused = staff_client.post("/admin/mturk/hitbatch/add/", form)
    assert refused.status_code == 200 and b"Live workers cannot reach" in refused.content
    added = staff_client.post(
        "/admin/mturk/hitbatch/add/", {**form, "task_url": "https://mvfit.example.org/mturk/e/x/"}
    )
    assert added.status_code == 302
    batch = HitBatch.objects.get()
    assert [h.max_assignments for h in batch.hits.all()] == [9, 9, 2] and batch.created_by == "experimenter"
