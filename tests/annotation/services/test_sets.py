"""Named stimulus sets: saved whole or not at all, with a clear reason; read back as clip and excerpt ids."""

from __future__ import annotations

import pytest

from annotation import selectors
from annotation.models import StimulusSet
from annotation.services.sets import StimulusSetError, add_to_stimulus_set, create_stimulus_set
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory

pytestmark = pytest.mark.django_db


def test_a_set_is_saved_and_resolves_to_its_ids(staff_user):
    clips = VideoClipFactory.create_batch(3)
    excerpt = MusicExcerptFactory()
    saved = create_stimulus_set(
        name="  nature pilot ", clip_ids=[str(clips[2].pk), clips[0].pk], excerpt_ids=[excerpt.pk], user=staff_user
    )
    assert saved.name == "nature pilot"
    assert saved.created_by == staff_user
    assert selectors.resolve_stimulus_set(set_id=saved.pk) == (sorted([clips[0].pk, clips[2].pk]), [excerpt.pk])
    listed = selectors.stimulus_sets().get(pk=saved.pk)
    assert (listed.n_clips, listed.n_excerpts) == (2, 1)


@pytest.mark.parametrize(
    ("name", "clip_ids", "field", "message"),
    [
        ("", "ok", "name", "give the set a name"),
        ("x" * 121, "ok", "name", "longer than 120"),
        ("empty", [], "items", "at least one"),
        ("ghost", [999_999], "items", "no clip with id 999999"),
        ("junk", ["abc"], "items", "whole numbers"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_saves_nothing(name, clip_ids, field, message):
    clip = VideoClipFactory()
    with pytest.raises(StimulusSetError, match=message) as caught:
        create_stimulus_set(name=name, clip_ids=[clip.pk] if clip_ids == "ok" else clip_ids, excerpt_ids=[], user=None)
    assert caught.value.field == field
    assert not StimulusSet.objects.exists()


def test_names_are_unique():
    clip = VideoClipFactory()
    create_stimulus_set(name="pilot", clip_ids=[clip.pk], excerpt_ids=[], user=None)
    with pytest.raises(StimulusSetError, match="already exists"):
        create_stimulus_set(name="pilot", clip_ids=[clip.pk], excerpt_ids=[], user=None)
    assert StimulusSet.objects.count() == 1


def test_adding_to_a_set_keeps_each_item_once():
    clips = VideoClipFactory.create_batch(2)
    excerpt = MusicExcerptFactory()
    saved = create_stimulus_set(name="grow", clip_ids=[clips[0].pk], excerpt_ids=[], user=None)
    add_to_stimulus_set(set_id=saved.pk, clip_ids=[clips[0].pk, clips[1].pk], excerpt_ids=[excerpt.pk])
    assert selectors.resolve_stimulus_set(set_id=saved.pk) == ([c.pk for c in clips], [excerpt.pk])
    with pytest.raises(StimulusSetError, match="no excerpt"):
        add_to_stimulus_set(set_id=saved.pk, clip_ids=[], excerpt_ids=[excerpt.pk + 1000])
    with pytest.raises(StimulusSetError, match="no stimulus set"):
        add_to_stimulus_set(set_id=saved.pk + 1, clip_ids=[clips[0].pk], excerpt_ids=[])


def test_resolving_an_unknown_set_raises():
    with pytest.raises(StimulusSet.DoesNotExist):
        selectors.resolve_stimulus_set(set_id=12345)
