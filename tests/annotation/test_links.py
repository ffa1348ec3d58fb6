"""Source links are http(s) only, at every edge: manifests, the upload API, the admin, the database, and
the credits page, which never renders anything else as a link (issue 10, finding 4)."""

from __future__ import annotations

import csv
import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from annotation.models import ImportItem, MusicTrack, Video
from annotation.services import imports
from tests.factories.annotation import MusicTrackFactory, VideoFactory
from tests.support.media import copy_to

pytestmark = pytest.mark.django_db

HOSTILE_URLS = [
    "javascript:fetch('/api/library/imports/',{method:'POST'})",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://example.org/melody.ogg",
    "//evil.example/x",
    "https:/no-host",
]


def write_manifest(folder, rows):
    path = folder / "manifest.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "kind", "label", "source_url"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_manifest_row_with_a_non_http_source_url_is_rejected_with_the_reason(tmp_path, media_files, url):
    copy_to(media_files["music"], tmp_path / "hostile.ogg")
    copy_to(media_files["music2"], tmp_path / "fine.m4a")
    manifest = write_manifest(
        tmp_path,
        [
            {"file": "hostile.ogg", "kind": "music", "label": "jazz", "source_url": url},
            {"file": "fine.m4a", "kind": "music", "label": "jazz", "source_url": "https://example.org/fine"},
        ],
    )

    batch = imports.import_manifest(manifest=manifest)

    hostile = batch.items.get(path__endswith="hostile.ogg")
    assert hostile.outcome == ImportItem.Outcome.REJECTED
    assert hostile.reason.startswith("row 2: source_url must be an http:// or https:// link, not ")
    assert (batch.n_imported, batch.n_rejected) == (1, 1)
    assert list(MusicTrack.objects.values_list("source_url", flat=True)) == ["https://example.org/fine"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/melody.ogg", "data:text/html,x"])
def test_the_upload_api_refuses_a_non_http_source_url(staff_client, media_files, url):
    response = staff_client.post(
        reverse("annotation:api-uploads"),
        {
            "file": SimpleUploadedFile("melody.ogg", media_files["music"].read_bytes()),
            "kind": "music",
            "label": "jazz",
            "source_url": url,
        },
    )

    assert response.status_code == 400
    assert "source_url" in response.json()
    assert not MusicTrack.objects.exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x.mp4"])
def test_the_admin_form_refuses_a_non_http_source_url(staff_client, url):
    video = VideoFactory(source_url="https://example.org/ok")
    form = {
        "label": video.label,
        "title": "t",
        "original_name": video.original_name,
        "duration_s": video.duration_s,
        "metadata": "{}",
        "license": "CC0-1.0",
        "attribution": "",
        "source_url": url,
        "width": video.width,
        "height": video.height,
        "fps": video.fps,
        "audio_codec": "",
    }

    response = staff_client.post(f"/admin/annotation/video/{video.pk}/change/", form)

    assert response.status_code == 200  # the form again, with the error
    assert list(response.context["adminform"].form.errors) == ["source_url"]
    video.refresh_from_db()
    assert video.source_url == "https://example.org/ok"
    fixed = staff_client.post(f"/admin/annotation/video/{video.pk}/change/", {**form, "source_url": "https://x.org/v"})
    assert fixed.status_code == 302
    video.refresh_from_db()
    assert video.source_url == "https://x.org/v"


def test_the_admin_cannot_add_media_around_the_import_service(staff_client):
    assert staff_client.get("/admin/annotation/video/add/").status_code == 403
    assert staff_client.get("/admin/annotation/musictrack/add/").status_code == 403


@pytest.mark.parametrize("factory", [VideoFactory, MusicTrackFactory])
def test_the_database_refuses_a_non_http_source_url(factory):
    asset = factory(source_url="HTTPS://example.org/upper-case-scheme-is-fine")
    with pytest.raises(IntegrityError), transaction.atomic():
        type(asset).objects.filter(pk=asset.pk).update(source_url="javascript:alert(1)")


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_the_credits_page_never_renders_a_non_http_url_as_a_link(url):
    # Unsaved rows: the template's own check, whatever the database holds.
    video = VideoFactory.build(source_url=url, title="v")
    track = MusicTrackFactory.build(source_url="https://example.org/track", title="t")

    html = render_to_string("annotation/credits.html", {"videos": [video], "tracks": [track]})

    assert html.count(">source</a>") == 1
    assert '<a href="https://example.org/track" rel="noopener noreferrer">source</a>' in html


def test_the_migration_sets_aside_unsafe_urls_stored_before_the_constraint():
    with connection.cursor() as cursor:  # rows from before the constraint (DDL is rolled back with the test)
        cursor.execute("ALTER TABLE annotation_video DROP CONSTRAINT video_source_url_http")
        cursor.execute("ALTER TABLE annotation_musictrack DROP CONSTRAINT track_source_url_http")
    video = VideoFactory(source_url="https://example.org/kept")
    hostile = VideoFactory(metadata={"fps_note": "x"})
    track = MusicTrackFactory()
    Video.objects.filter(pk=hostile.pk).update(source_url="javascript:alert(1)")
    MusicTrack.objects.filter(pk=track.pk).update(source_url="data:text/html,x")
    migration = importlib.import_module("annotation.migrations.0004_safe_source_urls_and_import_roots")

    from django.apps import apps

    migration.set_aside_unsafe_source_urls(apps, None)

    hostile.refresh_from_db()
    track.refresh_from_db()
    video.refresh_from_db()
    assert (hostile.source_url, hostile.metadata) == ("", {"fps_note": "x", "unsafe_source_url": "javascript:alert(1)"})
    assert (track.source_url, track.metadata["unsafe_source_url"]) == ("", "data:text/html,x")
    assert video.source_url == "https://example.org/kept"
