"""The staff library page: kinds, filters, search, pagination, thumbnails, and saving ticked items as a set."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import RenderState, StimulusSet, VideoClip
from annotation.selectors import resolve_stimulus_set
from tests.factories.annotation import (
    ImportBatchFactory,
    MusicExcerptFactory,
    MusicTrackFactory,
    PairingFactory,
    VideoClipFactory,
    VideoFactory,
)
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db
URL = "/library/"


@pytest.fixture
def library():
    batch = ImportBatchFactory(location="/data/forest-import")
    forest = VideoFactory(label="forest", title="Pine forest walk", import_batch=batch, license="CC-BY-4.0")
    city = VideoFactory(label="city", title="Night traffic")
    music_video = VideoFactory(label="concert", title="Live set")
    jazz = MusicTrackFactory(label="jazz", title="Blue hour", license="CC0-1.0")
    soundtrack = MusicTrackFactory(label="rock", title="Live set (audio)", source_video=music_video)
    clips = {
        "forest": VideoClipFactory(video=forest, state=RenderState.READY, poster_file="prepared/posters/p.jpg"),
        "city": VideoClipFactory(video=city),
        "concert": VideoClipFactory(video=music_video),
    }
    excerpts = {
        "jazz": MusicExcerptFactory(track=jazz),
        "rock": MusicExcerptFactory(track=soundtrack, ground_truth_clip=clips["concert"]),
    }
    for clip in clips.values():
        for excerpt in excerpts.values():
            PairingFactory(clip=clip, excerpt=excerpt)
    return {"batch": batch, "clips": clips, "excerpts": excerpts}


def _ids(response, attr: str) -> set[int]:
    assert response.status_code == 200
    return {int(v) for v in re.findall(rf'data-{attr}="(\d+)"', response.content.decode())}


def test_staff_only(library):
    assert Client().get(URL).status_code == 302
    assert Client().get(URL)["Location"].startswith(reverse("workspace:login"))


def test_clip_cards_show_thumbnail_duration_label_licence_and_ground_truth(staff_client, library):
    response = staff_client.get(URL)
    html = response.content.decode()
    assert _ids(response, "clip") == {c.pk for c in library["clips"].values()}
    assert 'src="/media/prepared/posters/p.jpg"' in html
    assert "no thumbnail yet" in html  # the two clips without a poster
    assert "CC-BY-4.0" in html and "<strong>forest</strong>" in html and "5.0 s" in html
    assert html.count("G pair</span>") == 1  # the music video's clip
    assert 'aria-current="page">Library' in html  # on the workspace layout, library tab current


@pytest.mark.parametrize(
    ("query", "attr", "expected"),
    [
        ({"label": "forest"}, "clip", ["forest"]),
        ({"ground_truth": "yes"}, "clip", ["concert"]),
        ({"ground_truth": "no"}, "clip", ["forest", "city"]),
        ({"state": "ready"}, "clip", ["forest"]),
        ({"q": "traffic"}, "clip", ["city"]),
        ({"kind": "excerpts", "genre": "jazz"}, "excerpt", ["jazz"]),
        ({"kind": "excerpts", "ground_truth": "yes"}, "excerpt", ["rock"]),
        ({"kind": "excerpts", "q": "blue"}, "excerpt", ["jazz"]),
    ],
)
def test_filters(staff_client, library, query, attr, expected):
    rows = {**library["clips"], **library["excerpts"]}
    assert _ids(staff_client.get(URL, query), attr) == {rows[name].pk for name in expected}


def test_pairing_filters_combine(staff_client, library):
    clips, excerpts = library["clips"], library["excerpts"]
    response = staff_client.get(URL, {"kind": "pairings", "label": "concert", "genre": "rock", "ground_truth": "yes"})
    (pairing,) = _ids(response, "pairing")
    assert (pairing in {p.pk for p in clips["concert"].pairings.filter(excerpt=excerpts["rock"])}) is True
    by_batch = _ids(staff_client.get(URL, {"kind": "pairings", "batch": library["batch"].pk}), "pairing")
    assert by_batch == set(clips["forest"].pairings.values_list("pk", flat=True))


def test_malformed_filters_are_ignored(staff_client, library):
    response = staff_client.get(URL, {"kind": "nope", "batch": "x", "state": "weird", "page": "abc"})
    assert _ids(response, "clip") == {c.pk for c in library["clips"].values()}


def test_pages_of_24_keep_the_filters(staff_client):
    video = VideoFactory(label="sea")
    VideoClip.objects.bulk_create([VideoClip(video=video, start_s=float(i), duration_s=1.0, seed=1) for i in range(30)])
    first = staff_client.get(URL, {"label": "sea"})
    assert len(_ids(first, "clip")) == 24
    assert "page 1 of 2" in first.content.decode()
    assert 'href="?label=sea&amp;page=2"' in first.content.decode()
    assert len(_ids(staff_client.get(URL, {"label": "sea", "page": 2}), "clip")) == 6


def test_ticked_items_are_saved_as_a_named_set_and_listed(staff_client, library, staff_user):
    clips, excerpts = library["clips"], library["excerpts"]
    response = staff_client.post(
        reverse("annotation:save_set") + "?kind=clips&label=forest",
        {"name": "forest pilot", "clip": [clips["forest"].pk, clips["city"].pk], "excerpt": [excerpts["jazz"].pk]},
    )
    assert response.status_code == 302 and response["Location"] == f"{URL}?kind=clips&label=forest"
    saved = StimulusSet.objects.get(name="forest pilot")
    assert saved.created_by == staff_user
    assert resolve_stimulus_set(set_id=saved.pk) == (
        sorted([clips["forest"].pk, clips["city"].pk]),
        [excerpts["jazz"].pk],
    )
    page = staff_client.get(response["Location"]).content.decode()
    assert "Saved the stimulus set “forest pilot”." in page
    assert re.search(rf'data-set="{saved.pk}"><td>forest pilot</td><td>2</td><td>1</td>', page)


def test_everything_matching_the_filters_can_be_added_to_an_existing_set(staff_client, library):
    clips, excerpts = library["clips"], library["excerpts"]
    staff_client.post(reverse("annotation:save_set"), {"name": "mix", "excerpt": [excerpts["jazz"].pk]})
    saved = StimulusSet.objects.get()
    response = staff_client.post(
        reverse("annotation:save_set") + "?kind=pairings&ground_truth=yes", {"add_to": saved.pk, "all_matching": "on"}
    )
    assert response.status_code == 302
    assert resolve_stimulus_set(set_id=saved.pk) == (
        [clips["concert"].pk],
        sorted([excerpts["jazz"].pk, excerpts["rock"].pk]),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "clip": ["1"]}, "give the set a name"),
        ({"name": "empty"}, "tick at least one clip or excerpt"),
        ({"name": "ghost", "clip": ["987654"]}, "no clip with id 987654"),
        ({"add_to": "424242", "clip": ["1"]}, "Select a valid choice"),
    ],
)
def test_a_refused_set_shows_the_reason_on_the_page_and_saves_nothing(staff_client, library, data, message):
    response = staff_client.post(reverse("annotation:save_set") + "?label=forest", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert re.findall(r'data-clip="(\d+)"', html) == [str(library["clips"]["forest"].pk)]  # filters kept
    assert not StimulusSet.objects.exists()


def test_the_set_name_error_sits_next_to_the_field(staff_client, library):
    clip = library["clips"]["city"].pk
    staff_client.post(reverse("annotation:save_set"), {"name": "dup", "clip": [clip]})
    html = staff_client.post(reverse("annotation:save_set"), {"name": "dup", "clip": [clip]}).content.decode()
    assert 'aria-invalid="true" aria-describedby="name-error"' in html
    assert re.search(r'id="name-error">[^<]*already exists', html)


@pytest.mark.parametrize("kind", ["clips", "excerpts", "pairings"])
def test_each_kind_costs_the_same_queries_for_more_rows(staff_client, django_assert_max_num_queries, kind):
    def grow():
        clips = VideoClipFactory.create_batch(5, poster_file="prepared/posters/x.jpg")
        excerpts = MusicExcerptFactory.create_batch(5)
        for clip in clips:
            PairingFactory(clip=clip, excerpt=excerpts[0])
        StimulusSet.objects.create(name=f"set {StimulusSet.objects.count()}").clips.set(clips)

    grow()
    assert_flat(
        staff_client,
        f"{URL}?kind={kind}",
        grow=grow,
        ceiling=16,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )
