"""Credits (public), library browser (staff) and media file serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from annotation.models import Pairing, RenderState
from annotation.services import imports, rendering
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
from tests.support.media import library_track, library_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def rendered_pairing(media_files):
    clip = VideoClipFactory(video=library_video(media_files["video"]), start_s=0, duration_s=1.5)
    excerpt = MusicExcerptFactory(track=library_track(media_files["music"]), start_s=0, duration_s=1.5)
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpt)
    rendering.render_pairings(pairing_ids=[pairing.pk])
    pairing.refresh_from_db()
    assert pairing.state == RenderState.READY
    return pairing


def test_credits_are_public_and_list_licence_and_attribution(client, media_files):
    imports.import_single_file(
        path=media_files["music"],
        kind="music",
        label="jazz",
        license="CC-BY-3.0",
        attribution='"Melody" by Someone',
        source_url="https://example.org/melody",
    )
    imports.import_single_file(path=media_files["music_video"], kind="music_video", label="studio", license="CC0-1.0")

    page = client.get(reverse("annotation:credits"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "CC-BY-3.0" in html and "&quot;Melody&quot; by Someone" in html and "https://example.org/melody" in html
    assert "music video: picture and soundtrack" in html
    assert html.count("<tr>") == 4  # two header rows, the video, the track (soundtrack credited with its video)


def test_the_library_page_plays_rendered_pairings_for_staff_only(staff_client, rendered_pairing):
    assert Client().get(reverse("annotation:library")).status_code == 302

    page = staff_client.get(reverse("annotation:library"), {"kind": "pairings"})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'src="{rendered_pairing.rendered_file.url}"' in html
    assert "1 ready" in html
    assert (
        staff_client.get(reverse("annotation:library"), {"kind": "pairings", "state": "failed"})
        .content.decode()
        .count("<video")
        == 0
    )


def test_rendered_files_are_served_to_staff_with_range_support(staff_client, rendered_pairing):
    client = staff_client
    url = rendered_pairing.rendered_file.url
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp4"
    body = b"".join(whole.streaming_content)

    part = client.get(url, HTTP_RANGE="bytes=10-109")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-109/{len(body)}"
    assert b"".join(part.streaming_content) == body[10:110]
    tail = client.get(url, HTTP_RANGE="bytes=-16")
    assert b"".join(tail.streaming_content) == body[-16:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(body)}-").status_code == 416


def test_media_is_staff_only_and_paths_cannot_escape_media(staff_client, rendered_pairing):
    anonymous = Client()
    for field_file in (rendered_pairing.rendered_file, rendered_pairing.clip.video.file):
        assert anonymous.get(field_file.url).status_code == 404  # workers use the experiments' signed URLs
        assert staff_client.get(field_file.url).status_code == 200
    assert staff_client.get("/media/../webapp/settings.py").status_code == 404
    partial = Path(default_storage.path(rendered_pairing.rendered_file.name)).with_name(".partial-abc-pairing-1.mp4")
    partial.write_bytes(b"half a file")
    assert staff_client.get("/media/pairings/0000/.partial-abc-pairing-1.mp4").status_code == 404


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("library/x/evil.html", "application/octet-stream", "attachment"),
        ("library/x/evil.htm", "application/octet-stream", "attachment"),
        ("library/x/evil.svg", "application/octet-stream", "attachment"),
        ("library/x/no_extension", "application/octet-stream", "attachment"),
        ("library/x/clip.mkv", "video/x-matroska", "attachment"),
        ("library/x/clip.mp4", "video/mp4", None),
        ("library/x/song.m4a", "audio/mp4", None),
        ("library/x/song.ogg", "audio/ogg", None),
    ],
)
def test_stored_files_are_served_as_media_or_as_a_download_never_as_a_page(
    staff_client, name, content_type, disposition
):
    # Whatever is in storage (rows imported before stored names followed the container, a stray file):
    # a browser never renders it as HTML on the staff origin.
    path = Path(default_storage.path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"<html><script>fetch('/api/library/imports/')</script></html>")

    response = staff_client.get(f"/media/{name}")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.get("Content-Disposition") == disposition
