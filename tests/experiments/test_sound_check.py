"""The sound check: a sound drawn per participant and attempt, a small attempt limit, attempts recorded,
screening out, and what the worker's browser can (not) learn from the page and the sound's URL."""

from __future__ import annotations

import io
import random
import re
import wave

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy.stats import binom

from experiments.media import soundcheck
from experiments.models import AudioCheckAttempt, Participant
from experiments.services import participants as participant_services
from experiments.services.allocation import AllocationError, allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.factories.experiments import make_experiment
from tests.support.sound_check import answer_form
from tests.support.tokens import readable

pytestmark = pytest.mark.django_db

RADIO = re.compile(r'<input type="radio" name="(?P<name>\w+)" value="(?P<value>[^"]+)"')
ATTEMPT = re.compile(r'name="attempt" value="(\d+)"')
SOUND_URL = re.compile(r'<audio[^>]* src="(?P<url>[^"]+)"')


@pytest.fixture
def study():
    return open_experiment(experiment=make_experiment(trials_per_assignment=3), allow_unrendered=True)


def consented(client, experiment, count=1) -> list[Participant]:
    entered = []
    for _, token in create_invite_links(experiment=experiment, count=count):
        client.get(reverse("experiments:invite", args=[token]))
        participant = Participant.objects.latest("pk")
        client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
        entered.append(participant)
    return entered


def page(client, participant) -> str:
    return client.get(reverse("experiments:worker", args=[participant.token])).content.decode()


def post_answer(client, participant, form):
    return client.post(reverse("experiments:audio_check", args=[participant.token]), form)


def test_a_blind_guessing_bot_passes_at_most_15_percent_of_the_time(client, study, monkeypatch):
    # Finding 11: four fixed sounds and unlimited retries -- scripted bots passed 108 of 108. This bot reads
    # the form, picks uniformly among the options and retries as long as the page lets it.
    server_rng = np.random.default_rng(20261205)
    monkeypatch.setattr(participant_services, "sound_rng", lambda: server_rng)
    bot = random.Random(7)
    n = 80
    passed = 0
    for participant in consented(client, study, count=n):
        for _ in range(10):
            html = page(client, participant)
            if 'data-testid="begin"' in html:
                passed += 1
                break
            if 'data-testid="screened-out"' in html:
                break
            options: dict[str, list[str]] = {}
            for match in RADIO.finditer(html):
                options.setdefault(match["name"], []).append(match["value"])
            form = {name: bot.choice(values) for name, values in options.items()}
            if attempt := ATTEMPT.search(html):
                form["attempt"] = attempt.group(1)
            post_answer(client, participant, form)
    # Blind guessing passes with p = 1 - (24/25)^3 = 11.5 %; any check with p <= 15 % stays under the
    # 99.9th percentile of Binomial(n, 0.15) (23 of 80): a fixed seed, and a bound that is not a fluke.
    assert passed <= binom.ppf(0.999, n, 0.15)
    assert AudioCheckAttempt.objects.filter(answered_at__isnull=False).count() <= 3 * n
    assert not Participant.objects.filter(audio_check_attempts__gt=3).exists()


def test_the_configured_limit_keeps_a_blind_guess_under_15_percent(settings):
    kind = participant_services.audio_check_kind()
    assert soundcheck.n_answers(kind) == 25
    assert soundcheck.blind_pass_probability(kind, attempts=3) == pytest.approx(1 - (24 / 25) ** 3)
    assert participant_services.audio_check_attempt_limit() == 3  # the default
    for too_lenient in (0, 4, 100):
        settings.MVFIT_SOUND_CHECK_ATTEMPTS = too_lenient
        with pytest.raises(ImproperlyConfigured, match="MVFIT_SOUND_CHECK_ATTEMPTS"):
            participant_services.audio_check_attempt_limit()


