"""Database constraints behind the library's invariants (they hold even if a service has a bug)."""

import pytest
from django.db import IntegrityError

from annotation.models import Pairing
from tests.factories.annotation import MusicExcerptFactory, PairingFactory, VideoClipFactory, VideoFactory

pytestmark = pytest.mark.django_db


def test_same_content_cannot_be_imported_twice():
    video = VideoFactory()
    with pytest.raises(IntegrityError):
        VideoFactory(sha256=video.sha256)


def test_a_pairing_exists_once_per_clip_and_excerpt():
    pairing = PairingFactory()
    with pytest.raises(IntegrityError):
        Pairing.objects.create(clip=pairing.clip, excerpt=pairing.excerpt)


def test_clip_spans_must_be_positive():
    with pytest.raises(IntegrityError):
        VideoClipFactory(duration_s=0)


def test_excerpt_spans_are_unique_per_track():
    excerpt = MusicExcerptFactory()
    with pytest.raises(IntegrityError):
        MusicExcerptFactory(track=excerpt.track, start_s=excerpt.start_s, duration_s=excerpt.duration_s)
