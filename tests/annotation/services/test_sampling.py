"""Seeded sampling: reproducible from the recorded seed, inside the allowed window, away from silence."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.models import MusicExcerpt, VideoClip
from annotation.services import imports
from annotation.services.sampling import (
    SamplingOptions,
    choose_starts,
    derive_seed,
    reproduce_start,
    sample_excerpts,
    silent_fraction,
)
from tests.factories.annotation import MusicTrackFactory, VideoFactory

options_strategy = st.builds(
    SamplingOptions,
    duration_s=st.floats(0.5, 10),
    count=st.integers(1, 4),
    skip_start_s=st.floats(0, 5),
    skip_end_s=st.floats(0, 5),
)


@given(seed=st.integers(0, 2**63 - 1), source=st.floats(0.1, 600), options=options_strategy)
@settings(max_examples=300, deadline=None)
def test_starts_are_reproducible_non_overlapping_and_inside_the_window(seed, source, options):
    starts = choose_starts(seed=seed, source_duration_s=source, options=options)

    assert starts == choose_starts(seed=seed, source_duration_s=source, options=options)
    assert len(starts) <= options.count
    for start in starts:
        assert start >= round(options.skip_start_s, 3)
        assert start + options.duration_s <= source - options.skip_end_s + 0.0005
    ordered = sorted(starts)
    assert all(b - a >= options.duration_s for a, b in itertools.pairwise(ordered))
    if source >= options.skip_start_s + options.skip_end_s + options.duration_s * options.count * 3:
        assert len(starts) == options.count  # plenty of room: never short-changed


@given(
    seed=st.integers(0, 2**32),
    silences=st.lists(st.tuples(st.floats(0, 60), st.floats(0.5, 10)).map(lambda t: (t[0], t[0] + t[1])), max_size=5),
)
@settings(max_examples=200, deadline=None)
def test_avoiding_silence_never_picks_a_mostly_silent_span(seed, silences):
    options = SamplingOptions(duration_s=5, count=2, avoid_silence=True, max_silent_fraction=0.2)
    for start in choose_starts(seed=seed, source_duration_s=70, options=options, silences=silences):
        assert silent_fraction(start, 5, silences) <= 0.2


def test_different_seeds_or_sources_give_different_starts():
    options = SamplingOptions(duration_s=5, count=3)
    a = choose_starts(
        seed=derive_seed(1, kind="music", content_sha256="a" * 64), source_duration_s=300, options=options
    )
    b = choose_starts(
        seed=derive_seed(2, kind="music", content_sha256="a" * 64), source_duration_s=300, options=options
    )
    c = choose_starts(
        seed=derive_seed(1, kind="music", content_sha256="b" * 64), source_duration_s=300, options=options
    )
    assert a != b and a != c


@pytest.mark.django_db
def test_the_same_seed_reproduces_the_same_excerpts_and_creates_nothing_new():
    VideoFactory.create_batch(3, duration_s=40)
    MusicTrackFactory.create_batch(2, duration_s=90)
    first = sample_excerpts(seed=7, clips_per_video=2, excerpts_per_track=3, skip_start_s=2, skip_end_s=2)
    spans = sorted(VideoClip.objects.values_list("video_id", "start_s", "seed"))
    again = sample_excerpts(seed=7, clips_per_video=2, excerpts_per_track=3, skip_start_s=2, skip_end_s=2)

    assert (first.clips_created, first.excerpts_created) == (6, 6)
    assert (again.clips_created, again.excerpts_created, again.existing) == (0, 0, 12)
    assert sorted(VideoClip.objects.values_list("video_id", "start_s", "seed")) == spans
    for item in [*VideoClip.objects.all(), *MusicExcerpt.objects.all()]:
        assert item.duration_s == 5.0
        assert 2 <= item.start_s <= (item.video if isinstance(item, VideoClip) else item.track).duration_s - 7
        assert reproduce_start(item) == item.start_s  # from the recorded seed alone
        assert item.sampling["base_seed"] == 7

    other = sample_excerpts(seed=8, clips_per_video=2, excerpts_per_track=3)
    assert other.clips_created == 6  # a new seed is a new draw


@pytest.mark.django_db
def test_sources_too_short_for_an_excerpt_are_skipped_with_a_reason():
    VideoFactory(duration_s=3.0, original_name="short.mp4")
    report = sample_excerpts(seed=1, duration_s=5)
    assert report.skipped == [("short.mp4", "too short: 3.00 s < 5 s (excerpt + skipped start/end)")]
    assert not VideoClip.objects.exists()


@pytest.mark.django_db
def test_near_silent_passages_are_avoided_using_measured_silence(media_files):
    # late_start.ogg is silent for its first 3 of 6 seconds.
    item = imports.import_single_file(path=media_files["late_start"], kind="music", label="ambient")
    track = item.track
    assert track.metadata["silences"]["intervals"][0][0] == 0.0

    report = sample_excerpts(seed=3, duration_s=2.0, excerpts_per_track=1, avoid_silence=True, max_silent_fraction=0.1)
    assert report.excerpts_created == 1
    excerpt = MusicExcerpt.objects.get()
    assert excerpt.start_s >= 2.8  # at most 10% of the 2 s excerpt may be silent
    assert reproduce_start(excerpt) == excerpt.start_s

    stricter = sample_excerpts(
        seed=4, duration_s=2.0, avoid_silence=True, silence_noise_db=-20.0, max_silent_fraction=0.1
    )
    track.refresh_from_db()
    assert track.metadata["silences"]["noise_db"] == -20.0  # re-measured with the new threshold and cached
    assert stricter.excerpts_created + len(stricter.skipped) == 1


@pytest.mark.django_db
def test_a_source_silent_in_every_span_is_skipped_with_a_reason(media_files):
    # late_start.ogg is silent for its first 3 of 6 seconds: every 4 s span is at least 25 % silent.
    imports.import_single_file(path=media_files["late_start"], kind="music", label="ambient")
    report = sample_excerpts(seed=3, duration_s=4.0, avoid_silence=True, max_silent_fraction=0.1)
    assert report.skipped == [("late_start.ogg", "no span without long silences")]
    assert not MusicExcerpt.objects.exists()


@pytest.mark.django_db
def test_music_videos_get_aligned_clip_and_excerpt_pairs(media_files):
    item = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="studio")
    report = sample_excerpts(seed=11, duration_s=1.5, clips_per_video=2, excerpts_per_track=5)

    assert (report.clips_created, report.excerpts_created) == (2, 2)  # the soundtrack is not sampled on its own
    for clip in VideoClip.objects.filter(video=item.video):
        excerpt = clip.ground_truth_excerpt
        assert excerpt.track == item.track
        assert (excerpt.start_s, excerpt.duration_s, excerpt.seed) == (clip.start_s, clip.duration_s, clip.seed)
