"""A Prolific participant in headless Chromium: the study URL as Prolific opens it -> consent -> sound check
-> headphone screen -> trials (reporting a problem on the way, without losing their place) -> the
completion page -> back to Prolific's completion URL with the study's code."""

from __future__ import annotations

import pytest
from django.urls import reverse

from experiments.models import AssignmentStatus, Participant, ProblemReport
from recruitment.prolific import register_study
from tests.experiments.test_screening_browser import answer_screen_trial, screened_study
from tests.experiments.test_worker_browser import answer_trial, wait_for_trial
from tests.support.sound_check import answer_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PID, STUDY, SESSION = "5f" * 12, "6a" * 12, "sessionA1"


def test_a_prolific_participant_goes_from_entry_through_screening_and_trials_back_to_prolific(
    page, live_server, tmp_path
):
    experiment = screened_study(tmp_path, "huggins")
    register_study(experiment=experiment, study_id=STUDY, completion_code="C0MPL3TE", screened_out_code="SCR33N")
    entry = reverse("recruitment:prolific_entry", args=[experiment.slug])
    page.goto(f"{live_server.url}{entry}?PROLIFIC_PID={PID}&STUDY_ID={STUDY}&SESSION_ID={SESSION}")
    page.get_by_test_id("agree").click()
    participant = Participant.objects.get(experiment=experiment)
    assert (participant.source, participant.worker_id) == ("prolific", f"prolific:{PID}")

    answer_in_browser(page, participant, correct=True)
    page.get_by_test_id("headphone-calibration").wait_for()
    page.locator("#play-calibration[data-ready=true]").click()
    page.get_by_test_id("headphone-calibrated").click()
    for _ in range(2):
        answer_screen_trial(page, participant, correct=True)
    page.get_by_test_id("begin").click()
    page.wait_for_selector("#trial[data-position]")

    # Report a problem on the first trial: sent in the background, the trial stays on screen.
    page.locator("#problem-report summary").click()
    page.locator("#problem-category").select_option("media")
    page.locator("#problem-text").fill("The sound is very quiet.")
    page.locator("#problem-form button[type=submit]").click()
    page.wait_for_function("() => document.getElementById('problem-status').textContent.includes('researchers')")
    report = ProblemReport.objects.get(participant=participant)
    assert (report.position, report.category, report.text) == (0, "media", "The sound is very quiet.")
    assert page.get_attribute("#trial", "data-position") == "0"

    assignment = participant.assignments.get()
    for _ in range(assignment.n_trials):
        position, _ = answer_trial(page, participant, "5")
        if position < assignment.n_trials - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.COMPLETED

    arrived: list[str] = []

    def prolific(route):
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Submission recorded</p>")

    page.route("https://app.prolific.com/**", prolific)
    page.locator("#panel-return").click()
    page.wait_for_url("https://app.prolific.com/**")
    assert arrived == ["https://app.prolific.com/submissions/complete?cc=C0MPL3TE"]
