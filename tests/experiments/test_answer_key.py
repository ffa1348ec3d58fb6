"""The answer key never reaches a worker, and a worker reaches only their own trials.

A preference test (G/R/S options, catch trials, a ranking file) is driven in the browser while every
HTML and JSON response the page receives is recorded; none may carry option kinds, conditions,
labels, ground-truth partners, catch flags or expected answers, and media URLs are sealed: nothing in
them is readable, and unsealed on the server they name nothing but (assignment, position, slot).
"""

from __future__ import annotations

import base64
import csv
import json
import re

import pytest
from django.urls import reverse

from annotation.models import MusicTrack, Pairing, Video
from experiments.models import Participant
from experiments.selectors.worker import read_media_token
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.experiments.test_worker_browser import answer_trial, enter, wait_for_trial
from tests.factories.experiments import make_experiment, make_library
from tests.support.media import attach_rendered_media

STATE_KEYS = {"assignment", "total", "answered", "done", "unanswered"}
TRIAL_KEYS = {"position", "prompt", "answer", "scale", "media", "presentation"}
MEDIA_KEYS = {"slot", "kind", "url"}
ANSWER_KEYS = {"key", "position", "stored", "replayed", "answered", "total", "done"}
# Long and distinctive, so it cannot turn up by chance inside a signed media token.
MODEL_VERSION = "vmnet-model-3f9c2e"
FORBIDDEN_WORDS = re.compile(
    r"\b(ground|truth|random|search|ranking|condition|catch|is_catch|expected|first_kind|second_kind|first_on_left)\b"
    r"|\"(G|R|S|GR|GS|SR)\"",
    re.IGNORECASE,
)


def preference_study(tmp_path, *, open_now=True):
    library = make_library(n_clips=5, n_excerpts=5, music_videos=5, duration_s=1.0)
    ranking = tmp_path / "rank.csv"
    with ranking.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
        for i, clip in enumerate(library.clip_ids):
            writer.writerow(["clip", clip, library.excerpt_ids[(i + 1) % 5], 1, 0.9, MODEL_VERSION])
        for i, excerpt in enumerate(library.excerpt_ids):
            writer.writerow(["excerpt", excerpt, library.clip_ids[(i + 1) % 5], 1, 0.9, MODEL_VERSION])
    experiment = make_experiment(
        kind="preference",
        library=library,
        config={"search": {"kind": "ranking-file", "path": str(ranking)}},
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=1,
    )
    pairings = Pairing.objects.filter(pk__in={p for i in experiment.items.all() for p in i.pairing_ids})
    attach_rendered_media(pairings, source_dir=tmp_path)
    return (open_experiment(experiment=experiment) if open_now else experiment), ranking


def media_token(url: str) -> str:
    return url.rstrip("/").split("/")[-1]


def decode_media_payload(url: str) -> dict:
    """What the server reads from a media URL (a worker cannot: see ``assert_opaque``)."""
    return read_media_token(media_token(url))


def assert_opaque(token: str, payload: dict):
    """Sealed, not merely signed: neither the token nor its bytes carry the payload's JSON (a signed
    token is base64 of it), although the server reads ``payload`` from it."""
    assert read_media_token(token) == payload
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for name, value in payload.items():
        text = json.dumps({name: value})[1:-1]  # '"t": 12'
        assert text.replace(" ", "").encode() not in raw and f'"{name}"'.encode() not in raw


def labels_in_library() -> set[str]:
    return set(Video.objects.values_list("label", flat=True)) | set(MusicTrack.objects.values_list("label", flat=True))


def assert_clean(text: str, *, forbidden: set[str]):
    match = FORBIDDEN_WORDS.search(text)
    assert match is None, f"answer-key word {match.group(0)!r} in {text[:300]!r}"
    for value in forbidden:
        assert value not in text, f"{value!r} leaked in {text[:300]!r}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_nothing_the_browser_receives_reveals_the_answer_key(page, live_server, tmp_path):
    experiment, ranking = preference_study(tmp_path)
    forbidden = labels_in_library() | {str(ranking), MODEL_VERSION}
    seen: list[tuple[str, str, str]] = []

    def record(route):
        # Intercept instead of listening to "response" events: a listener may read a body only after
        # the page has navigated on, when Chromium has already discarded it. Fetching here sees every
        # byte the browser will see, then hands the same response (redirects included) to the page.
        response = route.fetch(max_redirects=0)
        kind = response.headers.get("content-type", "")
        if "html" in kind or "json" in kind:
            seen.append((route.request.url, kind, response.text()))
        elif "/w/m/" in route.request.url:
            assert "content-disposition" not in response.headers
        route.fulfill(response=response)

    page.route("**/*", record)
    participant = enter(page, live_server, experiment)
    total = participant.assignments.get().n_trials
    for _ in range(total):
        position, _ = answer_trial(page, participant, "ArrowRight")
        if position < total - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    # Stop intercepting: a request still in flight when the page closes must not fail a later test.
    page.unroute_all(behavior="ignoreErrors")

    trial_payloads = 0
    for url, kind, text in seen:
        assert_clean(text, forbidden=forbidden)
        if "json" not in kind:
            continue
        body = json.loads(text)
        if url.endswith("/api/state"):
            assert set(body) == STATE_KEYS
        elif "/api/trials/" in url:
            trial_payloads += 1
            assert_trial_payload(body)
        elif url.endswith("/api/answers"):
            assert set(body) <= ANSWER_KEYS | {"next"}
            if "next" in body:  # the trial an answer's response carries on: the same as a fetch
                trial_payloads += 1
                assert_trial_payload(body["next"])
    assert trial_payloads >= total


def assert_trial_payload(body):
    assert set(body) == TRIAL_KEYS
    for media in body["media"]:
        assert set(media) == MEDIA_KEYS and media["slot"] in ("left", "right")
        payload = decode_media_payload(media["url"])
        assert set(payload) == {"t", "p", "s"}
        assert_opaque(media_token(media["url"]), payload)


@pytest.mark.django_db
def test_a_worker_reaches_only_their_own_trials(client, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        experiment, _ = preference_study(tmp_path, open_now=False)
    experiment = open_experiment(experiment=experiment)
    sessions = []
    for _ in range(2):
        ((_, invite),) = create_invite_links(experiment=experiment, count=1)
        client.get(reverse("experiments:invite", args=[invite]))
    for participant in Participant.objects.order_by("pk"):
        participant.consented_at = participant.created_at
        participant.audio_check_passed_at = participant.created_at
        participant.save()
        client.post(reverse("experiments:begin", args=[participant.token]))
        sessions.append(participant)
    a, b = sessions
    assert a.assignments.get().bundle_id != b.assignments.get().bundle_id
    url_a = client.get(reverse("experiments:api_trial", args=[a.token, 0])).json()["media"][0]["url"]
    # A's media URL names A's assignment, readable only by the server; changing any byte of it fails.
    token = media_token(url_a)
    assert decode_media_payload(url_a)["t"] == a.assignments.get().pk
    assert_opaque(token, decode_media_payload(url_a))
    assert client.get(url_a).status_code == 200
    for index in (10, len(token) // 2, len(token) - 2):
        flipped = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        assert client.get(url_a.replace(token, flipped)).status_code == 404
    # Session tokens are the only handle on trials; guessing one fails.
    for path in ("api_state", "worker"):
        assert client.get(reverse(f"experiments:{path}", args=[a.token[:-2] + "xx"])).status_code == 404
    # The staff preview is not reachable without a staff login, even with a valid-looking bundle URL.
    preview = reverse("experiments:preview_trial", args=[experiment.pk, 0])
    assert client.get(preview).status_code == 302
