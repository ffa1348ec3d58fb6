"""The Content-Security-Policy of every kind of response, from its one home (webapp/csp.py + settings)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.urls import reverse

from analysis.report import CSS
from experiments.models import Participant
from tests.experiments.test_worker_api import answer_body, enter, study, through_to_trials  # noqa: F401
from webapp import csp

pytestmark = pytest.mark.django_db

STAFF = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/library/", "/credits/", "/experiments/", "/admin/", "/api/experiments/", "/"])
def test_staff_pages_the_admin_and_the_api_get_the_strict_policy(staff_client, path):
    response = staff_client.get(path)
    assert sorted(directives(response).items()) == sorted(
        (part.split()[0], part.split()[1:]) for part in STAFF.split("; ")
    )
    assert "unsafe" not in response["Content-Security-Policy"]


def test_worker_pages_and_the_worker_api_get_the_same_policy_framed_by_mturk(client, study, settings):  # noqa: F811
    participant, _ = enter(client, study)
    page = through_to_trials(client, participant)
    worker = {**directives(client.get(reverse("admin:login"))), "frame-ancestors": ["'self'", "https://x.example"]}
    settings.MVFIT_WORKER_FRAME_ANCESTORS = "'self' https://x.example"
    responses = [
        client.get(page),
        client.get(reverse("experiments:api_state", args=[participant.token])),
        client.get(reverse("experiments:api_trial", args=[participant.token, 0])),
        client.get(reverse("mturk:entry", args=[study.slug])),  # the MTurk preview
        client.get(reverse("experiments:invite", args=["not-a-token"])),  # a worker message page
    ]
    for response in responses:
        assert directives(response) == worker, response.wsgi_request.path


def test_only_the_mturk_completion_page_may_post_to_mturk(client, study, settings):  # noqa: F811
    settings.MTURK_SUBMIT_HOSTS = ["https://workersandbox.mturk.com", "https://www.mturk.com"]
    participant, _ = enter(client, study)
    page = through_to_trials(client, participant)
    assert directives(client.get(page))["form-action"] == ["'self'"]
    Participant.objects.filter(pk=participant.pk).update(
        source="mturk", turk_submit_to="https://workersandbox.mturk.com", assignment_id="3ASSIGNMENT"
    )
    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    assignment = participant.assignments.get()
    for position in range(state["total"]):
        fetched = client.get(reverse("experiments:api_trial", args=[participant.token, position])).json()
        trial = assignment.bundle.trials.get(position=position)
        rating = trial.catch.expected_rating if trial.catch_id else 5
        body = answer_body(state, position, trial=fetched, rating=rating)
        url = reverse("experiments:api_answer", args=[participant.token])
        assert client.post(url, json.dumps(body), content_type="application/json").status_code == 200

    done = client.get(page)

    assert b"mturk-submit-form" in done.content
    assert directives(done)["form-action"] == ["'self'", *settings.MTURK_SUBMIT_HOSTS]
    assert directives(done)["script-src"] == ["'self'"]


def test_media_in_s3_is_allowed_from_the_object_store_origin_only(staff_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "media",
                "endpoint_url": "https://minio.example.org:9000",
                "addressing_style": "path",
                "access_key": "k",
                "secret_key": "s",
                "region_name": "us-east-1",
            },
        },
    }
    assert csp.media_sources() == ("https://minio.example.org:9000",)
    assert directives(staff_client.get("/experiments/"))["media-src"] == ["'self'", "https://minio.example.org:9000"]
    assert directives(staff_client.get("/library/"))["img-src"] == ["'self'", "https://minio.example.org:9000"]
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    assert "media-src" not in directives(staff_client.get("/experiments/"))
    assert "img-src" not in directives(staff_client.get("/library/"))


def test_the_demo_report_may_use_exactly_its_own_stylesheet_and_embedded_figures(staff_client, monkeypatch, tmp_path):
    from demo import views as view

    report = tmp_path / "report.html"
    report.write_text(f"<html><head><style>{CSS}</style></head><body>report</body></html>")
    monkeypatch.setattr(view, "demo_paths", lambda: type("Paths", (), {"report_html": report})())

    policy = directives(staff_client.get("/reports/demo/"))

    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    assert policy["style-src"] == ["'self'", f"'sha256-{digest}'"]
    assert policy["img-src"] == ["'self'", "data:"] and policy["script-src"] == ["'self'"]
