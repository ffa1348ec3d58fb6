"""Rendering: prepare once, mux by stream copy, idempotent and atomic."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotation import files
from annotation.media import FFmpegError, probe
from annotation.media import render as render_module
from annotation.models import MusicExcerpt, Pairing, RenderState, VideoClip
from annotation.services import rendering, scheduling
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
from tests.support.media import library_track, library_video, storage_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def clip_and_excerpts(media_files):
    clip = VideoClipFactory(video=library_video(media_files["video"]), start_s=0.5, duration_s=2.0)
    excerpts = [
        MusicExcerptFactory(track=library_track(media_files["music"]), start_s=1.0, duration_s=2.0),
        MusicExcerptFactory(track=library_track(media_files["music2"]), start_s=0.0, duration_s=2.0),
    ]
    return clip, excerpts


def test_request_pairings_renders_playable_files_with_picture_and_sound(
    clip_and_excerpts, django_capture_on_commit_callbacks
):
    clip, excerpts = clip_and_excerpts
    with django_capture_on_commit_callbacks(execute=True):
        pairings = scheduling.request_pairings(pairs=[(clip.pk, e.pk) for e in excerpts])

    assert [(p.clip_id, p.excerpt_id) for p in pairings] == [(clip.pk, e.pk) for e in excerpts]
    for pairing in pairings:
        pairing.refresh_from_db()
        assert pairing.state == RenderState.READY, pairing.error
        assert pairing.rendered_file.name == rendering.pairing_storage_name(pairing.pk)
        info = probe(storage_path(pairing.rendered_file.name))
        assert info.video is not None and (info.video.width, info.video.height) == (96, 64)
        assert info.audio is not None and info.audio.codec == "aac"
        assert info.decoded_duration_s == pytest.approx(2.0, abs=0.1)
        assert not info.decode_errors
    clip.refresh_from_db()
    assert clip.state == RenderState.READY
    assert probe(storage_path(clip.prepared_file.name)).audio is None  # the clip is picture only
    for excerpt in excerpts:
        excerpt.refresh_from_db()
        assert excerpt.loudness_lufs == pytest.approx(-23.0, abs=1.5)


def test_pairings_are_muxed_by_stream_copy_never_reencoded(clip_and_excerpts, monkeypatch):
    clip, excerpts = clip_and_excerpts
    rendering.render_pairings(pairing_ids=[Pairing.objects.create(clip=clip, excerpt=excerpts[0]).pk])
    calls = []
    real_run = render_module.run_ffmpeg
    monkeypatch.setattr(
        render_module, "run_ffmpeg", lambda args, **kw: calls.append(list(args)) or real_run(args, **kw)
    )

    rendering.render_pairings(pairing_ids=[Pairing.objects.create(clip=clip, excerpt=excerpts[1]).pk])

    # The clip was prepared for the first pairing; the second needs its excerpt prepared, then one mux.
    mux_calls = [args for args in calls if "copy" in args]
    assert len(mux_calls) == 1
    assert "libx264" not in mux_calls[0] and "aac" not in mux_calls[0]
    assert not [args for args in calls if "libx264" in args]


def test_rendering_twice_yields_one_file_and_skips_the_second_time(clip_and_excerpts):
    clip, excerpts = clip_and_excerpts
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpts[0])

    first = rendering.render_pairings(pairing_ids=[pairing.pk])
    path = storage_path(rendering.pairing_storage_name(pairing.pk))
    stat = path.stat()
    second = rendering.render_pairings(pairing_ids=[pairing.pk])

    assert first.rendered == [pairing.pk] and second.skipped == [pairing.pk]
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    pairing.refresh_from_db()
    assert pairing.attempts == 1


def test_a_crash_mid_mux_publishes_nothing_and_leaves_no_partial_file(clip_and_excerpts, monkeypatch):
    clip, excerpts = clip_and_excerpts
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpts[0])

    def half_written_then_crash(*, clip, outputs):
        for _, output in outputs:
            output.write_bytes(b"\x00\x00\x00\x18ftypmp42 half a file")
        raise KeyboardInterrupt  # not an error the service handles: the process dies here

    monkeypatch.setattr(rendering, "mux_pairings", half_written_then_crash)
    with pytest.raises(KeyboardInterrupt):
        rendering.render_pairings(pairing_ids=[pairing.pk])

    final = storage_path(rendering.pairing_storage_name(pairing.pk))
    assert not final.exists()
    assert not list(final.parent.glob(f"{files.PARTIAL_PREFIX}*"))
    pairing.refresh_from_db()
    assert pairing.state != RenderState.READY and not pairing.rendered_file


def test_a_permanent_ffmpeg_error_marks_the_pairing_failed_with_the_reason(clip_and_excerpts, monkeypatch):
    clip, excerpts = clip_and_excerpts
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpts[0])

    def broken(**kwargs):
        raise FFmpegError("ffmpeg failed (exit 1)", stderr_tail="Invalid data found when processing input")

    monkeypatch.setattr(rendering, "mux_pairings", broken)
    outcome = rendering.render_pairings(pairing_ids=[pairing.pk])

    pairing.refresh_from_db()
    assert pairing.state == RenderState.FAILED
    assert "Invalid data found" in pairing.error
    assert outcome.failed == {pairing.pk: pairing.error}


def test_a_missing_source_fails_the_clip_and_its_pairings(clip_and_excerpts):
    clip, excerpts = clip_and_excerpts
    storage_path(clip.video.file.name).unlink()
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpts[0])

    rendering.render_pairings(pairing_ids=[pairing.pk])

    pairing.refresh_from_db()
    clip.refresh_from_db()
    assert clip.state == RenderState.FAILED and "missing" in clip.error
    assert pairing.state == RenderState.FAILED and f"clip {clip.pk} could not be prepared" in pairing.error


def test_request_pairings_is_idempotent_and_keeps_the_callers_order(clip_and_excerpts):
    clip, excerpts = clip_and_excerpts
    pairs = [(clip.pk, excerpts[1].pk), (clip.pk, excerpts[0].pk), (clip.pk, excerpts[1].pk)]
    first = scheduling.request_pairings(pairs=pairs)
    again = scheduling.request_pairings(pairs=pairs)

    assert [p.pk for p in first] == [p.pk for p in again]
    assert first[0].pk == first[2].pk
    assert Pairing.objects.count() == 2


def test_request_pairings_rejects_unknown_ids_and_creates_nothing(clip_and_excerpts):
    clip, excerpts = clip_and_excerpts
    with pytest.raises(ValidationError, match=r"unknown music excerpt ids \[999999\]"):
        scheduling.request_pairings(pairs=[(clip.pk, excerpts[0].pk), (clip.pk, 999999)])
    assert not Pairing.objects.exists()


def test_schedule_render_sends_one_batch_per_clip_and_skips_rendered(monkeypatch, django_capture_on_commit_callbacks):
    clips = VideoClipFactory.create_batch(2)
    excerpts = MusicExcerptFactory.create_batch(5)
    pairings = [Pairing.objects.create(clip=c, excerpt=e) for c in clips for e in excerpts]
    pairings[0].state = RenderState.READY
    pairings[0].save()
    pairings[1].state = RenderState.FAILED
    pairings[1].error = "boom"
    pairings[1].save()
    sent = []
    monkeypatch.setattr(scheduling, "_dispatch_render", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        scheduled = scheduling.schedule_render(pairing_ids=[p.pk for p in pairings])

    assert scheduled == 9
    assert sent == [[p.pk for p in pairings[1:5]], [p.pk for p in pairings[5:9]], [pairings[9].pk]]
    assert Pairing.objects.get(pk=pairings[1].pk).state == RenderState.PENDING


def test_library_mode_creates_the_full_factorial_design_once():
    VideoClipFactory.create_batch(3)
    MusicExcerptFactory.create_batch(4)
    assert rendering.create_library_pairings() == 12
    assert rendering.create_library_pairings() == 0
    assert Pairing.objects.count() == 12
    assert VideoClip.objects.count() * MusicExcerpt.objects.count() == 12
