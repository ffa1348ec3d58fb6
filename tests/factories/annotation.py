"""Factories for the stimulus library. Rows only: files are empty names unless a test renders real media."""

import factory
from factory.django import DjangoModelFactory

from annotation.models import ImportBatch, Montage, MusicExcerpt, MusicTrack, Pairing, Video, VideoClip

SCENES = ["nature-water", "urban-traffic", "people-closeup", "animal-bird"]
GENRES = ["classical", "jazz", "electronic", "rock"]


class ImportBatchFactory(DjangoModelFactory):
    class Meta:
        model = ImportBatch

    source = ImportBatch.Source.FOLDER
    location = "/tmp/library"


class VideoFactory(DjangoModelFactory):
    class Meta:
        model = Video

    file = factory.Sequence(lambda n: f"library/video_{n}.mp4")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    original_name = factory.Sequence(lambda n: f"video_{n}.mp4")
    size_bytes = 1_000_000
    duration_s = 30.0
    codec = "h264"
    label = factory.Iterator(SCENES)
    width = 1280
    height = 720
    fps = 25.0


class MusicTrackFactory(DjangoModelFactory):
    class Meta:
        model = MusicTrack

    file = factory.Sequence(lambda n: f"library/track_{n}.ogg")
    sha256 = factory.Sequence(lambda n: f"{n + 10**9:064x}")
    original_name = factory.Sequence(lambda n: f"track_{n}.ogg")
    size_bytes = 500_000
    duration_s = 60.0
    codec = "vorbis"
    label = factory.Iterator(GENRES)
    sample_rate = 44100
    channels = 2


class VideoClipFactory(DjangoModelFactory):
    class Meta:
        model = VideoClip

    video = factory.SubFactory(VideoFactory)
    start_s = factory.Sequence(lambda n: float(n % 20))
    duration_s = 5.0
    seed = 1234


class MusicExcerptFactory(DjangoModelFactory):
    class Meta:
        model = MusicExcerpt

    track = factory.SubFactory(MusicTrackFactory)
    start_s = factory.Sequence(lambda n: float(n % 50))
    duration_s = 5.0
    seed = 1234


class PairingFactory(DjangoModelFactory):
    class Meta:
        model = Pairing

    clip = factory.SubFactory(VideoClipFactory)
    excerpt = factory.SubFactory(MusicExcerptFactory)


class MontageFactory(DjangoModelFactory):
    """A requested montage (S, pending) of a new song; pass kind/strategy/state/file for others."""

    class Meta:
        model = Montage

    song = factory.SubFactory(MusicTrackFactory)
    kind = "S"
    strategy = "nearest"
    model = "test-embeddings@1"
    segments = "beats:4"
    seed = factory.Sequence(lambda n: n)
