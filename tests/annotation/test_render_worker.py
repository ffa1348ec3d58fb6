"""Rendering through real `celery worker` processes on Redis, including a worker killed mid-render."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from annotation.files import PARTIAL_PREFIX
from annotation.media import probe
from annotation.models import Pairing, RenderState
from annotation.services import rendering, scheduling
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
from tests.support.media import library_track, library_video
from webapp.celery import app as celery_app

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

# A Redis database of its own: a killed worker leaves its message unacknowledged there, and any worker on
# the same database would restore it once it is older than the visibility timeout — not other test runs'.
PRIVATE_REDIS_DB = 13


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, every: Callable[[], None] = lambda: None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        every()
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def private_broker():
    """Point this process and the workers it starts at a private Redis database.

    Celery reads CELERY_BROKER_URL from the environment before its configuration, and the workers inherit
    this process's environment, so switching the variable (and dropping cached pools) switches both.
    """
    previous = os.environ["CELERY_BROKER_URL"]
    url = f"{previous.rsplit('/', 1)[0]}/{PRIVATE_REDIS_DB}"

    def switch(to: str) -> None:
        os.environ["CELERY_BROKER_URL"] = to
        celery_app._after_fork()  # drop cached connection and producer pools

    switch(url)
    try:
        yield url
    finally:
        switch(previous)


@pytest.fixture
def pairing(media_files):
    clip = VideoClipFactory(video=library_video(media_files["video"]), start_s=0.5, duration_s=2.0)
    excerpt = MusicExcerptFactory(track=library_track(media_files["music"]), start_s=0.0, duration_s=2.0)
    return clip, excerpt


def assert_complete_pairing(path: Path, *, duration_s: float = 2.0) -> None:
    info = probe(path)
    assert info.video is not None and info.audio is not None
    assert not info.decode_errors, info.decode_errors
    assert info.decoded_duration_s == pytest.approx(duration_s, abs=0.1)


def test_a_real_worker_renders_lazily_requested_pairings(private_broker, celery_queue, pairing):
    celery_queue(extra_env={"CELERY_BROKER_URL": private_broker, "MVFIT_RENDER_SIZE": "160x90"})
    clip, excerpt = pairing

    [requested] = scheduling.request_pairings(pairs=[(clip.pk, excerpt.pk)])

    wait_until(
        lambda: Pairing.objects.get(pk=requested.pk).state in (RenderState.READY, RenderState.FAILED),
        timeout=120,
        what="the worker to render the pairing",
    )
    requested.refresh_from_db()
    assert requested.state == RenderState.READY, requested.error
    assert_complete_pairing(Path(settings.MEDIA_ROOT) / requested.rendered_file.name)


def test_a_worker_killed_mid_render_is_recovered_within_two_minutes_of_the_restart(
    private_broker, celery_queue, media_files
):
    """Finding 9: after a kill -9 mid-render and a restart, every pairing is rendered in well under two
    minutes, not after the broker's visibility timeout (kept at its one-hour default here): the restarted
    worker's beat re-queues the rows whose heartbeat went stale. No corrupt file is ever visible."""
    clips = [
        VideoClipFactory(video=library_video(media_files[name]), start_s=0.0, duration_s=1.0)
        for name in ("video", "video2")
    ]
    excerpts = [
        MusicExcerptFactory(track=library_track(media_files[name]), start_s=0.5, duration_s=1.0)
        for name in ("music", "music2")
    ]
    # The first worker prepares clips slowly (1080p, x264 "veryslow"), so it is surely killed mid-encode.
    slow = celery_queue(
        extra_env={
            "CELERY_BROKER_URL": private_broker,
            "MVFIT_RENDER_SIZE": "1920x1080",
            "MVFIT_RENDER_PRESET": "veryslow",
        }
    )
    pairings = scheduling.request_pairings(pairs=[(c.pk, e.pk) for c in clips for e in excerpts])
    media = Path(settings.MEDIA_ROOT)
    finals = [media / rendering.pairing_storage_name(p.pk) for p in pairings]
    finals += [media / rendering.clip_storage_name(c.pk) for c in clips]
    finals += [media / rendering.excerpt_storage_name(e.pk) for e in excerpts]

    def no_corrupt_file_under_a_final_name() -> None:
        for path in finals:
            if path.exists():
                info = probe(path)
                assert info.open_error is None and not info.decode_errors, f"corrupt file visible at {path}"

    wait_until(
        lambda: any((media / "prepared" / "clips").rglob(f"{PARTIAL_PREFIX}*")),
        timeout=120,
        what="the first worker to start encoding a clip",
        every=no_corrupt_file_under_a_final_name,
    )
    slow.kill_hard()
    assert Pairing.objects.filter(state=RenderState.RENDERING).exists()  # killed mid-render

    celery_queue(
        beat=True,
        extra_env={
            "CELERY_BROKER_URL": private_broker,
            "MVFIT_RENDER_SIZE": "160x90",
            "MVFIT_RENDER_HEARTBEAT_S": "1",
            "MVFIT_RENDER_STALE_AFTER_S": "4",
            "MVFIT_RENDER_REAP_EVERY_S": "1",
        },
    )
    restarted = time.monotonic()
    ids = [p.pk for p in pairings]
    wait_until(
        lambda: (
            not Pairing.objects.filter(pk__in=ids).exclude(state__in=[RenderState.READY, RenderState.FAILED]).exists()
        ),
        timeout=120,
        what="every pairing to be rendered after the restart",
        every=no_corrupt_file_under_a_final_name,
    )
    recovered_s = time.monotonic() - restarted
    for pairing in Pairing.objects.filter(pk__in=ids):
        assert pairing.state == RenderState.READY, pairing.error
        assert_complete_pairing(media / pairing.rendered_file.name, duration_s=1.0)
        assert probe(media / pairing.rendered_file.name).video.width == 160  # made after the restart
    assert Pairing.objects.filter(pk__in=ids, attempts=2).exists()  # the killed render, started again
    # At most the killed encode's own partial file is left (never published; removed when an hour old).
    assert len(list(media.rglob(f"{PARTIAL_PREFIX}*"))) <= 1
    assert recovered_s < 120
    print(f"all {len(ids)} pairings rendered {recovered_s:.1f} s after the restart")


def test_the_render_command_follows_real_workers_through_the_database(celery_queue, media_files):
    celery_queue(extra_env={"MVFIT_RENDER_SIZE": "160x90"})
    videos = [library_video(media_files[name]) for name in ("video", "video2")]
    tracks = [library_track(media_files[name]) for name in ("music", "music2")]
    for video in videos:
        VideoClipFactory(video=video, start_s=0.0, duration_s=1.0)
    for track in tracks:
        MusicExcerptFactory(track=track, start_s=0.5, duration_s=1.0)
    out = io.StringIO()

    call_command("render", stall_timeout=120, stdout=out, verbosity=0)

    assert "library: 4 new pairings" in out.getvalue()
    assert "pairings: 4 ready, 0 failed, 0 still queued (of 4)" in out.getvalue()
    for pairing in Pairing.objects.all():
        assert_complete_pairing(Path(settings.MEDIA_ROOT) / pairing.rendered_file.name, duration_s=1.0)
