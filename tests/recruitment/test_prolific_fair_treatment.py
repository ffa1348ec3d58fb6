"""More of Prolific through its API against the fake server: review and bonuses killed between Prolific's
answer and our commit and re-run, asking to return, and exclusion groups pushed as a custom blocklist (and an
allowlist), the participant ids never in the audit log."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from experiments.services.exclusion import add_to_group, claim_groups
from recruitment import prolific_services as services
from recruitment.models import ProlificBonus, ProlificCall, ProlificSubmission
from recruitment.prolific_client import ProlificError
from tests.experiments.test_screening import study
from tests.recruitment.test_prolific_api import PID_A, PID_B, api, create, fake, posts  # noqa: F401

pytestmark = pytest.mark.django_db
PID_C = "c3" * 12


class Killed(BaseException):
    """The process dying between Prolific's answer and our commit."""


def dies_after(monkeypatch, obj, name):
    real = getattr(obj, name)

    def answered_then_killed(*args, **kwargs):
        real(*args, **kwargs)
        raise Killed(name)

    monkeypatch.setattr(obj, name, answered_then_killed)
    return real


@pytest.mark.parametrize("approve", [True, False])
def test_a_review_killed_before_our_commit_is_not_sent_twice(fake, api, monkeypatch, approve):  # noqa: F811
    made = create(study("none"), api)
    sid = fake.add_submission(made.study_id, PID_A)
    services.sync_submissions(study=made, api=api)
    row = ProlificSubmission.objects.get()
    reason = "Both attention checks asked for a stated answer and neither was chosen; see the instructions. " * 2
    real = dies_after(monkeypatch, api, "transition_submission")
    with pytest.raises(Killed):
        services.review(submission=row, api=api, approve=approve, message=reason, category="FAILED_CHECK")
    assert ProlificSubmission.objects.get().status == "AWAITING REVIEW"
    monkeypatch.setattr(api, "transition_submission", real)
    status = services.review(submission=row, api=api, approve=approve, message=reason, category="FAILED_CHECK")
    assert status == ("APPROVED" if approve else "REJECTED") == ProlificSubmission.objects.get().status
    assert len(posts(fake, f"/api/v1/submissions/{sid}/transition/")) == 1


def test_a_bonus_killed_after_payment_is_not_paid_again(fake, api, monkeypatch):  # noqa: F811
    made = create(study("none"), api, spending_cap_cents=10_000)
    fake.add_submission(made.study_id, PID_A)
    real = dies_after(monkeypatch, api, "pay_bonus")
    with pytest.raises(Killed):
        services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 60})
    assert fake.paid_cents == 60 and ProlificBonus.objects.get().state == ProlificBonus.State.CREATED
    monkeypatch.setattr(api, "pay_bonus", real)
    services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 60})
    assert fake.paid_cents == 60 and ProlificBonus.objects.get().state == ProlificBonus.State.PAID
    assert len(fake.bonuses) == 1


def test_asking_to_return_sends_the_reasons_once(fake, api):  # noqa: F811
    made = create(study("none"), api)
    sid = fake.add_submission(made.study_id, PID_A)
    done = fake.add_submission(made.study_id, PID_B, status="APPROVED")
    services.sync_submissions(study=made, api=api)
    row, approved = (
        ProlificSubmission.objects.get(submission_id=sid),
        ProlificSubmission.objects.get(submission_id=done),
    )
    with pytest.raises(ProlificError, match="at least one reason"):
        services.ask_to_return(submission=row, api=api, reasons=["  "])
    reasons = ["The sound check shows your device plays no audio."]
    assert services.ask_to_return(submission=row, api=api, reasons=reasons) is True
    assert fake.submissions[sid]["return_requested_reasons"] == reasons
    assert services.ask_to_return(submission=row, api=api, reasons=reasons) is False  # asked already
    assert services.ask_to_return(submission=approved, api=api, reasons=reasons) is False  # final
    assert len(posts(fake, f"/api/v1/submissions/{sid}/request-return/")) == 1
    assert not posts(fake, f"/api/v1/submissions/{done}/request-return/")


