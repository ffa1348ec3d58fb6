"""Preference test blocks in the browser: when the question changes within a bundle (video→music, then
music→video), the worker sees an interstitial that says so before the first trial of the new block."""

from __future__ import annotations

import pytest

from experiments.models import AssignmentStatus
from tests.experiments.test_answer_key import preference_study
from tests.experiments.test_worker_browser import answer_trial, current_position, enter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_question_change_between_direction_blocks_is_announced(page, live_server, tmp_path):
    experiment, _ = preference_study(tmp_path)
    participant = enter(page, live_server, experiment)
    assignment = participant.assignments.get(status=AssignmentStatus.ACTIVE)
    trials = list(assignment.bundle.trials.order_by("position"))
    assert len({t.direction for t in trials}) == 2  # the design's seed is fixed: this bundle has both blocks
    switch = next(i for i in range(1, len(trials)) if trials[i].direction != trials[i - 1].direction)
    for position in range(switch):
        assert not page.locator("#interstitial").count()
        answer_trial(page, participant, "ArrowLeft")
        if position < switch - 1:
            page.wait_for_selector(f"#trial[data-position='{position + 1}']")
    page.locator("#interstitial").wait_for()
    assert "fits" in page.locator("#interstitial p").inner_text()  # the new question, in full
    page.locator("#interstitial-continue").click()
    page.wait_for_selector(f"#trial[data-position='{switch}']")
    assert current_position(page) == switch
