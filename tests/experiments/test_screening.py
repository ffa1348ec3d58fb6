"""The headphone screen in the worker flow: configured per experiment, scored per test at its end,
screening out with the right exit per channel, and nothing on the page or in URLs that gives the answer."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from experiments.design.config import DesignError, validate_config
from experiments.models import HeadphoneTrial, Participant, ScreeningReason
from experiments.services import screening
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.factories.experiments import make_experiment, make_library
from tests.support.sound_check import answer_form

pytestmark = pytest.mark.django_db


def study(screen="huggins", slug="study", **screening_options):
    library = make_library(n_clips=4, n_excerpts=3)
    config = {
        "clip_ids": library.clip_ids,
        "excerpt_ids": library.excerpt_ids,
        "screening": {"headphones": screen, **screening_options},
    }
    experiment = make_experiment(library=library, config=config, trials_per_assignment=3, slug=slug)
    return open_experiment(experiment=experiment, allow_unrendered=True)


def past_the_sound_check(client, experiment) -> Participant:
    ((_, token),) = create_invite_links(experiment=experiment, count=1)
    client.get(reverse("experiments:invite", args=[token]))
    participant = Participant.objects.latest("pk")
    client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
    client.get(reverse("experiments:worker", args=[participant.token]))
    client.post(reverse("experiments:audio_check", args=[participant.token]), answer_form(participant))
    return participant


def answer_open_trial(client, participant, *, correct: bool) -> HeadphoneTrial:
    page = client.get(reverse("experiments:headphones", args=[participant.token]))
    assert page.status_code == 200
    trial = HeadphoneTrial.objects.get(participant=participant, answered_at__isnull=True)
    answer = trial.expected if correct else trial.expected % 3 + 1
    form = {"test": trial.test, "trial": str(trial.number), "answer": str(answer)}
    client.post(reverse("experiments:headphone_answer", args=[participant.token]), form)
    return trial


def test_after_the_sound_check_the_worker_is_sent_to_the_screen_and_passes_it(client):
    participant = past_the_sound_check(client, study("both"))
    page = client.get(reverse("experiments:worker", args=[participant.token]))
    assert page.status_code == 302 and page["Location"] == reverse("experiments:headphones", args=[participant.token])
    for _ in range(12):  # 6 Huggins-pitch trials, then 6 antiphase trials
        answer_open_trial(client, participant, correct=True)
    participant.refresh_from_db()
    assert participant.headphone_passed_at is not None and participant.screened_out_at is None
    assert list(participant.headphone_trials.values_list("test", flat=True)) == ["huggins"] * 6 + ["antiphase"] * 6
    assert b"Start" in client.get(reverse("experiments:worker", args=[participant.token])).content
    assert client.post(reverse("experiments:begin", args=[participant.token])).status_code == 302
    assert participant.assignments.count() == 1


def test_one_slip_passes_two_slips_screen_out_and_no_work_is_handed_out(client):
    experiment = study("antiphase")
    slipped = past_the_sound_check(client, experiment)
    for i in range(6):
        answer_open_trial(client, slipped, correct=i != 2)
    slipped.refresh_from_db()
    assert slipped.headphone_passed_at is not None

    failed = past_the_sound_check(client, experiment)
    for i in range(6):
        answer_open_trial(client, failed, correct=i not in (0, 5))
    failed.refresh_from_db()
    assert failed.headphone_passed_at is None
    assert failed.screened_out_reason == ScreeningReason.HEADPHONES
    page = client.get(reverse("experiments:worker", args=[failed.token])).content.decode()
    assert "headphone check did not succeed" in page
    client.post(reverse("experiments:begin", args=[failed.token]))
    assert failed.assignments.count() == 0
    # The screen is over: no further trial is issued and late answers change nothing.
    assert screening.issue_headphone_trial(participant=failed) is None
    assert client.get(reverse("experiments:headphones", args=[failed.token])).status_code == 302


def test_no_feedback_until_a_test_ends_and_stale_or_bad_answers_change_nothing(client):
    participant = past_the_sound_check(client, study("huggins", trials=4, pass_at=4))
    trial = answer_open_trial(client, participant, correct=False)  # wrong, but the screen goes on
    participant.refresh_from_db()
    assert participant.screened_out_at is None
    url = reverse("experiments:headphone_answer", args=[participant.token])
    client.get(reverse("experiments:headphones", args=[participant.token]))
    open_trial = HeadphoneTrial.objects.get(participant=participant, answered_at__isnull=True)
    for form in (
        {"test": trial.test, "trial": str(trial.number), "answer": "1"},  # a double submit of the last page
        {"test": open_trial.test, "trial": str(open_trial.number), "answer": "4"},
        {"test": open_trial.test, "trial": str(open_trial.number), "answer": "<script>"},
        {"test": "antiphase", "trial": str(open_trial.number), "answer": "1"},
        {"test": open_trial.test, "trial": "999999999", "answer": "1"},
    ):
        client.post(url, form)
    open_trial.refresh_from_db()
    assert open_trial.answered_at is None
    assert participant.headphone_trials.filter(answered_at__isnull=False).count() == 1
    for _ in range(3):
        answer_open_trial(client, participant, correct=True)
    participant.refresh_from_db()
    assert participant.screened_out_reason == ScreeningReason.HEADPHONES  # 3 of 4 < pass_at 4


def test_the_page_and_its_urls_do_not_reveal_the_answer(client):
    participant = past_the_sound_check(client, study("antiphase"))
    html = client.get(reverse("experiments:headphones", args=[participant.token])).content.decode()
    trial = HeadphoneTrial.objects.get(participant=participant, answered_at__isnull=True)
    assert "Set a comfortable volume".lower() in html.lower()  # the calibration step comes first
    assert re.findall(r'name="answer" value="(\d)"', html) == ["1", "2", "3"]
    for leak in (trial.nonce, '"target"', "foil", "expected", str(trial.params["seed"])):
        assert leak not in html
    sound_url = re.search(r'id="check-sound"[^>]* src="([^"]+)"', html).group(1)
    assert trial.nonce not in sound_url
    sound = client.get(sound_url)
    assert sound.status_code == 200 and sound["Content-Type"] == "audio/wav"
    assert sound["Cache-Control"].startswith("no-store") or "no-cache" in sound["Cache-Control"]
    calibration = re.search(r'id="calibration-sound"[^>]* src="([^"]+)"', html).group(1)
    assert client.get(calibration).status_code == 200
    # A changed byte, or the URL of an answered trial, is a 404.
    assert client.get(sound_url[:-3] + ("AAA" if not sound_url.endswith("AAA") else "BBB")).status_code == 404
    answer_open_trial(client, participant, correct=True)
    assert client.get(sound_url).status_code == 404


def test_experiments_without_a_screen_go_straight_to_the_start(client):
    participant = past_the_sound_check(client, study("none"))
    assert b"Start" in client.get(reverse("experiments:worker", args=[participant.token])).content
    assert client.get(reverse("experiments:headphones", args=[participant.token])).status_code == 302


def test_mturk_workers_screened_out_return_the_hit_or_submit_with_a_code_as_configured(client, settings):
    settings.MTURK_SUBMIT_HOSTS = ["https://workersandbox.mturk.com"]
    for on_fail, expected in (("return", "return this HIT"), ("submit", "screened-out-headphones")):
        experiment = study("huggins", slug=f"study-{on_fail}", on_fail=on_fail)
        participant = past_the_sound_check(client, experiment)
        for _ in range(6):
            answer_open_trial(client, participant, correct=False)
        Participant.objects.filter(pk=participant.pk).update(
            source="mturk", turk_submit_to="https://workersandbox.mturk.com", assignment_id="3ASSIGNMENT"
        )
        page = client.get(reverse("experiments:worker", args=[participant.token]))
        assert expected in page.content.decode()
        form_action = page["Content-Security-Policy"].split("form-action")[1].split(";")[0]
        assert ("workersandbox" in form_action) == (on_fail == "submit")


@pytest.mark.parametrize(
    ("screening_config", "message"),
    [
        ({"headphones": "loudspeakers"}, "must be one of none, antiphase, huggins, both"),
        ({"headphones": "both", "trials": 4, "pass_at": 5}, "cannot exceed"),
        ({"headphones": "both", "trials": 0}, "positive integer"),
        ({"headphones": "both", "on_fail": "ignore"}, "'on_fail' must be one of"),
        ({"headphones": "both", "colour": "red"}, "unknown screening parameter"),
        ("huggins", "must be an object"),
    ],
)
def test_bad_screening_configs_are_clear_errors(screening_config, message):
    with pytest.raises(DesignError, match=message):
        validate_config("rating", {"clip_ids": [1], "excerpt_ids": [1], "screening": screening_config})


def test_a_valid_screening_config_is_normalised_and_stored():
    config = validate_config("rating", {"clip_ids": [1], "excerpt_ids": [1], "screening": {"headphones": "both"}})
    assert config["screening"] == {"headphones": "both", "trials": 6, "pass_at": 5, "on_fail": "return"}
    assert "screening" not in validate_config("rating", {"clip_ids": [1], "excerpt_ids": [1]})