def test_a_worker_who_misses_every_attempt_is_screened_out_politely_and_gets_no_work(client, study):
    (participant,) = consented(client, study)
    for number in (1, 2, 3):
        html = page(client, participant)
        assert "Sound check" in html and f'name="attempt" value="{number}"' in html
        assert ("last try" in html) == (number == 3)
        post_answer(client, participant, answer_form(participant, correct=False))
    html = page(client, participant)
    assert 'data-testid="screened-out"' in html and "Thank you for your time" in html
    attempts = list(participant.audio_checks.order_by("number"))
    assert [(a.number, a.correct, bool(a.answer), a.answered_at is not None) for a in attempts] == [
        (1, False, True, True),
        (2, False, True, True),
        (3, False, True, True),
    ]
    assert len({a.expected + str(a.params) for a in attempts}) == 3  # a new sound for each attempt
    participant.refresh_from_db()
    assert participant.audio_check_attempts == 3 and participant.audio_check_passed_at is None
    assert participant.screened_out_at is not None and participant.screened_out_reason == "sound_check"
    # Nothing else is reachable: no new attempt, no pass with the right answer, no work.
    for junk in ({"attempt": "²", "first": "2"}, {"attempt": "9" * 40}, {}):
        assert post_answer(client, participant, junk).status_code == 302
    post_answer(client, participant, {"attempt": "4", "first": "2", "second": "2"})
    assert participant.audio_checks.count() == 3
    client.post(reverse("experiments:begin", args=[participant.token]))
    assert not participant.assignments.exists()
    with pytest.raises(AllocationError) as refused:
        allocate_assignment(participant=participant)
    assert refused.value.code == "screened_out" and not participant.assignments.exists()
    assert participant_services.issue_audio_check(participant=participant) is None


def test_a_right_answer_passes_and_every_attempt_is_recorded(client, study):
    (participant,) = consented(client, study)
    page(client, participant)
    post_answer(client, participant, answer_form(participant, correct=False))
    html = page(client, participant)
    assert 'data-testid="audio-missed"' in html
    right = answer_form(participant)
    post_answer(client, participant, right)
    post_answer(client, participant, right)  # a double submit counts once
    assert 'data-testid="begin"' in page(client, participant)
    participant.refresh_from_db()
    assert participant.audio_check_attempts == 2 and participant.audio_check_passed_at is not None
    assert list(participant.audio_checks.values_list("number", "correct")) == [(1, False), (2, True)]


def test_each_participant_gets_their_own_sound_behind_an_opaque_url(client, study):
    a, b = consented(client, study, count=2)
    pages = {p.pk: page(client, p) for p in (a, b)}
    urls = {pk: SOUND_URL.search(html)["url"] for pk, html in pages.items()}
    sounds = {}
    for participant in (a, b):
        attempt = participant.audio_checks.get()
        html, url = pages[participant.pk], urls[participant.pk]
        # The page has the questions only; the answer, the sound's parameters and ids stay on the server.
        assert attempt.expected not in html and str(attempt.params["pitches_hz"][0]) not in html
        assert "<fieldset" in html and all("disabled" in tag for tag in re.findall(r"<fieldset[^>]*>", html))
        assert re.search(r'<button type="submit"[^>]*disabled', html)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script (strict CSP)
        token = url.rstrip("/").rsplit("/", 1)[-1]
        decoded = readable(token)
        assert attempt.nonce not in decoded and '"a":' not in decoded and '"n":' not in decoded
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
        assert "no-store" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"
        sounds[participant.pk] = response.content
        part = client.get(url, HTTP_RANGE="bytes=0-99")
        assert part.status_code == 206 and part.content == response.content[:100]
        assert part["Content-Range"] == f"bytes 0-99/{len(response.content)}"
    assert sounds[a.pk] != sounds[b.pk] and urls[a.pk] != urls[b.pk]
    # Once answered, the sound is gone; a forged token is refused.
    post_answer(client, a, answer_form(a))
    assert client.get(urls[a.pk]).status_code == 404
    assert client.get(urls[b.pk][:-4] + "AAAA").status_code == 404


def beeps_in(wav: bytes) -> tuple[int, int]:
    """(beeps in the first group, beeps in the second) as heard: bursts of energy, split at the long pause."""
    with wave.open(io.BytesIO(wav)) as sound:
        rate = sound.getframerate()
        samples = np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2") / 32768
    window = rate // 100  # 10 ms
    energy = np.sqrt(np.mean(samples[: len(samples) // window * window].reshape(-1, window) ** 2, axis=1))
    loud = energy > 0.05
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    gaps = np.diff(starts) / 100
    split = int(np.argmax(gaps)) + 1
    return split, len(starts) - split


@hypothesis_settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_sound_has_the_beeps_its_answer_says(seed):
    kind = soundcheck.KINDS["beep-groups"]
    params = kind.draw(np.random.default_rng(seed))
    wav = kind.render(params)
    assert beeps_in(wav) == (params["first"], params["second"])
    assert kind.expected(params) == f"{params['first']}-{params['second']}"
    assert kind.read_answer(kind.form_for(kind.expected(params))) == kind.expected(params)
    assert kind.read_answer({"first": "7", "second": "2"}) == "" == kind.read_answer({"first": "2"})
