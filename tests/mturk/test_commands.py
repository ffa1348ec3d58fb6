"""The mturk_* management commands, end to end against stubbed real clients."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mturk.models import AssignmentStatus, HitBatch, MTurkAssignment, MTurkCall, MTurkStudy
from tests.factories.mturk import MTurkAssignmentFactory, make_batch, publish_rows

from . import stubs

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_study_and_batch_commands_show_cap_and_estimate():
    assert "created study" in run("mturk_study", "fit-pilot", "--cap", "100")
    assert "sandbox: cap $100.00" in run("mturk_study", "fit-pilot")
    out = run(
        "mturk_batch", "--study", "fit-pilot", "--mode", "sandbox", "--task-url", "https://mvfit.example.org/t/",
        "--title", "Rate fit", "--description", "Watch and rate", "--reward", "0.80", "--assignments", "27",
        "--approval-rate", "95", "--locale", "US",
    )  # fmt: skip
    assert "3 HIT(s), 27 assignment(s)" in out and "total     $25.92" in out
    assert "mturk_publish" in out
    with pytest.raises(CommandError, match="create it first"):
        run("mturk_batch", "--study", "nope", "--mode", "sandbox", "--task-url", "https://x.org/", "--title", "t",
            "--description", "d", "--reward", "1", "--assignments", "1")  # fmt: skip
    with pytest.raises(CommandError, match="Live workers cannot reach"):
        run("mturk_batch", "--study", "fit-pilot", "--mode", "live", "--task-url", "https://localhost/", "--title", "t",
            "--description", "d", "--reward", "1", "--assignments", "1")  # fmt: skip
    assert MTurkStudy.objects.count() == 1 and HitBatch.objects.count() == 1


def test_publish_command(mturk_stub):
    batch = make_batch(n_assignments=9, exclude_returning_workers=False)
    stub = mturk_stub.sandbox
    stub.add_response("get_account_balance", {"AvailableBalance": "10000.00"})
    stub.add_response("create_hit_type", {"HITTypeId": "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"})
    stub.add_response("create_hit_with_hit_type", {"HIT": stubs.hit(hit_id="3CMDHITXXXXXXXXXXXXXXXXXXXXXXX")})
    out = run("mturk_publish", str(batch.pk))
    assert "account balance $10000.00" in out and "1 HIT(s) created" in out
    assert "https://workersandbox.mturk.com" in out


def test_publish_live_needs_the_flag(mturk_stub):
    batch = make_batch(mode="live")
    with pytest.raises(CommandError, match="--confirm-live"):
        run("mturk_publish", str(batch.pk))
    assert not MTurkCall.objects.exists()


def test_review_commands(mturk_stub):
    batch = publish_rows(make_batch())
    a1, _a2 = (MTurkAssignmentFactory(hit=batch.hits.get()) for _ in range(2))
    with pytest.raises(CommandError, match="rejection reason is required"):
        run("mturk_review", "reject", "--assignment", a1.assignment_id)
    mturk_stub.sandbox.add_response("approve_assignment", {})
    mturk_stub.sandbox.add_response("approve_assignment", {})
    assert "approved 2" in run("mturk_review", "approve", "--batch", str(batch.pk))
    assert set(MTurkAssignment.objects.values_list("status", flat=True)) == {AssignmentStatus.APPROVED}
    with pytest.raises(CommandError, match="Unknown assignment id"):
        run("mturk_review", "approve", "--assignment", "3NOPE")


def test_sync_and_balance_commands(mturk_stub):
    batch = publish_rows(make_batch())
    hit = batch.hits.get()
    stub = mturk_stub.sandbox
    stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=hit.hit_id, pending=1)]})
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(assignment_id="3SYNCASGXXXXXXXXXXXXXXXXXXXXXX", worker_id="A1W", hit_id=hit.hit_id)
            ]
        },
    )
    out = run("mturk_sync", "--mode", "sandbox")
    assert "1 HIT(s) listed, 1 updated" in out and "assignments 1 new" in out
    stub.add_response("get_account_balance", {"AvailableBalance": "9990.00"})
    assert "available $9990.00" in run("mturk_balance", "--mode", "sandbox")
    with pytest.raises(CommandError, match="LIVE"):
        run("mturk_balance", "--mode", "live")


def test_batch_for_an_experiment(settings):
    from experiments.services.lifecycle import open_experiment
    from tests.factories.experiments import make_experiment

    settings.MTURK_PUBLIC_BASE_URL = "https://mvfit.example.org"
    experiment = open_experiment(
        experiment=make_experiment(slug="fit-a", trials_per_assignment=4), allow_unrendered=True
    )
    with pytest.raises(CommandError, match="spending cap"):
        run("mturk_batch", "--experiment", "fit-a", "--mode", "sandbox", "--reward", "1.00")
    out = run("mturk_batch", "--experiment", "fit-a", "--mode", "sandbox", "--reward", "1.00", "--cap", "80")
    batch = HitBatch.objects.get()
    assert batch.task_url == "https://mvfit.example.org/mturk/e/fit-a/" and batch.study.experiment == experiment
    assert f"batch {batch.pk} (sandbox, draft)" in out


def test_a_bad_amount_is_a_usage_error_naming_the_option():
    with pytest.raises(CommandError, match=r"argument --reward: 'abc' is not an amount in dollars"):
        run("mturk_batch", "--study", "s", "--mode", "sandbox", "--reward", "abc")
    with pytest.raises(CommandError, match=r"argument --cap: '-1': an amount in dollars cannot be negative"):
        run("mturk_study", "fit-pilot", "--cap", "-1")
    assert "cap $12.50" in run("mturk_study", "fit-pilot", "--cap", "$12.5")
    assert not HitBatch.objects.exists()


def test_a_bad_amount_on_the_command_line_prints_usage_not_a_traceback():
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    command = [sys.executable, str(manage), "mturk_batch", "--study", "s", "--mode", "sandbox", "--reward", "abc"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "argument --reward: 'abc' is not an amount in dollars" in result.stderr


def test_reviewing_an_unknown_batch_is_an_error():
    with pytest.raises(CommandError, match="No batch 999999"):
        run("mturk_review", "approve", "--batch", "999999")


def test_a_field_the_model_refuses_is_named_in_the_error():
    run("mturk_study", "fit-pilot", "--cap", "100")
    with pytest.raises(CommandError, match=r"assignment_duration_s: Ensure this value is greater than or equal to 0"):
        run("mturk_batch", "--study", "fit-pilot", "--mode", "sandbox", "--task-url", "https://mvfit.example.org/t/",
            "--title", "t", "--description", "d", "--reward", "1", "--assignments", "1", "--duration", "-1")  # fmt: skip
    assert not HitBatch.objects.exists()
