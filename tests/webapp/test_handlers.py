"""The production WSGI application: worker API requests take the lean handler and answer the same."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from experiments.models import Response
from tests.experiments.test_worker_api import answer_body, enter, study, through_to_trials  # noqa: F401
from webapp.handlers import WORKER_API_PATH, LeanWSGIHandler, WorkerApiRouter
from webapp.wsgi import application

pytestmark = pytest.mark.django_db

RESPONSE_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Expires",
    "Referrer-Policy",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
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


def test_worker_api_paths_route_to_the_lean_handler_and_the_rest_to_the_full_one():
    assert isinstance(application, WorkerApiRouter) and isinstance(application.lean, LeanWSGIHandler)
    assert WORKER_API_PATH.match("/w/s/abc_DEF-1/api/trials/3")
    assert WORKER_API_PATH.match("/w/s/abc/api/answers")
    for path in ("/w/s/abc/", "/w/s/abc/consent", "/w/m/signed", "/api/experiments/", "/admin/w/s/x/api/"):
        assert not WORKER_API_PATH.match(path), path
    names = set(application.lean.middleware_paths)
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in names
    assert "django.middleware.common.CommonMiddleware" in names  # it sets Content-Length


def test_the_lean_path_answers_exactly_as_the_full_django_stack_does(client, study):  # noqa: F811
    participant, _ = enter(client, study)
    through_to_trials(client, participant)
    token = participant.token

    state_url = reverse("experiments:api_state", args=[token])
    full = client.get(state_url)
    status, headers, content = call_wsgi("GET", state_url)
    assert status == 200 and json.loads(content) == full.json()
    state = full.json()

    trial_url = reverse("experiments:api_trial", args=[token, 0])
    full = client.get(trial_url)
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

    # Unknown sessions and refused answers keep their status codes on the lean path.
    assert call_wsgi("GET", reverse("experiments:api_trial", args=["no-such-token", 0]))[0] == 404
    assert call_wsgi("GET", reverse("experiments:api_trial", args=[token, 40]))[0] == 403
    bad = call_wsgi("POST", reverse("experiments:api_answer", args=[token]), b"{not json")
    assert bad[0] == 400 and json.loads(bad[2])["code"] == "bad_json"
