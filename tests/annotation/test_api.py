"""The import API: staff only, clear 400s, per-file outcomes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.models import ImportBatch, MusicTrack, Video
from tests.support.media import copy_to

pytestmark = pytest.mark.django_db

UPLOADS = reverse("annotation:api-uploads")
IMPORTS = reverse("annotation:api-imports")


def upload(client, path, **fields):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **fields}
    return client.post(UPLOADS, data)


def test_the_api_needs_a_staff_login(client, django_user_model, media_files):
    assert upload(client, media_files["video"], kind="video", label="x").status_code in (401, 403)
    assert client.get(IMPORTS).status_code in (401, 403)
    client.force_login(django_user_model.objects.create_user("worker", password="not staff at all"))
    assert upload(client, media_files["video"], kind="video", label="x").status_code == 403
    assert not Video.objects.exists()


def test_uploading_a_good_file_imports_it_and_a_second_time_is_a_duplicate(staff_client, media_files):
    first = upload(staff_client, media_files["music"], kind="music", label="jazz", license="CC0-1.0")
    again = upload(staff_client, media_files["music"], kind="music", label="jazz")

    assert first.status_code == 201, first.json()
    assert first.json()["outcome"] == "imported" and first.json()["path"] == "upload:melody.ogg"
    track = MusicTrack.objects.get()
    assert (track.label, track.license, track.original_name) == ("jazz", "CC0-1.0", "melody.ogg")
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert ImportBatch.objects.filter(source="upload").count() == 2


def test_a_rejected_upload_is_a_400_with_the_reason(staff_client, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 2000)
    response = upload(staff_client, bad, kind="video", label="city")

    assert response.status_code == 400
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["detail"].startswith("broken.mp4 was rejected: truncated or incomplete file")
    assert not Video.objects.exists()


def test_malformed_upload_requests_get_field_errors(staff_client, media_files, settings):
    missing = staff_client.post(UPLOADS, {"kind": "video"})
    assert missing.status_code == 400
    assert set(missing.json()) == {"file", "label"}

    wrong_kind = upload(staff_client, media_files["video"], kind="hologram", label="x")
    assert wrong_kind.status_code == 400 and "kind" in wrong_kind.json()

    settings.MVFIT_MAX_UPLOAD_MB = 0
    too_big = upload(staff_client, media_files["video"], kind="video", label="x")
    assert too_big.status_code == 413
    assert too_big.json() == {"detail": "the file is larger than the 0 MB upload limit"}


def test_server_side_folder_import_inside_the_import_roots(
    staff_client, media_files, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MVFIT_IMPORT_ROOTS = [tmp_path.resolve()]
    folder = tmp_path / "incoming"
    copy_to(media_files["video"], folder / "city" / "a.mp4")
    copy_to(media_files["silent"], folder / "quiet" / "b.ogg")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            IMPORTS, {"source": "folder", "path": str(folder)}, content_type="application/json"
        )

    assert response.status_code == 202, response.json()
    detail = staff_client.get(reverse("annotation:api-import-detail", args=[response.json()["id"]])).json()
    assert detail["finished"] is True
    assert (detail["n_imported"], detail["n_rejected"]) == (1, 1)
    assert {i["outcome"] for i in detail["items"]} == {"imported", "rejected"}
    assert staff_client.get(IMPORTS).json()["count"] == 1


def test_server_side_imports_outside_the_roots_or_of_bad_manifests_are_400(staff_client, tmp_path, settings):
    settings.MVFIT_IMPORT_ROOTS = [(tmp_path / "allowed").resolve()]
    (tmp_path / "allowed").mkdir()
    outside = staff_client.post(IMPORTS, {"source": "folder", "path": "/etc"}, content_type="application/json")
    assert outside.status_code == 400
    assert outside.json()["path"][0].startswith("not found, or outside the folders this import may read")

    manifest = tmp_path / "allowed" / "m.csv"
    manifest.write_text("file,genre\na.ogg,jazz\n")
    bad = staff_client.post(IMPORTS, {"source": "manifest", "path": str(manifest)}, content_type="application/json")
    assert bad.status_code == 400
    assert "lacks required column(s) kind, label" in bad.json()["path"][0]

    folder_as_manifest = staff_client.post(
        IMPORTS, {"source": "manifest", "path": str(tmp_path / "allowed")}, content_type="application/json"
    )
    assert folder_as_manifest.status_code == 400
    assert not ImportBatch.objects.exists()


def test_progress_reports_library_counts(staff_client):
    body = staff_client.get(reverse("annotation:api-progress")).json()
    assert body["videos"] == 0
    assert body["pairings"] == {"pending": 0, "rendering": 0, "ready": 0, "failed": 0, "total": 0}


def test_an_upload_named_html_is_refused_even_when_its_content_is_playable_media(staff_client, media_files):
    # A polyglot: real Ogg bytes (ffmpeg reads them) under a name a browser would render as a page.
    response = staff_client.post(
        UPLOADS,
        {"file": SimpleUploadedFile("x.html", media_files["music"].read_bytes()), "kind": "music", "label": "jazz"},
    )

    assert response.status_code == 400
    assert response.json()["reason"].startswith("not a media file name (.html); accepted: .aac, .avi,")
    assert not MusicTrack.objects.exists()


def test_the_stored_name_takes_its_extension_from_the_probed_container_not_the_client(staff_client, media_files):
    response = upload_as(staff_client, media_files["music"], "trick.webm", kind="music", label="jazz")
    video = upload_as(staff_client, media_files["video"], "clip.MOV", kind="video", label="city")

    assert response.status_code == 201, response.json()
    track = MusicTrack.objects.get()
    assert track.file.name.endswith(f"{track.sha256}.ogg") and track.original_name == "trick.webm"
    assert video.status_code == 201, video.json()
    assert Video.objects.get().file.name.endswith(".mp4")


def upload_as(client, path, name, **fields):
    return client.post(UPLOADS, {"file": SimpleUploadedFile(name, path.read_bytes()), **fields})
