"""Bonus rules: the pure rule, the preview per participant and channel, and paying exactly what was previewed
through each channel's recruiter -- MTurk (Stubber), Prolific (the fake server) and a panel link (paid
outside) for the same study -- once, however often it is re-run."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from experiments.bonus_rules import BonusRule, BonusRuleError
from experiments.models import Response
from experiments.recruiters import channels
from experiments.selectors.bonus import bonus_preview
from experiments.services.allocation import allocate_assignment
from experiments.services.bonuses import pay_bonus_rule
from mturk.models import Bonus, MTurkCall, PaymentState
from recruitment.models import ProlificBonus
from recruitment.prolific import enter_via_prolific
from recruitment.services import create_panel_link, enter_via_panel
from tests.experiments.test_allocation import answer_all, open_study, participant
from tests.factories.mturk import MTurkAssignmentFactory
from tests.mturk.conftest import _dummy_aws_credentials, mturk_stub  # noqa: F401
from tests.recruitment.test_prolific_api import PID_A, api, create, fake  # noqa: F401

pytestmark = pytest.mark.django_db
RULE = BonusRule(flat_cents=50, per_check_cents=10, per_bundle_cents=25)


def test_the_rule_adds_up_caps_and_refuses_nonsense():
    assert RULE.amount_cents(completed_bundles=2, correct_checks=3) == 50 + 30 + 50
    assert RULE.amount_cents(completed_bundles=0, correct_checks=3) == 0  # nothing completed: nothing
    assert BonusRule(per_bundle_cents=100, max_cents=150).amount_cents(completed_bundles=3, correct_checks=0) == 150
    assert RULE.describe() == "flat 0.50 + per correct check 0.10 + per completed bundle 0.25"
    assert RULE.key(1) == BonusRule(50, 10, 25).key(1) != RULE.key(2)
    with pytest.raises(BonusRuleError, match="needs a flat amount"):
        BonusRule()
    with pytest.raises(BonusRuleError, match="positive"):
        BonusRule(flat_cents=-5)


def finish_bundle(p, *, checks_passed: bool):
    assignment = allocate_assignment(participant=p)
    answer_all(assignment)
    Response.objects.filter(assignment=assignment, is_catch=True).update(catch_passed=checks_passed)
    return assignment


def test_the_preview_counts_completed_bundles_and_correct_checks():
    experiment = open_study(catch_trials_per_assignment=1)
    good, careless, idle = (participant(experiment, w) for w in ("W1", "W2", "W3"))
    finish_bundle(good, checks_passed=True)
    finish_bundle(good, checks_passed=True)
    finish_bundle(careless, checks_passed=False)
    allocate_assignment(participant=idle)  # started, never finished: no bonus
    preview = bonus_preview(experiment=experiment, rule=RULE)
    assert [(line.participant, line.completed_bundles, line.correct_checks, line.cents) for line in preview.lines] == [
        (good, 2, 2, 50 + 20 + 50),
        (careless, 1, 0, 50 + 25),
    ]
    assert preview.total_cents == 195 and preview.by_channel() == {"mturk": 195}


def test_one_study_on_three_channels_is_paid_as_previewed_and_once(mturk_stub, fake, api):  # noqa: F811
    assert channels() == ["mturk", "prolific"]
    experiment = open_study(catch_trials_per_assignment=1)
    on_mturk = participant(experiment, "A1TURKWORKER", "3ASGPAYRULEXXXXXXXXXXXXXXXXXXX")
    mturk_row = MTurkAssignmentFactory(assignment_id=on_mturk.assignment_id, worker_id=on_mturk.worker_id)
    study = create(experiment, api, spending_cap_cents=100_000)
    query = {"PROLIFIC_PID": PID_A, "STUDY_ID": study.study_id, "SESSION_ID": "s1"}
    on_prolific = enter_via_prolific(experiment=experiment, query=query).participant
    fake.add_submission(study.study_id, PID_A)
    link = create_panel_link(experiment=experiment, slug="pool", completion_url="https://panel.example/done")
    on_panel = enter_via_panel(link=link, panel_id="member-7").participant
    for p in (on_mturk, on_prolific, on_panel):
        finish_bundle(p, checks_passed=True)
    preview = bonus_preview(experiment=experiment, rule=RULE)
    assert preview.by_channel() == {"mturk": 85, "panel": 85, "prolific": 85}
    assert [line.paid_here for line in preview.lines] == [True, True, False]

    with pytest.raises(BonusRuleError, match="preview again"):
        pay_bonus_rule(experiment=experiment, rule=RULE, previewed_total_cents=200, reason="Thanks", actor="t")
    assert not MTurkCall.objects.exists() and not fake.bonuses

    mturk_stub.sandbox.add_response(
        "send_bonus",
        {},
        expected_params={
            "WorkerId": "A1TURKWORKER",
            "AssignmentId": on_mturk.assignment_id,
            "BonusAmount": "0.85",
            "Reason": "Thanks for careful work",
            "UniqueRequestToken": mturk_row.bonuses.model(assignment=mturk_row, worker_id="A1TURKWORKER").request_token,
        },
    )
    for _ in range(2):  # the second run pays nothing again
        payment = pay_bonus_rule(
            experiment=experiment, rule=RULE, previewed_total_cents=255, reason="Thanks for careful work", actor="t"
        )
        assert not payment.failed and payment.paid_cents == 170 and payment.outside == {"panel": 85}
    assert MTurkCall.objects.filter(operation="SendBonus").count() == 1
    assert Bonus.objects.get().state == PaymentState.SENT
    assert fake.paid_cents == 85 and len(fake.bonuses) == 1
    assert ProlificBonus.objects.get().request_key == RULE.key(experiment.pk)


def test_the_command_previews_and_refuses_to_pay_without_the_total():
    experiment = open_study(catch_trials_per_assignment=1)
    finish_bundle(participant(experiment, "W1"), checks_passed=True)
    out = StringIO()
    call_command("bonus_rule", experiment.slug, "--flat", "50", "--per-check", "10", stdout=out)
    text = out.getvalue()
    assert "1 bundle(s), 1 correct check(s): 0.60" in text and "--pay --total 60" in text
    with pytest.raises(CommandError, match="needs --total"):
        call_command("bonus_rule", experiment.slug, "--flat", "50", "--pay")
    with pytest.raises(CommandError, match="needs a flat amount"):
        call_command("bonus_rule", experiment.slug)


def test_every_channel_is_synced_through_its_recruiter(mturk_stub, fake, api):  # noqa: F811
    from mturk.models import MTurkAssignment
    from mturk.services.experiments import study_for_experiment
    from tests.factories.mturk import make_batch, publish_rows
    from tests.mturk import stubs

    experiment = open_study()
    batch = publish_rows(make_batch(study_for_experiment(experiment=experiment, spending_cap=Decimal("100"))))
    hit = batch.hits.get()
    made = create(experiment, api)
    fake.add_submission(made.study_id, PID_A)
    stub = mturk_stub.sandbox
    stub.add_response("list_hits", {"HITs": [stubs.hit(hit_id=hit.hit_id, annotation=hit.request_token)]})
    stub.add_response(
        "list_assignments_for_hit",
        {
            "Assignments": [
                stubs.assignment(assignment_id="3ASGSYNCXXXXXXXXXXXXXXXXXXXXXX", worker_id="A1", hit_id=hit.hit_id)
            ]
        },
    )
    out = StringIO()
    call_command("sync_channels", experiment.slug, stdout=out)
    assert out.getvalue().splitlines() == [
        "mturk: sandbox: 1 batch(es), 1 assignment(s)",
        "prolific: 1 study(ies), 1 submission(s)",
    ]
    assert MTurkAssignment.objects.filter(hit=hit).count() == 1 and made.submissions.count() == 1
    fake.fail_next = [401]
    with pytest.raises(CommandError, match="could not be synced"):
        call_command("sync_channels", experiment.slug, stdout=StringIO())
