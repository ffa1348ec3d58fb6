"""The demo command end to end (without starting the server) on a tiny synthetic library."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client

from annotation.models import MusicExcerpt, MusicTrack, Pairing, RenderState, Video

# Transactional: the demo's tasks are dispatched on commit, as in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def quick_static(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"  # the synthetic library is generated in here
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def demo(**options) -> str:
    out = io.StringIO()
    call_command(
        "demo",
        no_serve=True,
        synthetic=True,
        videos=2,
        tracks=2,
        music_videos=1,
        media_seconds=3.0,
        excerpt_seconds=1.0,
        stdout=out,
        verbosity=0,
        **options,
    )
    return out.getvalue()


def test_demo_builds_a_playable_library_and_prints_where_to_go(quick_static, monkeypatch):
    monkeypatch.setenv("MVFIT_DEMO_PASSWORD", "demo-secret-123")
    output = demo(port=8123)

    assert "http://127.0.0.1:8123/library/" in output
    assert "http://127.0.0.1:8123/credits/" in output
    assert "http://127.0.0.1:8123/admin/" in output
    assert "Log in as 'experimenter' with password 'demo-secret-123'" in output
    assert authenticate(username="experimenter", password="demo-secret-123").is_staff

    assert Video.objects.count() == 3  # 2 videos + 1 music video
    assert MusicTrack.objects.filter(source_video__isnull=False).count() == 1
    assert MusicExcerpt.objects.filter(ground_truth_clip__isnull=False).count() == 1
    assert Pairing.objects.count() == 3 * 3  # every clip x every excerpt (2 tracks + 1 soundtrack)
    assert set(Pairing.objects.values_list("state", flat=True)) == {RenderState.READY}

    client = Client()
    client.login(username="experimenter", password="demo-secret-123")
    page = client.get("/library/").content.decode()
    url = re.search(r'<video controls preload="none" src="([^"]+)"', page)[1]
    assert client.get(url).status_code == 200
    assert "G pair" in page
    assert "CC0-1.0" in Client().get("/credits/").content.decode()


def test_running_the_demo_again_changes_nothing_and_generates_a_password(quick_static):
    demo()
    rendered = dict(Pairing.objects.values_list("pk", "rendered_at"))
    output = demo()

    assert dict(Pairing.objects.values_list("pk", "rendered_at")) == rendered
    password = re.search(r"with password '([^']+)'", output)[1]
    assert len(password) >= 12 and authenticate(username="experimenter", password=password)
