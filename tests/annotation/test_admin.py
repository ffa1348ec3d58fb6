"""Admin pages for real rows, and the admin actions that schedule work."""

from __future__ import annotations

import pytest

from annotation.models import Pairing, RenderState
from annotation.services import imports, scheduling
from annotation.services.sets import create_stimulus_set
from tests.factories.annotation import MusicExcerptFactory, PairingFactory, VideoClipFactory

pytestmark = pytest.mark.django_db


def test_change_pages_load_for_every_model(staff_client, media_files):
    item = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="studio")
    pairing = PairingFactory(clip=VideoClipFactory(video=item.video), excerpt=MusicExcerptFactory(track=item.track))
    objects = {
        "importbatch": item.batch,
        "importitem": item,
        "video": item.video,
        "musictrack": item.track,
        "videoclip": pairing.clip,
        "musicexcerpt": pairing.excerpt,
        "pairing": pairing,
    }
    for model, obj in objects.items():
        response = staff_client.get(f"/admin/annotation/{model}/{obj.pk}/change/")
        assert response.status_code == 200, model
    batch_page = staff_client.get(f"/admin/annotation/importbatch/{item.batch.pk}/change/").content.decode()
    assert "imported" in batch_page  # the per-file outcomes are inline


def test_render_action_schedules_the_selected_pairings(staff_client, monkeypatch, django_capture_on_commit_callbacks):
    pairings = PairingFactory.create_batch(3)
    sent = []
    monkeypatch.setattr(scheduling, "_dispatch_render", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/annotation/pairing/",
            {"action": "render_selected", "_selected_action": [p.pk for p in pairings[:2]]},
            follow=True,
        )

    assert "Scheduled rendering of 2 pairing(s)." in response.content.decode()
    assert sorted(sent) == [[pairings[0].pk], [pairings[1].pk]]  # one batch per clip
    assert Pairing.objects.filter(state=RenderState.PENDING).count() == 3


def test_stimulus_sets_are_listed_and_open_in_the_admin(staff_client):
    saved = create_stimulus_set(name="admin set", clip_ids=[VideoClipFactory().pk], excerpt_ids=[], user=None)
    assert "admin set" in staff_client.get("/admin/annotation/stimulusset/").content.decode()
    assert staff_client.get(f"/admin/annotation/stimulusset/{saved.pk}/change/").status_code == 200
