"""The whole pipeline on S3 storage (moto): import, prepare, render, download for local tools."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from moto import mock_aws

from annotation.files import is_local, local_path
from annotation.media import probe
from annotation.models import ImportItem, Pairing, RenderState
from annotation.services import imports, rendering, scheduling
from annotation.services.sampling import sample_excerpts

pytestmark = pytest.mark.django_db

BUCKET = "mvfit-test-media"


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": "us-east-1",
                    "location": "media",
                    "file_overwrite": True,
                    "default_acl": None,
                    "querystring_auth": True,
                },
            },
        }
        default_storage.connection.create_bucket(Bucket=BUCKET)
        yield default_storage


def keys(storage) -> list[str]:
    return sorted(obj.key for obj in storage.bucket.objects.all())


def test_import_sample_and_render_through_s3(s3, media_files, django_capture_on_commit_callbacks):
    assert not is_local(s3)
    video = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="studio")
    track = imports.import_single_file(path=media_files["music"], kind="music", label="jazz")
    assert video.outcome == track.outcome == ImportItem.Outcome.IMPORTED
    sample_excerpts(seed=1, duration_s=1.5, avoid_silence=True)

    pairs = [
        (clip.pk, excerpt.pk)
        for clip in video.video.clips.all()
        for excerpt in [*video.track.excerpts.all(), *track.track.excerpts.all()]
    ]
    with django_capture_on_commit_callbacks(execute=True):
        pairings = scheduling.request_pairings(pairs=pairs)

    stored = keys(s3)
    assert len([k for k in stored if k.startswith("media/library/")]) == 3  # video, its soundtrack, the track
    for pairing in pairings:
        pairing.refresh_from_db()
        assert pairing.state == RenderState.READY, pairing.error
        assert f"media/{rendering.pairing_storage_name(pairing.pk)}" in stored
        assert "Signature=" in pairing.rendered_file.url  # a signed, expiring URL
        with local_path(pairing.rendered_file) as path:
            info = probe(path)
            assert info.video and info.audio and not info.decode_errors
    assert not [k for k in stored if ".partial-" in k]

    again = rendering.render_pairings(pairing_ids=[p.pk for p in pairings])
    assert sorted(again.skipped) == sorted(p.pk for p in pairings)
    assert keys(s3) == stored


def test_a_failed_import_leaves_no_object_behind_in_s3(s3, media_files, monkeypatch):
    def explode(**kwargs):
        raise OSError("network went away mid-import")

    monkeypatch.setattr(imports, "extract_soundtrack", explode)
    item = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="studio")

    assert item.outcome == ImportItem.Outcome.REJECTED
    assert keys(s3) == []
    assert not Pairing.objects.exists()
