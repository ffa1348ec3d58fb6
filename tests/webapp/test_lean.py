"""The worker API's short request path (webapp/lean.py): it skips the page middleware and answers the same."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, override_settings
from django.urls import Resolver404, resolve, reverse

from experiments.models import Response
from tests.experiments.test_worker_api import answer_body, enter, study, through_to_trials  # noqa: F401
from webapp.lean import LEAN_ATTRIBUTE
from webapp.wsgi import application

pytestmark = pytest.mark.django_db

LEAN = "webapp.lean.LeanRequestMiddleware"
RESPONSE_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Expires",
    "Referrer-Policy",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Vary",
)


def call_wsgi(method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """One request through ``webapp.wsgi.application`` as gunicorn would make it."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
    }
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    # As Django's test client does: the test's transaction must survive the request signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        content = b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], content


def full_chain_client() -> Client:
    """A test client whose handler loads settings.MIDDLEWARE without the lean shortcut."""
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != LEAN]):
        client = Client()
        client.get("/healthz")  # loads the middleware while the override holds
    return client


def test_only_the_worker_json_api_is_lean():
    # begin too: a study launch is a burst of joins, and it needs no session, user, CSRF check or messages.
    lean = {"/w/s/abc_DEF-1/api/trials/3", "/w/s/abc/api/answers", "/w/s/abc/api/state", "/w/s/abc/begin"}
    full = {"/w/s/abc/", "/w/s/abc/consent", "/w/m/signed", "/experiments/1/preview/api/answers"}
    for path in lean | full:
        assert getattr(resolve(path).func, LEAN_ATTRIBUTE, False) == (path in lean), path
    middleware = settings.MIDDLEWARE
    below = middleware[middleware.index(LEAN) + 1 :]
    assert "django.contrib.sessions.middleware.SessionMiddleware" in below
    assert "django.middleware.csrf.CsrfViewMiddleware" in below
    # Security headers, the CSP, Content-Length and X-Frame-Options shape lean responses too.
    for needed in (
        "django.middleware.security.SecurityMiddleware",
        "webapp.csp.ContentSecurityPolicyMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ):
        assert middleware.index(needed) < middleware.index(LEAN), needed


def test_the_page_middleware_does_not_run_for_the_worker_api(client, study, monkeypatch):  # noqa: F811
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    seen = []
    original = SessionMiddleware.process_request
    monkeypatch.setattr(SessionMiddleware, "process_request", lambda self, r: seen.append(r.path) or original(self, r))
    fresh = Client()
    state = reverse("experiments:api_state", args=[participant.token])
    assert fresh.get(state).status_code == 200
    assert fresh.get(reverse("experiments:api_trial", args=[participant.token, 0])).status_code == 200
    assert seen == []
    page = reverse("experiments:worker", args=[participant.token])
    assert fresh.get(page).status_code == 200
    assert seen == [page]


def test_the_lean_path_answers_exactly_as_the_full_django_stack_does(client, study):  # noqa: F811
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    token = participant.token
    full_client = full_chain_client()

    state_url = reverse("experiments:api_state", args=[token])
    full = full_client.get(state_url)
    status, headers, content = call_wsgi("GET", state_url)
    assert status == 200 and json.loads(content) == full.json()
    state = full.json()

    trial_url = reverse("experiments:api_trial", args=[token, 0])
    full = full_client.get(trial_url)
    status, headers, content = call_wsgi("GET", trial_url)
    lean = json.loads(content)
    assert status == 200
    expected = json.loads(full.content)
    # Media URLs and the presentation token are sealed afresh on each fetch; everything else is identical.
    assert all(m.pop("url").startswith("/w/m/") for m in lean["media"] + expected["media"])
    assert lean.pop("presentation") != expected.pop("presentation")
    assert lean == expected
    for name in RESPONSE_HEADERS:
        assert headers.get(name) == full.headers.get(name), name
    assert int(headers["Content-Length"]) == len(content)  # no chunked encoding for the API

    body = json.dumps(answer_body(state, 0, trial=json.loads(content), rating=4)).encode()
    status, headers, content = call_wsgi("POST", reverse("experiments:api_answer", args=[token]), body)
    assert status == 200 and json.loads(content)["replayed"] is False
    assert int(headers["Content-Length"]) == len(content)
    status, _, content = call_wsgi("POST", reverse("experiments:api_answer", args=[token]), body)
    assert status == 200 and json.loads(content)["replayed"] is True
    assert Response.objects.filter(assignment__participant=participant).count() == 1

    # Unknown sessions and refused answers keep their status codes, bodies and security headers.
    for method, path, body in (
        ("GET", reverse("experiments:api_trial", args=["no-such-token", 0]), b""),
        ("GET", reverse("experiments:api_state", args=["no-such-token"]), b""),
        ("GET", reverse("experiments:api_trial", args=[token, 40]), b""),
        ("POST", reverse("experiments:api_answer", args=[token]), b"{not json"),
    ):
        status, headers, content = call_wsgi(method, path, body)
        if method == "GET":
            full = full_client.get(path)
        else:
            full = full_client.post(path, body, content_type="application/json")
        assert (status, content) == (full.status_code, full.content), path
        assert status in (400, 403, 404)
        for name in RESPONSE_HEADERS:
            assert headers.get(name) == full.headers.get(name), (path, name)
        assert headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"


def test_the_remembered_resolution_is_django_s_and_follows_a_changed_urlconf():
    from webapp.lean import resolve_cached

    path = "/w/s/some-session-token/api/answers"
    first, again = resolve_cached(path), resolve_cached(path)
    assert first is again  # remembered
    expected = resolve(path)
    assert (first.func, first.args, first.kwargs, first.view_name) == (
        expected.func,
        expected.args,
        expected.kwargs,
        expected.view_name,
    )
    # Another URLconf (Django builds a new resolver for it) is never answered from the old one's matches.
    with override_settings(ROOT_URLCONF="tests.webapp.empty_urls"), pytest.raises(Resolver404):
        resolve_cached(path)
    assert resolve_cached(path).func is expected.func


def test_a_huge_path_is_resolved_but_not_remembered():
    from webapp import lean

    path = f"/w/s/{'x' * 100_000}/api/answers"  # any token string matches the worker URL pattern
    before = lean._resolve.cache_info().currsize
    assert lean.resolve_cached(path).func is resolve("/w/s/token/api/answers").func
    assert lean._resolve.cache_info().currsize == before
    short = "/w/s/a-new-token/api/answers"
    lean.resolve_cached(short)
    assert lean._resolve.cache_info().currsize == before + 1
