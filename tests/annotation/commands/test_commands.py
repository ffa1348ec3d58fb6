"""import_media, sample_excerpts and render on the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from annotation.models import MusicExcerpt, Pairing, RenderState, Video, VideoClip
from tests.support.media import copy_to

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, verbosity=0, **kwargs)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path, media_files):
    # Deliberately the media storage's own folder (MEDIA_ROOT is tmp_path/"media" in tests): the stored
    # copies under library/ must not be picked up by the second import.
    root = tmp_path / "media"
    copy_to(media_files["video"], root / "city" / "a.mp4")
    copy_to(media_files["video2"], root / "forest" / "b.mp4")
    copy_to(media_files["music"], root / "jazz" / "c.ogg")
    copy_to(media_files["silent"], root / "jazz" / "quiet.ogg")
    return root


def test_import_media_reports_outcomes_and_reasons(folder):
    output = run("import_media", str(folder))

    assert "3 imported, 0 duplicate, 1 rejected" in output
    assert "quiet.ogg: silent: the audio never rises above" in output
    assert sorted(Video.objects.values_list("label", flat=True)) == ["city", "forest"]
    assert "0 imported, 3 duplicate, 1 rejected" in run("import_media", str(folder))


def test_import_media_refuses_bad_arguments_clearly(tmp_path, media_files):
    with pytest.raises(CommandError, match="does not exist"):
        run("import_media", str(tmp_path / "nope"))
    with pytest.raises(CommandError, match="needs --label"):
        run("import_media", str(media_files["video"]))
    bad = tmp_path / "manifest.csv"
    bad.write_text("file,genre\n")
    with pytest.raises(CommandError, match=r"lacks required column\(s\) kind, label"):
        run("import_media", str(bad))
    with pytest.raises(
        CommandError, match=r"holds no media files to import\. To import a manifest, pass .*manifest\.csv"
    ):
        run("import_media", str(tmp_path))


@pytest.mark.django_db(transaction=True)  # tasks are dispatched on commit, as in production
def test_sample_then_render_the_whole_library_eagerly(folder):
    run("import_media", str(folder))
    sampled = run("sample_excerpts", seed=5, duration=1.5, per_video=2)
    assert "seed 5: 4 clips and 1 excerpts created" in sampled

    rendered = run("render")

    assert "library: 4 new pairings" in rendered
    assert "pairings: 4 ready, 0 failed, 0 still queued (of 4)" in rendered
    assert set(Pairing.objects.values_list("state", flat=True)) == {RenderState.READY}
    assert set(VideoClip.objects.values_list("state", flat=True)) == {RenderState.READY}
    assert set(MusicExcerpt.objects.values_list("state", flat=True)) == {RenderState.READY}


def test_render_rejects_unknown_pairings_and_says_when_there_is_nothing_to_do():
    assert "nothing to render" in run("render")
    with pytest.raises(CommandError, match=r"unknown pairing ids: \[41, 42\]"):
        run("render", pairing_ids=[41, 42])
    with pytest.raises(CommandError, match="--stall-timeout must be a positive number of seconds, not -1"):
        run("render", stall_timeout=-1)
