"""Fair pay: the effective hourly rate from the median session (or the estimate), warned or blocked below
the floor; Prolific publishing is refused below it when the setting blocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from experiments.models import Assignment, AssignmentStatus, Participant
from experiments.selectors.pay import pay_check
from experiments.services import participants
from experiments.services.allocation import allocate_assignment
from tests.experiments.test_screening import study

pytestmark = pytest.mark.django_db


def finished_sessions(experiment, minutes):
    now = timezone.now()
    for i, length in enumerate(minutes):
        participant = participants.enter_via_mturk(experiment=experiment, worker_id=f"W{i}", assignment_id=f"A{i}")
        assignment = allocate_assignment(participant=participant)
        Participant.objects.filter(pk=participant.pk).update(created_at=now - timedelta(minutes=length))
        Assignment.objects.filter(pk=assignment.pk).update(status=AssignmentStatus.COMPLETED, completed_at=now)


def test_the_median_session_sets_the_rate_and_a_low_one_is_flagged(settings):
    settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR = 1200
    experiment = study("none")
    finished_sessions(experiment, [5, 10, 30])  # a slow outlier does not move the median
    check = pay_check(experiment=experiment, reward_cents=150)
    assert check.minutes == pytest.approx(10, abs=0.01) and check.basis == "median of 3 sessions"
    assert check.hourly_cents == pytest.approx(900, rel=1e-3) and check.below_floor and not check.blocking
    assert "BELOW the floor of 12.00 per hour" in check.summary()
    assert not pay_check(experiment=experiment, reward_cents=250).below_floor  # 15.00 per hour


def test_before_anyone_finishes_the_estimate_is_used_and_the_setting_can_block(settings, capsys):
    settings.MVFIT_PAY_FLOOR_BLOCKS = True
    experiment = study("none")
    check = pay_check(experiment=experiment, reward_cents=100, estimated_minutes=10)
    assert check.basis == "estimate" and check.hourly_cents == 600 and check.blocking
    with pytest.raises(CommandError, match="below the pay floor"):
        call_command("pay_check", experiment.slug, "--reward-cents", "100", "--minutes", "10")
    assert pay_check(experiment=experiment, reward_cents=100).hourly_cents is None
