"""The montage API: staff only, clear 400s, a request queues builds, ready montages expose video and provenance."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Montage, MontageKind, RenderState
from tests.factories.annotation import MusicTrackFactory, PendingMontageFactory, VideoFactory
from tests.support.montage import FPS, TEST_MODEL, make_montage_library
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db

LIST = reverse("annotation:api-montages")


def detail(montage) -> str:
    return reverse("annotation:api-montage-detail", args=[montage.pk])


def provenance(montage) -> str:
    return reverse("annotation:api-montage-provenance", args=[montage.pk])


def retry(montage) -> str:
    return reverse("annotation:api-montage-retry", args=[montage.pk])


def ready_montage(*, segments: int = 3, **fields) -> Montage:
    """A ready S montage with a provenance naming ``segments`` clips of new source videos (no file is read)."""
    videos = [VideoFactory(title=f"source {i}") for i in range(segments)]
    record = {
        "format": "mvfit-montage",
        "segments": [
            {
                "index": i,
                "start_s": 1.5 * i,
                "end_s": 1.5 * (i + 1),
                "clip_id": 100 + i,
                "source_video_id": video.pk,
                "source_range_s": [2.0, 3.5],
                "distance": 0.25 + i / 10,
            }
            for i, video in enumerate(videos)
        ],
    }
    montage = PendingMontageFactory(**fields)
    Montage.objects.filter(pk=montage.pk).update(
        state=RenderState.READY,
        progress=100,
        file=f"montages/{montage.song_id}/montage-{montage.pk}.mp4",
        duration_s=1.5 * segments,
        provenance=record,
        provenance_sha256="0" * 64,
        n_segments=segments,
        mean_distance=0.3,
    )
    montage.refresh_from_db()
    return montage


def request_body(song, **fields) -> dict:
    return {"song": song.pk, "model": TEST_MODEL, "segments": "fixed:1.5", "max_segment_s": 2.0, "fps": FPS, **fields}


def test_every_montage_endpoint_refuses_anonymous_and_non_staff_users(django_user_model):
    montage = PendingMontageFactory(state=RenderState.FAILED)
    member = Client()
    member.force_login(django_user_model.objects.create_user(username="member"))
    for client in (Client(), member):
        assert client.get(LIST).status_code in (401, 403)
        assert client.post(LIST, request_body(montage.song), content_type="application/json").status_code in (401, 403)
        assert client.get(detail(montage)).status_code in (401, 403)
        assert client.get(provenance(montage)).status_code in (401, 403)
        assert client.post(retry(montage)).status_code in (401, 403)
    assert Montage.objects.count() == 1
    assert Montage.objects.get().state == RenderState.FAILED


def test_a_request_creates_s_and_baselines_queues_their_builds_and_serves_the_results(
    staff_client, tmp_path, django_capture_on_commit_callbacks
):
    library = make_montage_library(tmp_path, clips=8, song_s=5.0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(
            LIST, request_body(library.song, seed=3, baselines=["R"]), content_type="application/json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [m["kind"] for m in body] == ["S", "R"] and len(callbacks) == 2
    assert all(m["state"] == "pending" and m["video_url"] is None for m in body)  # as created, before the build

    s = staff_client.get(reverse("annotation:api-montage-detail", args=[body[0]["id"]])).json()
    assert (s["state"], s["progress"], s["step"], s["error"]) == ("ready", 100, "", "")
    assert s["model"] == TEST_MODEL and s["seed"] == 3 and s["constraints"]["fps"] == FPS
    assert s["video_url"].endswith(f"montages/{library.song.pk}/montage-{s['id']}.mp4") and s["has_provenance"]
    video = staff_client.get(s["video_url"])
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"

    record = staff_client.get(reverse("annotation:api-montage-provenance", args=[s["id"]])).json()
    assert record == Montage.objects.get(pk=s["id"]).provenance
    assert len(record["segments"]) == s["n_segments"] >= 3
    assert {seg["clip_id"] for seg in record["segments"]} <= {c.pk for c in library.clips}

    with django_capture_on_commit_callbacks(execute=True) as again_callbacks:
        again = staff_client.post(
            LIST, request_body(library.song, seed=3, baselines=["R"]), content_type="application/json"
        )
    assert again.status_code == 201 and [m["id"] for m in again.json()] == [m["id"] for m in body]
    assert again_callbacks == [] and all(m["state"] == "ready" for m in again.json())


@pytest.mark.parametrize(
    ("fields", "key", "needle"),
    [
        ({"model": "no-version"}, "detail", "NAME@VERSION"),
        ({"model": "unpublished@1"}, "detail", "unpublished"),
        ({"segments": "bars"}, "detail", "segmentation"),
        ({"fps": 0}, "detail", "fps"),
        ({"continuity_bonus": 5}, "detail", "continuity"),
        ({"baselines": ["S"]}, "baselines", "valid choice"),
        ({"song": 999999}, "song", "does not exist"),
        ({"seed": "three"}, "seed", "valid integer"),
        ({"model": ""}, "model", "blank"),
    ],
)
def test_bad_requests_are_clear_400s_and_create_nothing(staff_client, fields, key, needle):
    song = MusicTrackFactory()
    with_defaults = {**request_body(song), **fields}
    response = staff_client.post(LIST, with_defaults, content_type="application/json")
    assert response.status_code == 400
    message = response.json()[key]
    assert needle in (message if isinstance(message, str) else str(message)), response.json()
    assert not Montage.objects.exists()


def test_a_request_without_song_or_model_names_both_fields(staff_client):
    response = staff_client.post(LIST, {}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"song", "model"}


def test_the_list_filters_by_song_kind_and_state_and_refuses_bad_filters(staff_client):
    s = PendingMontageFactory()
    r = PendingMontageFactory(song=s.song, kind=MontageKind.RANDOM, strategy="random", seed=s.seed)
    failed = PendingMontageFactory(state=RenderState.FAILED, error="no clips")

    def ids(query: str) -> list[int]:
        response = staff_client.get(f"{LIST}?{query}")
        assert response.status_code == 200
        assert response.json()["count"] == len(response.json()["results"])
        return [m["id"] for m in response.json()["results"]]

    assert sorted(ids("")) == sorted([s.pk, r.pk, failed.pk])
    assert ids(f"song={s.song_id}") == [s.pk, r.pk]
    assert ids(f"song={s.song_id}&kind=R") == [r.pk]
    assert ids("state=failed") == [failed.pk]
    for bad in ("kind=X", "state=done", "song=abc"):
        response = staff_client.get(f"{LIST}?{bad}")
        assert response.status_code == 400 and bad.split("=")[0] in response.json()


def test_provenance_is_404_until_ready_and_for_the_original_video(staff_client):
    pending = PendingMontageFactory()
    original = PendingMontageFactory(kind=MontageKind.ORIGINAL, strategy="original", model="", segments="", seed=0)
    Montage.objects.filter(pk=original.pk).update(state=RenderState.READY, file="montages/g.mp4", duration_s=4.0)
    ready = ready_montage()
    assert staff_client.get(provenance(pending)).status_code == 404
    assert "is pending" in staff_client.get(provenance(pending)).json()["detail"]
    assert "(G) has no provenance" in staff_client.get(provenance(original)).json()["detail"]
    assert staff_client.get(provenance(ready)).json()["segments"][1]["clip_id"] == 101
    assert staff_client.get(reverse("annotation:api-montage-provenance", args=[999999])).status_code == 404
    assert staff_client.get(detail(pending)).json()["video_url"] is None
    assert staff_client.get(detail(original)).json()["has_provenance"] is False


def test_retry_queues_a_failed_montage_and_refuses_others(staff_client, django_capture_on_commit_callbacks):
    failed = PendingMontageFactory(state=RenderState.FAILED, error="the song could not be decoded", progress=40)
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(retry(failed))
    assert response.status_code == 202 and len(callbacks) == 1
    assert (response.json()["state"], response.json()["error"], response.json()["progress"]) == ("pending", "", 0)
    ready = ready_montage()
    with django_capture_on_commit_callbacks() as none:
        refused = staff_client.post(retry(ready))
    assert refused.status_code == 409 and "only a failed montage" in refused.json()["detail"] and none == []
    assert staff_client.post(reverse("annotation:api-montage-retry", args=[999999])).status_code == 404


def test_the_list_and_a_detail_cost_the_same_queries_for_more_montages(staff_client, django_assert_max_num_queries):
    for _ in range(3):
        ready_montage()
        PendingMontageFactory(state=RenderState.FAILED)

    def more():
        for _ in range(3):
            ready_montage(segments=6)
            PendingMontageFactory()

    assert_flat(
        staff_client, LIST, grow=more, ceiling=4, django_assert_max_num_queries=django_assert_max_num_queries
    )  # session + user, count, montages with their songs
    url = detail(Montage.objects.last())
    with django_assert_max_num_queries(3):  # session, user, the montage with its song
        assert staff_client.get(url).status_code == 200
