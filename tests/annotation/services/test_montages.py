"""Montages in the platform: a request makes S and its baselines, workers build them, provenance is kept."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from annotation.models import Montage, MontageKind, RenderState
from annotation.services import montages
from annotation.services.scheduling import request_montages, retry_montage
from tests.support.montage import FPS, TEST_MODEL, make_montage_library

pytestmark = pytest.mark.django_db

OPTIONS = montages.MontageOptions(segments="fixed:1.5", max_segment_s=2.0, fps=FPS, seed=3)


@pytest.fixture
def library(tmp_path):
    return make_montage_library(tmp_path, clips=8, song_s=5.0, music_video=True)


def _probe_frames(name: str) -> int:
    from training.montage.media import media_duration

    return round(media_duration(default_storage.path(name)) * FPS)


def test_a_request_builds_s_r_anti_and_g_with_provenance_matching_the_file(library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rows = request_montages(song=library.song, model=TEST_MODEL, options=OPTIONS)
    assert [m.kind for m in rows] == [MontageKind.MODEL, MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL]
    built = {m.kind: m for m in Montage.objects.filter(song=library.song)}
    assert all(m.state == RenderState.READY and m.progress == 100 for m in built.values()), [
        (m.kind, m.error) for m in built.values()
    ]
    s = built[MontageKind.MODEL]
    segments = s.provenance["segments"]
    assert s.n_segments == len(segments) >= 3
    assert abs(_probe_frames(s.file.name) - s.duration_s * FPS) <= 1  # the file is as long as its segments
    assert abs(s.duration_s - 5.0) <= 1 / FPS  # ... and as the song (±1 frame)
    assert len({seg["clip_id"] for seg in segments}) == len(segments)  # no clip reused
    assert {seg["clip_id"] for seg in segments} <= {c.pk for c in library.clips}
    text = json.dumps(s.provenance, sort_keys=True, separators=(",", ":"))
    assert s.provenance_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert s.provenance["model"] == TEST_MODEL and s.provenance["seed"] == 3
    assert s.mean_distance == pytest.approx(sum(seg["distance"] for seg in segments) / len(segments))
    assert "/tmp" not in json.dumps(s.provenance)  # storage keys, not a worker's temporary paths
    g = built[MontageKind.ORIGINAL]
    assert g.provenance is None and g.model == "" and abs(g.duration_s - 5.0) < 0.2


def test_the_same_request_twice_builds_nothing_twice_and_seeds_are_deterministic(
    library, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = request_montages(song=library.song, model=TEST_MODEL, options=OPTIONS, baselines=["R"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = request_montages(song=library.song, model=TEST_MODEL, options=OPTIONS, baselines=["R"])
    assert [m.pk for m in again] == [m.pk for m in first] and callbacks == []
    assert montages.build_montage(montage_id=first[0].pk) is None  # a ready montage is left alone
    plan = [seg["clip_id"] for seg in Montage.objects.get(pk=first[1].pk).provenance["segments"]]
    other_seed = montages.MontageOptions(segments="fixed:1.5", max_segment_s=2.0, fps=FPS, seed=3)
    assert other_seed == OPTIONS  # equal options name the same montage, hence the same plan
    reseeded = montages.MontageOptions(segments="fixed:1.5", max_segment_s=2.0, fps=FPS, seed=4)
    with django_capture_on_commit_callbacks(execute=True):
        (_s4, r4) = request_montages(song=library.song, model=TEST_MODEL, options=reseeded, baselines=["R"])
    r4.refresh_from_db()
    assert r4.pk != first[1].pk and r4.state == RenderState.READY
    assert [seg["clip_id"] for seg in r4.provenance["segments"]] != plan or len(plan) < 2


def test_a_corrupt_song_fails_with_a_clear_error_and_leaves_no_file(library, django_capture_on_commit_callbacks):
    with default_storage.open(library.song.file.name, "wb") as handle:
        handle.write(b"not audio at all")
    with django_capture_on_commit_callbacks(execute=True):
        (montage,) = request_montages(song=library.song, model=TEST_MODEL, options=OPTIONS, baselines=[])
    montage.refresh_from_db()
    assert montage.state == RenderState.FAILED and "could not be decoded" in montage.error
    assert not default_storage.exists(montages.storage_name(montage)) and montage.file.name == ""
    with default_storage.open(library.song.file.name, "wb") as handle:  # fixed: retry builds it
        from training.montage.synthetic import make_song

        handle.write(make_song(default_storage.path("x.wav"), duration_s=5.0).read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        retry_montage(montage=montage)
    montage.refresh_from_db()
    assert montage.state == RenderState.READY and montage.attempts == 2


def test_bad_requests_are_refused_before_anything_is_stored(library):
    with pytest.raises(montages.MontageRequestError, match="NAME@VERSION"):
        request_montages(song=library.song, model="no-version", options=OPTIONS)
    with pytest.raises(montages.MontageRequestError, match="nope"):
        request_montages(song=library.song, model="nope@1", options=OPTIONS)
    with pytest.raises(montages.MontageRequestError, match="segmentation"):
        request_montages(song=library.song, model=TEST_MODEL, options=montages.MontageOptions(segments="bars"))
    with pytest.raises(montages.MontageRequestError, match="baselines"):
        request_montages(song=library.song, model=TEST_MODEL, options=OPTIONS, baselines=["S"])
    assert not Montage.objects.exists()


def test_a_library_too_small_for_no_reuse_fails_with_the_generators_reason(
    tmp_path, django_capture_on_commit_callbacks
):
    small = make_montage_library(tmp_path, clips=2, song_s=5.0)
    with django_capture_on_commit_callbacks(execute=True):
        (montage,) = request_montages(song=small.song, model=TEST_MODEL, options=OPTIONS, baselines=[])
    montage.refresh_from_db()
    assert montage.state == RenderState.FAILED and "allow reuse" in montage.error


def test_the_database_refuses_inconsistent_montages(library):
    base = {"song": library.song, "segments": "beats:4", "model": TEST_MODEL}
    for bad in (
        {"kind": MontageKind.MODEL, "strategy": "random"},
        {"kind": MontageKind.ORIGINAL, "strategy": "original"},  # G with a model
        {"kind": MontageKind.RANDOM, "strategy": "random", "model": ""},
        {"kind": MontageKind.MODEL, "strategy": "nearest", "state": RenderState.READY},  # ready, no file
        {"kind": MontageKind.MODEL, "strategy": "nearest", "progress": 101},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Montage.objects.create(**{**base, **bad})


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_a_published_models_montage(tmp_path, celery_queue):
    from annotation.files import models_dir
    from tests.annotation.test_render_worker import wait_until
    from tests.support.tiny_model import publish_tiny_model

    library = make_montage_library(tmp_path, clips=8, song_s=4.0)
    model = publish_tiny_model(library.export, models_dir())
    celery_queue()
    (montage,) = request_montages(song=library.song, model=model, options=OPTIONS, baselines=[])
    wait_until(
        lambda: Montage.objects.get(pk=montage.pk).state in (RenderState.READY, RenderState.FAILED),
        timeout=120,
        what="the worker to build the montage",
    )
    montage.refresh_from_db()
    assert montage.state == RenderState.READY, montage.error
    assert montage.provenance["model"] == model and montage.provenance["model_version"].startswith("vmnet:")
    assert default_storage.exists(montage.file.name) and montage.progress == 100
