"""Factories for the stimulus library. Rows only: files are empty names unless a test renders real media."""

import factory
from factory.django import DjangoModelFactory

from annotation.models import (
    KIND_STRATEGY,
    ImportBatch,
    Montage,
    MontageKind,
    MusicExcerpt,
    MusicTrack,
    Pairing,
    RenderState,
    Video,
    VideoClip,
)

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
    """A ready montage row (no real file: use ``tests.support.montage`` for playable ones).

    ``kind`` picks the strategy; G montages get no model, segmentation or provenance, as the constraints ask.
    """

    class Meta:
        model = Montage

    song = factory.SubFactory(MusicTrackFactory)
    kind = MontageKind.MODEL
    strategy = factory.LazyAttribute(lambda o: KIND_STRATEGY[o.kind])
    model = factory.LazyAttribute(lambda o: "" if o.kind == MontageKind.ORIGINAL else "test-embeddings@1")
    segments = factory.LazyAttribute(lambda o: "" if o.kind == MontageKind.ORIGINAL else "fixed:2")
    seed = factory.LazyAttribute(lambda o: 0 if o.kind == MontageKind.ORIGINAL else 3)
    state = RenderState.READY
    progress = 100
    file = factory.Sequence(lambda n: f"montages/montage_{n}.mp4")
    duration_s = 5.0
    n_segments = factory.LazyAttribute(lambda o: None if o.kind == MontageKind.ORIGINAL else 3)
    mean_distance = factory.LazyAttribute(lambda o: None if o.kind == MontageKind.ORIGINAL else 0.5)
    provenance_sha256 = factory.LazyAttribute(lambda o: "" if o.kind == MontageKind.ORIGINAL else "ab" * 32)


class PendingMontageFactory(MontageFactory):
    """A requested montage that no worker has built yet (S by default, a new song, a new seed)."""

    segments = factory.LazyAttribute(lambda o: "" if o.kind == MontageKind.ORIGINAL else "beats:4")
    seed = factory.LazyAttributeSequence(lambda o, n: 0 if o.kind == MontageKind.ORIGINAL else n)
    state = RenderState.PENDING
    progress = 0
    file = ""
    duration_s = None
    n_segments = None
    mean_distance = None
    provenance_sha256 = ""
