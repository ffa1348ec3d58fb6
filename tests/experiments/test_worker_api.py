"""The worker flow over HTTP (no browser): entry, consent, audio check, trials, answers, media, completion."""

import json
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from experiments.answer_input import assignment_ref, presented_trial
from experiments.models import AssignmentStatus, Participant, Response
from experiments.selectors.worker import PRELOAD_WINDOW, media_url, read_media_token
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.factories.experiments import make_experiment, make_library
from tests.support.media import attach_rendered_media
from tests.support.sound_check import answer_form
from webapp.db import HotCursor

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path, django_capture_on_commit_callbacks):
    library = make_library(n_clips=3, n_excerpts=2, duration_s=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        experiment = make_experiment(
            library=library, judgments_per_item=2, trials_per_assignment=3, catch_trials_per_assignment=1
        )
    pairings = [i.pairing for i in experiment.items.select_related("pairing")]
    attach_rendered_media(pairings, source_dir=tmp_path)
    return open_experiment(experiment=experiment)


def enter(client, experiment):
    ((_, token),) = create_invite_links(experiment=experiment, count=1)
    response = client.get(reverse("experiments:invite", args=[token]))
    assert response.status_code == 302
    participant = Participant.objects.get(worker_id__startswith="link:")
    assert response["Location"] == reverse("experiments:worker", args=[participant.token])
    return participant, token


def through_to_trials(client, participant):
    page = reverse("experiments:worker", args=[participant.token])
    assert b"Consent" in client.get(page).content
    client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
    assert b"Sound check" in client.get(page).content
    client.post(reverse("experiments:audio_check", args=[participant.token]), answer_form(participant))
    assert b"Start" in client.get(page).content
    assert client.post(reverse("experiments:begin", args=[participant.token])).status_code == 302
    html = client.get(page).content.decode()
    assert "runner-config" in html
    return page


def post_answer(client, participant, body):
    return client.post(
        reverse("experiments:api_answer", args=[participant.token]), json.dumps(body), content_type="application/json"
    )


def fetch_trial(client, participant, position):
    response = client.get(reverse("experiments:api_trial", args=[participant.token, position]))
    assert response.status_code == 200, response.content
    return response.json()


# Client clock readings as the runner sends them (a few seconds before the request, in UTC).
PRESENTED_AT = (timezone.now() - timedelta(seconds=9)).replace(microsecond=123000)
ANSWERED_AT = PRESENTED_AT + timedelta(seconds=5, milliseconds=333)


def iso(moment):
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def answer_body(state, position, *, trial=None, **extra):
    """An answer as the runner sends it; ``trial`` is the fetched trial JSON (its presentation token)."""
    return {
        "idempotency_key": uuid.uuid4().hex,
        "assignment": state["assignment"],
        "position": position,
        "rt_ms": 812,
        "play_count": 1,
        "presented_at": iso(PRESENTED_AT),
        "answered_at": iso(ANSWERED_AT),
        "presentation": trial["presentation"] if trial else None,
        **extra,
    }


def test_a_worker_goes_from_invite_to_completion_and_each_answer_is_stored_once(client, study):
    participant, token = enter(client, study)
    # The invite is single-use: visiting it again resumes the same participant instead of creating one.
    client.get(reverse("experiments:invite", args=[token]))
    assert Participant.objects.count() == 1
    through_to_trials(client, participant)

    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    assert state["total"] == 4 and state["answered"] == 0 and state["unanswered"] == [0, 1, 2, 3]
    assignment = participant.assignments.get()
    for position in range(state["total"]):
        trial = fetch_trial(client, participant, position)
        media = client.get(trial["media"][0]["url"], HTTP_RANGE="bytes=0-99")
        assert media.status_code == 206 and media["Content-Range"].startswith("bytes 0-99/")
        expected = assignment.bundle.trials.get(position=position)
        rating = expected.catch.expected_rating if expected.catch_id else 5
        body = answer_body(state, position, trial=trial, rating=rating)
        first = post_answer(client, participant, body)
        assert first.status_code == 200 and first.json()["replayed"] is False
        # The same key again (a retry after a lost response) is acknowledged, not stored again.
        again = post_answer(client, participant, body)
        assert again.status_code == 200 and again.json()["replayed"] is True
        # A different key for an answered trial is refused.
        assert post_answer(client, participant, answer_body(state, position, trial=trial, rating=1)).status_code == 409
    assert Response.objects.filter(assignment=assignment).count() == 4
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.COMPLETED
    done = client.get(reverse("experiments:worker", args=[participant.token]))
    assert assignment.completion_code in done.content.decode()
    catch = Response.objects.get(assignment=assignment, is_catch=True)
    assert catch.catch_passed is True
    stored = Response.objects.filter(assignment=assignment, is_catch=False).first()
    assert (stored.rt_ms, stored.play_count, stored.presented_at, stored.answered_at) == (
        812,
        1,
        PRESENTED_AT,
        ANSWERED_AT,
    )


def test_each_answer_carries_the_trial_after_next_so_a_trial_costs_one_request(client, study):
    """The runner fetches the first two trials; every later one comes in an answer's response ("next"),
    in the shape the trial fetch returns, with a presentation token the server accepts. Replays, refusals
    and the completing answer carry nothing."""
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    assignment = participant.assignments.get()
    trials = {0: fetch_trial(client, participant, 0), 1: fetch_trial(client, participant, 1)}
    for position in range(state["total"]):
        expected = assignment.bundle.trials.get(position=position)
        rating = expected.catch.expected_rating if expected.catch_id else 5
        body = answer_body(state, position, trial=trials.pop(position), rating=rating)
        response = post_answer(client, participant, body).json()
        if position + PRELOAD_WINDOW < state["total"]:
            carried = response["next"]
            fetched = fetch_trial(client, participant, position + PRELOAD_WINDOW)
            assert set(carried) == set(fetched) and carried["position"] == position + PRELOAD_WINDOW
            sealed = ("media", "presentation")  # sealed tokens differ byte for byte; what they name may not
            assert {k: v for k, v in carried.items() if k not in sealed} == {
                k: v for k, v in fetched.items() if k not in sealed
            }
            assert presented_trial(carried["presentation"]) == (assignment.pk, position + PRELOAD_WINDOW)
            assert presented_trial(fetched["presentation"]) == presented_trial(carried["presentation"])
            assert [read_media_token(m["url"].rsplit("/", 1)[-1]) for m in carried["media"]] == [
                read_media_token(m["url"].rsplit("/", 1)[-1]) for m in fetched["media"]
            ]
            trials[carried["position"]] = carried
        else:
            assert "next" not in response
        replay = post_answer(client, participant, body).json()
        assert replay["replayed"] is True and "next" not in replay
    assert Response.objects.filter(assignment=assignment).count() == state["total"]
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.COMPLETED


def test_the_state_is_read_in_one_statement(client, study, monkeypatch):
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    state_url = reverse("experiments:api_state", args=[participant.token])
    state = client.get(state_url).json()
    for position in (0, 2):  # answered out of order: the state lists exactly what is left
        post_answer(
            client,
            participant,
            answer_body(state, position, trial=fetch_trial(client, participant, position), rating=3),
        )
    sent = []
    original = HotCursor.execute
    monkeypatch.setattr(
        HotCursor, "execute", lambda cursor, sql, params: sent.append(sql) or original(cursor, sql, params)
    )
    with CaptureQueriesContext(connection) as orm:
        state = client.get(state_url).json()
    # Nothing through the ORM (the assignment was touched moments ago): at most the request's savepoint.
    assert [q["sql"] for q in orm.captured_queries if "SAVEPOINT" not in q["sql"]] == []
    assert len(sent) == 1
    assert (state["answered"], state["unanswered"], state["done"]) == (2, [1, 3], False)
    assert state["assignment"] == assignment_ref(participant.assignments.get())


def test_bad_answers_get_a_clear_400_and_store_nothing(client, study):
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    trial = fetch_trial(client, participant, 0)
    cases = [
        (answer_body(state, 0, trial=trial, rating=8), "1 to 7"),
        (answer_body(state, 0, trial=trial, chosen_side="left"), "1 to 7"),
        (answer_body(state, 99, trial=trial, rating=3), "does not come with the trial"),
        ({**answer_body(state, 0, trial=trial, rating=3), "idempotency_key": "x"}, "idempotency_key"),
        ({**answer_body(state, 0, trial=trial, rating=3), "presented_at": "yesterday"}, "ISO 8601"),
    ]
    for body, message in cases:
        response = post_answer(client, participant, body)
        assert response.status_code == 400, body
        assert message in response.json()["error"]
    raw = client.post(
        reverse("experiments:api_answer", args=[participant.token]), "not json", content_type="application/json"
    )
    assert raw.status_code == 400
    assert not Response.objects.exists()


def test_an_answer_queued_for_an_earlier_assignment_never_lands_on_the_current_one(client, study):
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    stale = answer_body({**state, "assignment": "0" * 20}, 0, trial=fetch_trial(client, participant, 0), rating=3)
    response = post_answer(client, participant, stale)
    assert response.status_code == 409 and response.json()["code"] == "stale_assignment"
    assert not Response.objects.exists()


def test_a_worker_cannot_fetch_trials_ahead_or_of_unknown_sessions(client, study):
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    assert client.get(reverse("experiments:api_trial", args=[participant.token, 2])).status_code == 200
    assert client.get(reverse("experiments:api_trial", args=[participant.token, 3])).status_code == 403
    assert client.get(reverse("experiments:api_state", args=["not-a-token"])).status_code == 404
    assert client.get(reverse("experiments:api_trial", args=["not-a-token", 0])).status_code == 404


def test_media_urls_are_signed_and_support_ranges(client, study):
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    url = client.get(reverse("experiments:api_trial", args=[participant.token, 0])).json()["media"][0]["url"]
    full = client.get(url)
    body = b"".join(full.streaming_content)
    assert full.status_code == 200 and full["Accept-Ranges"] == "bytes" and len(body) == int(full["Content-Length"])
    assert "Content-Disposition" not in full
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == body[-10:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(body)}-").status_code == 416
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404


def test_media_urls_are_exactly_what_reverse_builds():
    url = media_url({"t": 12, "p": 3, "s": "left"})
    assert url == reverse("experiments:media", args=[url.rsplit("/", 1)[1]])
    assert read_media_token(url.rsplit("/", 1)[1]) == {"t": 12, "p": 3, "s": "left"}


def test_the_old_mturk_entry_forwards_to_the_mturk_app_with_the_query_string(client, study):
    params = {
        "workerId": "A1B2",
        "assignmentId": "ASG1",
        "hitId": "H1",
        "turkSubmitTo": "https://workersandbox.mturk.com",
    }
    response = client.get(reverse("experiments:mturk_entry", args=[study.slug]), params)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mturk:entry", args=[study.slug])
    assert dict(parse_qsl(location.query)) == params
    assert not Participant.objects.exists()  # entering is the MTurk entry's job, after its checks
