"""Real pages in headless Chromium against the live server, with real (tiny) rendered media.

Covers: completing a rating and a 2AFC assignment; resuming after reload and after closing the tab;
a double submit (a retried request whose response was lost, and a double click) and an
offline->online switch each storing exactly one answer; catch trials flagged.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from experiments.models import AssignmentStatus, Participant, Response
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.factories.experiments import make_experiment, make_library
from tests.support.media import attach_rendered_media
from tests.support.sound_check import answer_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_study(tmp_path, *, kind="rating", n=3, catch=1, k=2, n_clips=3, n_excerpts=2, config=None):
    library = make_library(n_clips=n_clips, n_excerpts=n_excerpts, duration_s=1.0)
    if config is None and kind == "afc":
        config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids}
    experiment = make_experiment(
        kind=kind,
        library=library,
        config=config,
        judgments_per_item=k,
        trials_per_assignment=n,
        catch_trials_per_assignment=catch,
    )
    pairings = {p for item in experiment.items.all() for p in item.pairing_ids}
    from annotation.models import Pairing

    attach_rendered_media(Pairing.objects.filter(pk__in=pairings), source_dir=tmp_path)
    return open_experiment(experiment=experiment)


def enter(page, live_server, experiment, *, before_begin=None, started: str = "#trial[data-position]") -> Participant:
    """Invite link -> consent -> sound check (one miss, then right) -> start (waits for ``started``)."""
    ((_, token),) = create_invite_links(experiment=experiment, count=1)
    page.goto(live_server.url + reverse("experiments:invite", args=[token]))
    page.get_by_test_id("agree").click()
    participant = Participant.objects.filter(experiment=experiment).latest("pk")  # the one just invited

    # The answers stay locked until the sound has played to its end.
    assert page.locator("#audio-submit").is_disabled() and page.locator("fieldset.audio-options:enabled").count() == 0
    answer_in_browser(page, participant, correct=False)
    assert page.get_by_test_id("audio-missed").is_visible()
    answer_in_browser(page, participant, correct=True)
    if before_begin:
        before_begin()
    page.get_by_test_id("begin").click()
    page.wait_for_selector(started)
    return participant


def test_start_joins_in_place_and_a_refusal_is_shown_in_place(page, live_server, tmp_path):
    experiment = open_study(tmp_path)
    # Start joins with one request (POST api/begin) and shows the first trial without loading a page.
    participant = enter(page, live_server, experiment, before_begin=lambda: page.evaluate("window.samePage = 1"))
    assert page.evaluate("window.samePage") == 1
    assert participant.assignments.get().status == AssignmentStatus.ACTIVE
    assert page.get_by_test_id("progress-text").inner_text().endswith("done")

    other = page.context.new_page()
    take_every_bundle = lambda: experiment.bundles.update(status="assigned")  # noqa: E731
    enter(other, live_server, experiment, before_begin=take_every_bundle, started="[data-testid=refused]")
    assert "no work left" in other.get_by_test_id("refused").inner_text()
    assert Participant.objects.filter(experiment=experiment).count() == 2


def wait_for_trial(page, position: int) -> None:
    """Wait until trial ``position`` shows, passing the interstitial a change of question brings."""
    page.wait_for_selector(f"#trial[data-position='{position}'], #interstitial-continue")
    if page.locator("#interstitial-continue").count():
        page.locator("#interstitial-continue").click()
    page.wait_for_selector(f"#trial[data-position='{position}']")


def current_position(page) -> int:
    return int(page.get_attribute("#trial", "data-position"))


def play_all(page):
    """Play each option to its end (the answer buttons unlock only then)."""
    for index in range(page.locator("button.play").count()):
        page.locator("button.play").nth(index).click()
        page.wait_for_selector(f"figure.option:nth-child({index + 1}).played")
    page.wait_for_selector("button.answer:not([disabled])")


def expected_or(participant, position, default):
    """The right answer for a catch trial (from the server's answer key), else ``default``."""
    trial = participant.assignments.get(status=AssignmentStatus.ACTIVE).bundle.trials.get(position=position)
    if not trial.catch_id:
        return default, False
    if trial.catch.expected_rating:
        return str(trial.catch.expected_rating), True
    return ("ArrowLeft" if trial.first_on_left else "ArrowRight"), True


def answer_trial(page, participant, key, *, fail_catch=False):
    position = current_position(page)
    play_all(page)
    answer, is_catch = expected_or(participant, position, key)
    if is_catch and fail_catch:
        answer = {"ArrowLeft": "ArrowRight", "ArrowRight": "ArrowLeft"}.get(answer, "1" if answer != "1" else "2")
    page.keyboard.press(answer)
    return position, is_catch


def wait_until_stored(participant, count, page):
    page.wait_for_function(
        "key => JSON.parse(localStorage.getItem(key) || '[]').length === 0",
        arg=f"mvfit.outbox.{participant.token[:16]}",
    )
    assert Response.objects.filter(assignment__participant=participant).count() == count


def test_a_worker_completes_a_rating_assignment_and_catch_trials_are_flagged(page, live_server, tmp_path):
    experiment = open_study(tmp_path, n=3, catch=2)
    participant = enter(page, live_server, experiment)
    assignment = participant.assignments.get()
    assert assignment.n_trials == 5

    # Before the clip has played through, answers are locked: a key press does nothing.
    assert page.locator("button.answer:not([disabled])").count() == 0
    page.keyboard.press("4")
    assert current_position(page) == 0

    catch_seen = 0
    for _ in range(assignment.n_trials):
        position, is_catch = answer_trial(page, participant, "5", fail_catch=catch_seen == 1)
        catch_seen += is_catch
        if position < assignment.n_trials - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    assignment.refresh_from_db()
    assert page.get_by_test_id("completion-code").inner_text() == assignment.completion_code
    assert assignment.status == AssignmentStatus.COMPLETED

    stored = Response.objects.filter(assignment=assignment).order_by("trial__position")
    assert [r.trial.position for r in stored] == list(range(5))
    catches = [r for r in stored if r.is_catch]
    assert len(catches) == 2 and sorted(r.catch_passed for r in catches) == [False, True]
    for response in stored:
        assert response.play_count >= 1 and response.rt_ms is not None and response.rt_ms >= 0
        assert response.presented_at <= response.answered_at <= response.received_at
        # The runner's record of the trial: the clip played to its end, times since the trial was shown.
        kinds = [e["type"] for e in response.events]
        assert kinds.index("play") < kinds.index("ended"), kinds
        assert all(e["t"] >= 0 for e in response.events if e["type"] in ("play", "ended"))
        if not response.is_catch:
            assert response.rating == 5 and response.catch_passed is None


def test_a_worker_completes_a_2afc_assignment(page, live_server, tmp_path):
    experiment = open_study(tmp_path, kind="afc", n=3, catch=1, n_clips=4, n_excerpts=3)
    participant = enter(page, live_server, experiment)
    assignment = participant.assignments.get()
    assert page.locator("figure.option").count() == 2
    for _ in range(assignment.n_trials):
        position, _ = answer_trial(page, participant, "ArrowLeft")
        if position < assignment.n_trials - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    stored = Response.objects.filter(assignment=assignment)
    assert stored.count() == 4
    assert set(stored.filter(is_catch=False).values_list("chosen_side", flat=True)) == {"left"}
    assert stored.get(is_catch=True).catch_passed is True
    assert all(r.play_count >= 2 for r in stored)  # both options played


def test_reload_and_a_closed_tab_resume_at_the_first_unanswered_trial(page, live_server, tmp_path, browser_context):
    experiment = open_study(tmp_path, n=4, catch=0)
    participant = enter(page, live_server, experiment)
    for _ in range(2):
        position, _ = answer_trial(page, participant, "3")
        wait_for_trial(page, position + 1)
    wait_until_stored(participant, 2, page)

    page.reload()
    page.wait_for_selector("#trial[data-position='2']")
    assert page.get_by_test_id("progress-text").inner_text() == "2 of 4 done"
    answer_trial(page, participant, "3")
    page.wait_for_selector("#trial[data-position='3']")
    wait_until_stored(participant, 3, page)

    url = page.url
    page.close()
    reopened = browser_context.new_page()
    reopened.goto(url)
    reopened.wait_for_selector("#trial[data-position='3']")
    assert reopened.get_by_test_id("progress-text").inner_text() == "3 of 4 done"
    answer_trial(reopened, participant, "3")
    reopened.get_by_test_id("done").wait_for()
    assert Response.objects.filter(assignment__participant=participant).count() == 4


def test_a_trial_costs_one_request_and_a_reload_resumes_with_fetches(page, live_server, tmp_path):
    """The runner fetches the first two trials (the one shown and the one preloaded); every later trial
    arrives in the response to an answer. After a reload it fetches again where it resumes; every answer
    is stored exactly once."""
    experiment = open_study(tmp_path, n=5, catch=0)
    fetched, answered = [], []

    def count(request):
        if "/api/trials/" in request.url:
            fetched.append(int(request.url.rstrip("/").rsplit("/", 1)[-1]))
        elif request.url.endswith("/api/answers"):
            answered.append(json.loads(request.post_data)["position"])

    page.on("request", count)
    participant = enter(page, live_server, experiment)
    for _ in range(2):
        position, _ = answer_trial(page, participant, "4")
        wait_for_trial(page, position + 1)
    wait_until_stored(participant, 2, page)
    page.wait_for_selector("#preload video", state="attached")  # trial 3 came with the answer to trial 1, and preloads
    assert fetched == [0, 1] and answered == [0, 1]

    page.reload()
    page.wait_for_selector("#trial[data-position='2']")
    for position in (2, 3, 4):
        wait_for_trial(page, position)
        answer_trial(page, participant, "5")
    page.get_by_test_id("done").wait_for()
    assert fetched == [0, 1, 2, 3] and answered == [0, 1, 2, 3, 4]
    stored = Response.objects.filter(assignment__participant=participant).order_by("trial__position")
    assert list(stored.values_list("trial__position", "rating")) == [(0, 4), (1, 4), (2, 5), (3, 5), (4, 5)]


def test_a_retried_submit_whose_response_was_lost_and_a_double_click_store_one_answer(page, live_server, tmp_path):
    experiment = open_study(tmp_path, n=3, catch=0)
    participant = enter(page, live_server, experiment)
    sent = []

    def lose_first_response(route):
        body = json.loads(route.request.post_data)
        sent.append(body["idempotency_key"])
        if len(sent) == 1:
            route.fetch()  # the server stores the answer ...
            route.abort("connectionreset")  # ... but the browser never hears back, so it retries
        else:
            route.continue_()

    page.route("**/api/answers", lose_first_response)
    answer_trial(page, participant, "6")
    page.wait_for_selector("#trial[data-position='1']")
    wait_until_stored(participant, 1, page)
    assert len(sent) == 2 and sent[0] == sent[1], "the retry reused the idempotency key"

    # A double click on an answer button sends one answer.
    play_all(page)
    page.locator("button.answer[data-value='2']").dblclick()
    page.wait_for_selector("#trial[data-position='2']")
    wait_until_stored(participant, 2, page)
    assert len(sent) == 3
    assert list(
        Response.objects.filter(assignment__participant=participant)
        .order_by("trial__position")
        .values_list("rating", flat=True)
    ) == [6, 2]


def test_answers_given_offline_are_stored_once_when_the_connection_returns(
    page, live_server, tmp_path, browser_context
):
    experiment = open_study(tmp_path, n=3, catch=0)
    participant = enter(page, live_server, experiment)
    play_all(page)
    browser_context.set_offline(True)
    page.keyboard.press("7")
    page.get_by_test_id("banner").wait_for()
    assert "Connection lost" in page.get_by_test_id("banner").inner_text()
    outbox = page.evaluate(f"JSON.parse(localStorage.getItem('mvfit.outbox.{participant.token[:16]}'))")
    assert [a["position"] for a in outbox] == [0]
    assert not Response.objects.exists()
    # The next trial was preloaded, so the worker can carry on while offline.
    page.wait_for_selector("#trial[data-position='1']")
    browser_context.set_offline(False)
    wait_until_stored(participant, 1, page)
    page.wait_for_function("() => document.getElementById('banner').hidden")
    response = Response.objects.get()
    assert (response.trial.position, response.rating) == (0, 7)


def test_a_study_rendered_by_the_library_pipeline_runs_end_to_end(page, live_server, tmp_path, settings):
    """No shortcuts: synthetic source files -> clips/excerpts -> pairings rendered by the library's
    Celery tasks (eager here) when the design commits -> open -> a worker completes the bundle."""
    from annotation.models import Pairing, RenderState
    from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
    from tests.support.media import library_track, library_video, synthetic_music, synthetic_video

    settings.MVFIT_RENDER_SIZE, settings.MVFIT_RENDER_FPS, settings.MVFIT_RENDER_PRESET = "96x64", 10, "ultrafast"
    clips = [
        VideoClipFactory(
            video=library_video(synthetic_video(tmp_path, f"v{i}.mp4", duration_s=2.0, pattern=p)),
            start_s=0.5,
            duration_s=1.0,
        )
        for i, p in enumerate(["testsrc2", "mandelbrot"])
    ]
    excerpts = [
        MusicExcerptFactory(
            track=library_track(synthetic_music(tmp_path, f"m{i}.ogg", duration_s=2.0, style=s)),
            start_s=0.5,
            duration_s=1.0,
        )
        for i, s in enumerate(["melody", "chords"])
    ]
    experiment = make_experiment(
        config={"clip_ids": [c.pk for c in clips], "excerpt_ids": [e.pk for e in excerpts]},
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=1,
    )
    assert set(Pairing.objects.values_list("state", flat=True)) == {RenderState.READY}
    experiment = open_experiment(experiment=experiment)  # refuses unless every pairing and catch is rendered
    participant = enter(page, live_server, experiment)
    for _ in range(5):
        position, _ = answer_trial(page, participant, "2")
        if position < 4:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    assert Response.objects.filter(assignment__participant=participant).count() == 5


def test_a_playback_error_is_recorded_with_the_trial_and_retry_recovers(page, live_server, tmp_path):
    experiment = open_study(tmp_path, n=2, catch=0)
    failed, network_down = [], [True]

    # Every media request fails until the first trial offers Retry: the runner fetches the first two
    # trials together, so which clip is requested first (the one shown or the one preloaded) is up to
    # timing; failing only the very first request made this test depend on that order.
    def fail_media_until_retry(route):
        if network_down[0]:
            failed.append(route.request.url)
            route.abort("failed")
        else:
            route.continue_()

    participant = enter(
        page, live_server, experiment, before_begin=lambda: page.route("**/w/m/**", fail_media_until_retry)
    )
    page.wait_for_selector("button.play:has-text('Retry')")
    network_down[0] = False
    answer_trial(page, participant, "4")  # Retry reloads the clip, then it plays through
    page.wait_for_selector("#trial[data-position='1']")
    wait_until_stored(participant, 1, page)
    events = Response.objects.get().events
    assert failed and any(e["type"] == "error" and e["slot"] == "main" for e in events), events


def test_an_answer_refused_for_good_is_not_retried_and_its_trial_is_asked_again(page, live_server, tmp_path):
    """An answer left in the outbox by an older page (no presentation token) is refused with a final 400:
    the runner sends it once, tells the worker why, and presents that trial again."""
    from experiments.services.answers import assignment_ref

    experiment = open_study(tmp_path, n=3, catch=0)
    participant = enter(page, live_server, experiment)
    answer_trial(page, participant, "3")
    page.wait_for_selector("#trial[data-position='1']")
    wait_until_stored(participant, 1, page)
    stale = {
        "idempotency_key": "queued-by-an-older-page",
        "assignment": assignment_ref(participant.assignments.get()),
        "position": 1,
        "rating": 1,
        "rt_ms": 900,
        "play_count": 1,
    }
    page.evaluate(
        "([key, answer]) => localStorage.setItem(key, JSON.stringify([answer]))",
        [f"mvfit.outbox.{participant.token[:16]}", stale],
    )
    sent, errors = [], []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/answers") else None)
    page.on("pageerror", lambda error: errors.append(error))
    page.reload()
    page.wait_for_function("() => document.getElementById('banner').textContent.includes('not_presented')")
    assert "Please answer that trial again" in page.get_by_test_id("banner").inner_text()
    page.wait_for_selector("#trial[data-position]")
    while not page.get_by_test_id("done").is_visible():
        position, _ = answer_trial(page, participant, "6")
        page.wait_for_selector(f"#trial[data-position]:not([data-position='{position}']), [data-testid=done]")
    assert not errors
    stored = Response.objects.filter(assignment__participant=participant).order_by("trial__position")
    assert list(stored.values_list("trial__position", "rating")) == [(0, 3), (1, 6), (2, 6)]
    assert [a["idempotency_key"] for a in sent].count("queued-by-an-older-page") == 1
    assert all(a.get("presentation") for a in sent if a["idempotency_key"] != "queued-by-an-older-page")


def test_a_clip_that_will_not_play_can_be_skipped_after_repeated_errors(page, live_server, tmp_path):
    experiment = open_study(tmp_path, n=2, catch=0)
    broken = []

    def the_first_clip_never_loads(route):
        if not broken:
            broken.append(route.request.url.split("?")[0])
        if route.request.url.split("?")[0] == broken[0]:
            route.abort("failed")
        else:
            route.continue_()

    participant = enter(
        page, live_server, experiment, before_begin=lambda: page.route("**/w/m/**", the_first_clip_never_loads)
    )
    assert current_position(page) == 0
    page.wait_for_selector("button.play:has-text('Retry')")
    assert page.locator("#skip-trial").count() == 0  # one error: retry first
    page.locator("button.play").first.click()  # Retry: fails again
    page.locator("#skip-trial").wait_for()
    page.locator("#skip-trial").click()
    wait_for_trial(page, 1)
    wait_until_stored(participant, 1, page)
    stored = Response.objects.get()
    assert stored.skipped_reason == "playback" and stored.rating is None
    assert sum(e["type"] == "error" for e in stored.events) >= 2