def test_exclusion_groups_become_a_custom_blocklist_and_an_allowlist_is_passed_on(fake, api):  # noqa: F811
    first, second = study("none", slug="wave-1"), study("none", slug="wave-2")
    add_to_group(name="music-fit", experiments=[first, second])
    claim_groups(experiment=first, worker_id=f"prolific:{PID_A}")
    claim_groups(experiment=first, worker_id="A1MTURKWORKER")  # another channel: not Prolific's to block
    claim_groups(experiment=second, worker_id=f"prolific:{PID_C}")  # took part in this very study
    made = create(second, api, allowlist=[PID_B.upper(), PID_A])
    remote = fake.studies[made.study_id]
    assert remote["filters"] == [
        {"filter_id": "custom_blocklist", "selected_values": [PID_A]},
        {"filter_id": "custom_allowlist", "selected_values": [PID_A, PID_B]},
    ]
    claim_groups(experiment=first, worker_id=f"prolific:{PID_B}")  # a later first-wave participant
    assert services.push_blocklist(study=made, api=api) == 2
    assert remote["filters"][0] == {"filter_id": "custom_allowlist", "selected_values": [PID_A, PID_B]}
    assert remote["filters"][1] == {"filter_id": "custom_blocklist", "selected_values": [PID_A, PID_B]}
    services.push_blocklist(study=made, api=api)  # nothing changed: nothing sent
    assert len([r for r in fake.requests if r[0] == "PATCH"]) == 1
    logged = " ".join(str(c.request) + str(c.response) for c in ProlificCall.objects.all())
    assert PID_A not in logged and PID_B not in logged
    with pytest.raises(ProlificError, match="24 hex digits"):
        services.study_filters(experiment=second, allowlist=["not-an-id"])


def test_the_command_asks_to_return_and_pushes_the_blocklist(fake, api, capsys):  # noqa: F811
    experiment = study("none")
    made = create(experiment, api)
    sid = fake.add_submission(made.study_id, PID_A)
    call_command("prolific", "sync", experiment.slug)
    call_command("prolific", "return", experiment.slug, "--submission", sid, "--reason", "No audio on your device.")
    call_command("prolific", "blocklist", experiment.slug)
    out = capsys.readouterr().out
    assert f"{sid}: asked to return" in out and "0 participant(s) on the study's blocklist" in out


def test_finishers_below_the_attention_pass_rate_return_with_the_failed_attention_code():
    from experiments.models import Response
    from experiments.services.allocation import allocate_assignment
    from recruitment.prolific import enter_via_prolific, exit_url, register_study
    from tests.experiments.test_allocation import answer_all, open_study

    experiment = open_study(catch_trials_per_assignment=2)
    study_id = "7d" * 12
    register_study(
        experiment=experiment, study_id=study_id, completion_code="DONE1", screened_out_code="OUT1",
        failed_attention_code="ATTN1",
    )  # fmt: skip
    codes = {}
    for pid, passed in ((PID_A, [True, True]), (PID_B, [True, False])):
        query = {"PROLIFIC_PID": pid, "STUDY_ID": study_id, "SESSION_ID": "s"}
        participant = enter_via_prolific(experiment=experiment, query=query).participant
        assignment = allocate_assignment(participant=participant)
        answer_all(assignment)
        catches = Response.objects.filter(assignment=assignment, is_catch=True).order_by("pk")
        for response, ok in zip(catches, passed, strict=True):
            Response.objects.filter(pk=response.pk).update(catch_passed=ok)
        codes[pid] = exit_url(entry=participant.prolific_entry, screened_out=False).rsplit("=", 1)[1]
    assert codes == {PID_A: "DONE1", PID_B: "ATTN1"}  # 1 of 2 is below 80 %
    assert exit_url(entry=participant.prolific_entry, screened_out=True).endswith("cc=OUT1")
