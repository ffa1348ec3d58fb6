"""Upload bodies over the limit are refused before they are read (issue 10, finding 10)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from annotation.models import ImportBatch, MusicTrack

pytestmark = pytest.mark.django_db

UPLOADS = reverse("annotation:api-uploads")
MB = 1024 * 1024


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        raise AssertionError("the request body was read")

    readinto = readline = read


class Counting(io.BytesIO):
    """A request body that remembers how much of it was read."""

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed = getattr(self, "consumed", 0) + len(chunk)
        return chunk


@pytest.mark.parametrize("logged_in", [True, False])
def test_a_body_declared_over_the_limit_is_refused_without_reading_it(client, staff_user, settings, logged_in):
    settings.MVFIT_MAX_UPLOAD_MB = 20
    if logged_in:
        client.force_login(staff_user)

    response = client.generic(
        "POST",
        UPLOADS,
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(30 * MB),
        **{"wsgi.input": Untouchable()},
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "the request body (30.0 MB) is larger than the 20 MB upload limit"}
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("csrf_checks", [False, True])  # with CSRF checks, DRF's session auth parses the body
def test_a_file_part_over_the_limit_stops_the_upload_while_it_streams(staff_user, settings, tmp_path, csrf_checks):
    staff_client = Client(enforce_csrf_checks=csrf_checks)
    staff_client.force_login(staff_user)
    staff_client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32  # then the check looks for the form's token
    settings.MVFIT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # spool to disk, to see the partial file removed
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    payload = encode_multipart(
        BOUNDARY,
        {"kind": "music", "label": "jazz", "file": SimpleUploadedFile("big.ogg", b"\0" * (2 * MB))},
    )
    body = Counting(payload)

    response = staff_client.generic(
        "POST", UPLOADS, CONTENT_TYPE=MULTIPART_CONTENT, CONTENT_LENGTH=str(len(payload)), **{"wsgi.input": body}
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "the file is larger than the 1 MB upload limit"}
    assert body.consumed < 1.25 * MB < len(payload)  # stopped soon after the limit, the rest never read
    assert list((tmp_path / "spool").iterdir()) == []
    assert not ImportBatch.objects.exists() and not MusicTrack.objects.exists()


def test_an_upload_within_the_limit_still_imports(staff_client, settings, media_files):
    settings.MVFIT_MAX_UPLOAD_MB = 1
    response = staff_client.post(
        UPLOADS,
        {"file": SimpleUploadedFile("melody.ogg", media_files["music"].read_bytes()), "kind": "music", "label": "j"},
    )
    assert response.status_code == 201, response.json()
