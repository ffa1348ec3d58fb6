"""Driving Prolific through its API, against a real local fake Prolific server on loopback: studies,
publishing under a spending cap, submissions, review, bonuses and messages — every step safe to re-run
after a crash between Prolific's answer and our commit, every call audited without participant ids."""

from __future__ import annotations

import pytest

from recruitment import prolific_services as services
from recruitment.models import ProlificBonus, ProlificCall, ProlificStudy, ProlificSubmission
from recruitment.prolific_client import ProlificClient, ProlificError
from tests.experiments.test_screening import study
from tests.support.fake_prolific import TOKEN, FakeProlific

pytestmark = pytest.mark.django_db
PID_A, PID_B = "a1" * 12, "b2" * 12


@pytest.fixture
def fake():
    server = FakeProlific()
    yield server
    server.stop()


@pytest.fixture
def api(fake, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", TOKEN)
    monkeypatch.setenv("PROLIFIC_API_URL", fake.url)
    client = services.client(sleep=lambda s: None)
    yield client
    client.close()


def create(experiment, api, **kwargs):
    params = (
        dict(
            base_url="https://mvfit.example.org",
            title="Music fit",
            description="Rate how music fits video.",
            places=10,
            reward_cents=150,
            minutes=12,
        )
        | kwargs
    )
    return services.create_study(experiment=experiment, api=api, **params)


def posts(fake, path):
    return [r for r in fake.requests if r[0] == "POST" and r[1] == path]


def test_a_crash_after_prolific_created_the_study_does_not_create_a_second_one(fake, api, monkeypatch):
    experiment = study("none")
    real = api.create_study

    def created_then_killed(body):
        real(body)
        raise KeyboardInterrupt("killed between Prolific's answer and our commit")

    monkeypatch.setattr(api, "create_study", created_then_killed)
    with pytest.raises(KeyboardInterrupt):
        create(experiment, api)
    assert ProlificStudy.objects.get().study_id == ""  # the local row knows only its internal name
    monkeypatch.setattr(api, "create_study", real)
    made = create(experiment, api)
    assert len(fake.studies) == 1 and made.study_id in fake.studies
    remote = fake.studies[made.study_id]
    assert remote["internal_name"] == made.internal_name and remote["status"] == "UNPUBLISHED"
    assert remote["external_study_url"].startswith(
        f"https://mvfit.example.org/prolific/e/{experiment.slug}/?PROLIFIC_PID="
    )
    assert {(c["code"], c["code_type"]) for c in remote["completion_codes"]} == {
        (made.completion_code, "COMPLETED"),
        (made.screened_out_code, "SCREENED_OUT"),
        (made.failed_attention_code, "FAILED_ATTENTION_CHECK"),
    }
    assert create(experiment, api).pk == made.pk and len(posts(fake, "/api/v1/studies/")) == 1


def test_publishing_is_checked_against_the_spending_cap_and_happens_once(fake, api):
    experiment = study("none")
    with pytest.raises(services.SpendingCapExceeded):
        create(experiment, api, spending_cap_cents=1000)  # 10 x 1.50 + fees = 20.00
    assert not fake.studies
    ProlificStudy.objects.all().delete()
    made = create(experiment, api, spending_cap_cents=2500)
    assert services.publish(study=made, api=api).remote_status == "ACTIVE"
    services.publish(study=made, api=api)  # a re-run reads the status and does nothing
    assert len(posts(fake, f"/api/v1/studies/{made.study_id}/transition/")) == 1


def test_submissions_sync_and_review_once_and_rejections_need_a_reason(fake, api):
    made = create(study("none"), api)
    first, second = fake.add_submission(made.study_id, PID_A), fake.add_submission(made.study_id, PID_B)
    fake.add_submission(made.study_id, "c3" * 12, status="RETURNED")
    assert services.sync_submissions(study=made, api=api) == 3  # two pages of two
    approve = ProlificSubmission.objects.get(submission_id=first)
    assert services.review(submission=approve, api=api, approve=True) == "APPROVED"
    approve.refresh_from_db()
    assert services.review(submission=approve, api=api, approve=True) == "APPROVED"
    assert len(posts(fake, f"/api/v1/submissions/{first}/transition/")) == 1
    reject = ProlificSubmission.objects.get(submission_id=second)
    with pytest.raises(ProlificError, match="100 characters"):
        services.review(submission=reject, api=api, approve=False, message="bad")
    assert fake.submissions[second]["status"] == "AWAITING REVIEW"
    reason = "You failed both attention checks, which asked you to choose a stated answer; see the instructions. " * 2
    assert (
        services.review(submission=reject, api=api, approve=False, message=reason, category="FAILED_CHECK")
        == "REJECTED"
    )


def test_a_bonus_interrupted_before_payment_is_paid_exactly_once(fake, api, monkeypatch):
    made = create(study("none"), api, spending_cap_cents=10_000)
    fake.add_submission(made.study_id, PID_A)
    fake.add_submission(made.study_id, PID_B)
    real = api.pay_bonus
    monkeypatch.setattr(api, "pay_bonus", lambda bonus_id: (_ for _ in ()).throw(KeyboardInterrupt("killed")))
    with pytest.raises(KeyboardInterrupt):
        services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 50, PID_B: 25})
    assert ProlificBonus.objects.get().state == ProlificBonus.State.CREATED and fake.paid_cents == 0
    monkeypatch.setattr(api, "pay_bonus", real)
    services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 50, PID_B: 25})
    assert fake.paid_cents == 75 and ProlificBonus.objects.get().state == ProlificBonus.State.PAID
    with pytest.raises(services.SpendingCapExceeded):
        services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 9_000})
    assert fake.paid_cents == 75


