"""Poster frames: the renderer makes a JPEG thumbnail of each clip; make_posters backfills the rest."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from annotation.models import RenderState, VideoClip
from annotation.services import rendering
from tests.factories.annotation import VideoClipFactory
from tests.support.media import library_video

pytestmark = pytest.mark.django_db


def _poster_size(clip_id: int) -> tuple[int, int]:
    clip = VideoClip.objects.get(pk=clip_id)
    assert clip.poster_file.name == rendering.poster_storage_name(clip_id)
    with Image.open(default_storage.path(clip.poster_file.name)) as image:
        assert image.format == "JPEG"
        return image.size


def test_preparing_a_clip_makes_its_poster(media_files):
    clip = VideoClipFactory(video=library_video(media_files["video"]), start_s=0.5, duration_s=2.0)
    rendering.prepare_clip(clip_id=clip.pk)
    width, height = _poster_size(clip.pk)
    assert width == 320 and height > 0
    assert rendering.make_poster(clip_id=clip.pk) is False  # idempotent: already there


def test_make_posters_backfills_from_the_source_and_skips_undecodable_clips(media_files):
    good = VideoClipFactory(video=library_video(media_files["video"]), start_s=1.0, duration_s=2.0)
    missing = VideoClipFactory()  # its video file is not in storage
    call_command("make_posters", verbosity=0)
    assert _poster_size(good.pk)[0] == 320
    assert VideoClip.objects.get(pk=missing.pk).poster_file == ""
    leftovers = [p for p in default_storage.listdir(f"prepared/posters/{good.pk // 1000:04d}")[1] if "clip" not in p]
    assert leftovers == []  # no temporary files left behind


def test_sampling_queues_the_new_clips_posters(media_files, django_capture_on_commit_callbacks):
    library_video(media_files["video"])
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        call_command("sample_excerpts", seed=7, duration=1.0, stdout=out)
    assert len(queued) == 1
    (clip,) = VideoClip.objects.all()
    assert clip.state == RenderState.PENDING  # not prepared, yet it has its thumbnail
    assert _poster_size(clip.pk)[0] == 320
    assert "poster frames: 1 clips queued" in out.getvalue()
    again = StringIO()
    call_command("sample_excerpts", seed=7, duration=1.0, stdout=again)
    assert "poster frames" not in again.getvalue()  # nothing left to do
