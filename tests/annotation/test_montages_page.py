"""The staff montages page: montages per song side by side, provenance tables, requests and retries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Montage, MontageKind, RenderState
from tests.annotation.test_montages_api import ready_montage
from tests.factories.annotation import MusicTrackFactory, PendingMontageFactory
from tests.support.montage import TEST_MODEL
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db

PAGE = reverse("annotation:montages")


def test_the_page_shows_each_songs_montages_with_video_progress_error_and_provenance(staff_client):
    ready = ready_montage(segments=2)
    rendering = PendingMontageFactory(
        song=ready.song, kind=MontageKind.RANDOM, strategy="random", state=RenderState.RENDERING, progress=35
    )
    Montage.objects.filter(pk=rendering.pk).update(step="retrieve 1/1")
    failed = PendingMontageFactory(state=RenderState.FAILED, error="the song could not be decoded")
    html = staff_client.get(PAGE).content.decode()

    assert html.count('class="montage-song"') == 2  # one section per song
    assert f'<video controls preload="metadata" src="/media/montages/{ready.song_id}/montage-{ready.pk}.mp4"' in html
    assert f'data-montage="{rendering.pk}" data-state="rendering"' in html
    assert f'data-url="/api/library/montages/{rendering.pk}/"' in html  # polled by montages.js
    assert '<progress max="100" value="35">' in html and "retrieve 1/1" in html
    assert "the song could not be decoded" in html
    retry_form = f'action="/library/montages/{failed.pk}/retry/"'
    assert html.count('<form class="montage-retry"') == 3
    assert f"{retry_form}>" in html  # visible for the failed one only
    assert html.count('montage-retry" method="post" action') - html.count("hidden>") <= 3
    # The provenance table: segment span -> clip, source video (title), source range, distance.
    assert "<td>0.00\N{EN DASH}1.50</td><td>100</td><td>source 0" in html
    assert "<td>2.00\N{EN DASH}3.50</td><td>0.350</td>" in html
    assert f'href="/api/library/montages/{ready.pk}/provenance/"' in html
    assert 'src="/static/annotation/montages.js"' in html
    assert 'href="/library/montages/" aria-current="page">Montages</a>' in html  # in the workspace nav

    only = staff_client.get(f"{PAGE}?song={failed.song_id}").content.decode()
    assert only.count('class="montage-song"') == 1 and f'data-montage="{failed.pk}"' in only


def test_the_library_page_links_to_the_montages(staff_client):
    assert 'href="/library/montages/"' in staff_client.get(reverse("annotation:library")).content.decode()


def test_the_request_form_creates_montages_and_queues_their_builds(staff_client, django_capture_on_commit_callbacks):
    song = MusicTrackFactory()
    form = {
        "song": song.pk,
        "model": TEST_MODEL,
        "segments": "beats:2",
        "seed": 5,
        "continuity_bonus": 0.05,
        "no_same_source": "on",
        "baselines": ["R", "anti"],
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(PAGE, form)
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?song={song.pk}"
    rows = Montage.objects.filter(song=song).order_by("pk")
    assert [m.kind for m in rows] == ["S", "R", "anti"] and len(callbacks) == 3
    assert {m.segments for m in rows} == {"beats:2"} and {m.seed for m in rows} == {5}
    assert rows[0].constraints["no_same_source"] is True and rows[0].constraints["continuity_bonus"] == 0.05
    assert "Requested 3 montages" in staff_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "unpublished@1"}, "unpublished"),
        ({"segments": "bars"}, "segmentation"),
        ({"continuity_bonus": 3}, "less than or equal to 2"),
        ({"song": 999999}, "Select a valid choice"),
        ({"seed": 2**63}, "less than or equal to"),  # past the bigint column: refused, not a 500
    ],
)
def test_a_bad_request_shows_the_page_again_with_the_reason(staff_client, change, message):
    song = MusicTrackFactory()
    form = {"song": song.pk, "model": TEST_MODEL, "segments": "beats:4", "seed": 0, "continuity_bonus": 0, **change}
    response = staff_client.post(PAGE, form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Montage.objects.exists()


def test_retry_requeues_a_failed_montage_and_says_why_it_will_not_retry_others(
    staff_client, django_capture_on_commit_callbacks
):
    failed = PendingMontageFactory(state=RenderState.FAILED, error="boom")
    url = reverse("annotation:montage_retry", args=[failed.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(url, follow=True)
    failed.refresh_from_db()
    assert failed.state == RenderState.PENDING and failed.error == "" and len(callbacks) == 1
    assert f"Montage {failed.pk} is queued again." in response.content.decode()
    again = staff_client.post(url, follow=True)
    assert "only a failed montage is retried" in again.content.decode()


def test_the_page_costs_the_same_queries_for_more_montages(staff_client, django_assert_max_num_queries):
    for _ in range(2):
        ready_montage(segments=3)
        PendingMontageFactory(state=RenderState.FAILED)

    def more():
        for _ in range(3):
            ready_montage(segments=5)
            PendingMontageFactory()

    # session + user, montages with their songs, their source videos, the form's songs (iterated twice)
    assert_flat(staff_client, PAGE, grow=more, ceiling=6, django_assert_max_num_queries=django_assert_max_num_queries)