def test_throttling_and_server_errors_are_retried_where_safe(fake, api):
    made = create(study("none"), api)
    fake.fail_next = [429, 503, 502]
    assert api.get_study(made.study_id)["id"] == made.study_id  # a read: retried through all three
    fake.fail_next = [503]
    with pytest.raises(ProlificError, match="503"):
        api.transition_study(made.study_id, "PUBLISH")  # a write is not repeated blindly
    assert fake.studies[made.study_id]["status"] == "UNPUBLISHED"
    fake.fail_next = [429]
    assert api.transition_study(made.study_id, "PUBLISH")["status"] == "ACTIVE"  # a 429 did nothing: retried


def test_no_token_is_a_clear_error_and_a_wrong_one_is_refused(fake, monkeypatch):
    monkeypatch.delenv("PROLIFIC_API_TOKEN", raising=False)
    with pytest.raises(ProlificError, match="PROLIFIC_API_TOKEN is not set"):
        services.client()
    wrong = ProlificClient(token="nope", recorder=lambda r: None, participant_pseudonym=str, base_url=fake.url)
    with pytest.raises(ProlificError, match="401"):
        wrong.get_study("0" * 24)


def test_every_call_is_audited_without_participant_ids(fake, api):
    made = create(study("none"), api)
    fake.add_submission(made.study_id, PID_A)
    services.sync_submissions(study=made, api=api)
    services.pay_bonuses(study=made, api=api, amounts_cents={PID_A: 30})
    services.message(study=made, api=api, prolific_pid=PID_A, body="Thank you!")
    calls = list(ProlificCall.objects.all())
    assert {c.path for c in calls} >= {
        "/api/v1/studies/",
        f"/api/v1/studies/{made.study_id}/submissions/",
        "/api/v1/submissions/bonus-payments/",
        "/api/v1/messages/",
    }
    logged = " ".join(str(c.request) + str(c.response) for c in calls)
    assert PID_A not in logged and "W" in logged
    assert fake.messages == [{"recipient_id": PID_A, "study_id": made.study_id, "body": "Thank you!"}]


def test_the_command_runs_a_study_from_creation_to_bonus(fake, api, capsys):
    from django.core.management import CommandError, call_command

    experiment = study("none")
    call_command(
        "prolific",
        "create",
        experiment.slug,
        "--places",
        "5",
        "--reward-cents",
        "200",
        "--minutes",
        "10",
        "--cap-cents",
        "5000",
        "--base-url",
        "https://mvfit.example.org",
    )
    made = ProlificStudy.objects.get()
    call_command("prolific", "publish", experiment.slug)
    submission = fake.add_submission(made.study_id, PID_A)
    call_command("prolific", "sync", experiment.slug)
    call_command("prolific", "approve", experiment.slug, "--submission", submission)
    call_command("prolific", "bonus", experiment.slug, "--bonuses", f'{{"{PID_A}": 40}}')
    out = capsys.readouterr().out
    assert "draft study" in out and "ACTIVE" in out and "1 submissions synced" in out and "APPROVED" in out
    assert fake.paid_cents == 40
    with pytest.raises(CommandError, match="spending cap"):
        call_command("prolific", "bonus", experiment.slug, "--bonuses", f'{{"{PID_A}": 4000}}')


def test_publishing_below_the_pay_floor_is_refused_when_the_setting_blocks(fake, api, settings):
    settings.MVFIT_PAY_FLOOR_BLOCKS = True
    settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR = 1200
    made = create(study("none"), api, reward_cents=100, minutes=12)  # 5.00 per hour
    with pytest.raises(services.BelowPayFloor, match="BELOW the floor"):
        services.publish(study=made, api=api)
    assert fake.studies[made.study_id]["status"] == "UNPUBLISHED"
