"""The headphone screen in headless Chromium: calibration first, answers locked until the three sounds
have played, a worker who answers right passes each test and one who answers wrong is screened out — and
nothing the browser receives (page, responses, URLs) names the right interval."""

from __future__ import annotations

import pytest
from django.urls import reverse

from experiments.models import HeadphoneTrial, Participant
from experiments.services.participants import create_invite_links
from tests.experiments.test_worker_browser import open_study
from tests.support.sound_check import answer_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screened_study(tmp_path, screen):
    experiment = open_study(tmp_path, n=2, catch=0, k=1)
    experiment.config = {**experiment.config, "screening": {"headphones": screen, "trials": 2, "pass_at": 2}}
    experiment.save(update_fields=["config"])
    return experiment


def to_the_screen(page, live_server, experiment) -> Participant:
    ((_, token),) = create_invite_links(experiment=experiment, count=1)
    page.goto(live_server.url + reverse("experiments:invite", args=[token]))
    page.get_by_test_id("agree").click()
    participant = Participant.objects.filter(experiment=experiment).latest("pk")
    answer_in_browser(page, participant, correct=True)
    page.get_by_test_id("headphone-calibration").wait_for()
    assert page.get_by_test_id("headphone-trial").is_hidden()  # calibration comes first
    assert page.get_by_test_id("headphone-calibrated").is_disabled()
    page.locator("#play-calibration[data-ready=true]").click()
    page.get_by_test_id("headphone-calibrated").click()
    return participant


def answer_screen_trial(page, participant, *, correct: bool) -> None:
    trial = HeadphoneTrial.objects.get(participant=participant, answered_at__isnull=True)
    page.get_by_test_id("headphone-trial").wait_for()
    assert page.locator("fieldset[data-testid=headphone-options]:enabled").count() == 0  # locked until played
    page.locator("#check-sound").evaluate("audio => { audio.defaultPlaybackRate = 8; audio.playbackRate = 8; }")
    page.locator("#play-check[data-ready=true]").click()
    page.locator("#audio-submit:not([disabled])").wait_for()
    choice = trial.expected if correct else trial.expected % 3 + 1
    page.locator(f"input[name=answer][value='{choice}']").check()
    page.get_by_test_id("headphone-submit").click()
    page.wait_for_load_state("load")


@pytest.mark.parametrize("screen", ["antiphase", "huggins"])
def test_a_worker_who_hears_the_difference_passes_and_one_who_does_not_is_screened_out(
    browser_context, live_server, tmp_path, screen
):
    experiment = screened_study(tmp_path, screen)
    seen: list[str] = []
    page = browser_context.new_page()
    page.on("response", lambda response: seen.append(response.url))

    passing = to_the_screen(page, live_server, experiment)
    for _ in range(2):
        answer_screen_trial(page, passing, correct=True)
    page.get_by_test_id("begin").wait_for()  # through to the start page
    passing.refresh_from_db()
    assert passing.headphone_passed_at is not None

    page.context.clear_cookies()
    failing = to_the_screen(page, live_server, experiment)
    html = page.content()
    for _ in range(2):
        answer_screen_trial(page, failing, correct=False)
    assert "headphone check did not succeed" in page.get_by_test_id("screened-out").inner_text()
    assert Participant.objects.get(pk=failing.pk).assignments.count() == 0

    trials = HeadphoneTrial.objects.filter(participant__experiment=experiment)
    assert trials.count() == 4
    for trial in trials:
        for secret in (trial.nonce, f'"target": {trial.expected}', str(trial.params["seed"])):
            assert secret not in html and not any(secret in url for url in seen)
