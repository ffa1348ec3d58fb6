"""Seeded excerpt sampling: random spans (default 5 s) per video and per music track.

Reproducibility: a run has a base seed; each source gets its own seed derived from the base seed and
the source's content hash (not its database id, so the same library imported elsewhere samples the same
spans). That per-source seed is recorded on every excerpt (``seed``), together with the options and the
excerpt's draw index (``sampling``): :func:`choose_starts` with the same seed, source duration and options
returns the same starts, and :func:`reproduce_start` re-derives a recorded excerpt's start.

Music videos are sampled as aligned pairs: the clip and the soundtrack excerpt cover the same span and are
linked (``MusicExcerpt.ground_truth_clip``) — the "G" pairs of the VM-NET preference test.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from django.db import transaction

from annotation.files import local_path
from annotation.media import MediaError, detect_silences
from annotation.models import MusicExcerpt, MusicTrack, Video, VideoClip

logger = logging.getLogger(__name__)

MAX_DRAWS_PER_EXCERPT = 200


@dataclass(frozen=True)
class SamplingOptions:
    duration_s: float = 5.0
    count: int = 1  # excerpts per source
    skip_start_s: float = 0.0  # never start before this
    skip_end_s: float = 0.0  # never end within this many seconds of the end
    avoid_silence: bool = False
    silence_noise_db: float = -50.0  # below this level counts as silence (ffmpeg silencedetect)
    min_silence_s: float = 0.5  # shorter dips are not silence
    max_silent_fraction: float = 0.2  # reject a span that is silent for more than this fraction

    def __post_init__(self) -> None:
        if self.duration_s <= 0:
            raise ValueError("excerpt duration must be positive")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.skip_start_s < 0 or self.skip_end_s < 0:
            raise ValueError("skip_start_s and skip_end_s cannot be negative")
        if not 0 <= self.max_silent_fraction <= 1:
            raise ValueError("max_silent_fraction must be between 0 and 1")


def derive_seed(base_seed: int, *, kind: str, content_sha256: str) -> int:
    """A per-source seed (63 bits, fits a signed BIGINT) from the run's seed and the source's content."""
    digest = hashlib.sha256(f"{base_seed}:{kind}:{content_sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def silent_fraction(start_s: float, duration_s: float, silences: Sequence[Sequence[float]]) -> float:
    end_s = start_s + duration_s
    silent = sum(max(0.0, min(end_s, b) - max(start_s, a)) for a, b in silences)
    return silent / duration_s


def choose_starts(
    *, seed: int, source_duration_s: float, options: SamplingOptions, silences: Sequence[Sequence[float]] = ()
) -> list[float]:
    """Up to ``options.count`` non-overlapping excerpt starts (ms precision), in draw order.

    Fewer are returned when the source is too short, or too silent with ``avoid_silence``.
    """
    rng = random.Random(seed)
    lowest = options.skip_start_s
    highest = source_duration_s - options.skip_end_s - options.duration_s
    if highest < lowest:
        return []
    starts: list[float] = []
    for _ in range(options.count * MAX_DRAWS_PER_EXCERPT):
        if len(starts) == options.count:
            break
        start = min(round(rng.uniform(lowest, highest), 3), round(highest, 3))
        start = max(start, round(lowest, 3))
        if any(abs(start - other) < options.duration_s for other in starts):
            continue
        if options.avoid_silence and silent_fraction(start, options.duration_s, silences) > options.max_silent_fraction:
            continue
        starts.append(start)
    return starts


def reproduce_start(excerpt: VideoClip | MusicExcerpt) -> float | None:
    """Re-derive a recorded excerpt's start from its seed and sampling record (None if not reproducible)."""
    record = excerpt.sampling or {}
    if not {"options", "index", "source_duration_s"} <= record.keys():
        return None
    starts = choose_starts(
        seed=excerpt.seed,
        source_duration_s=record["source_duration_s"],
        options=SamplingOptions(**record["options"]),
        silences=record.get("silences", []),
    )
    return starts[record["index"]] if record["index"] < len(starts) else None


@dataclass
class SamplingReport:
    clips_created: int = 0
    excerpts_created: int = 0
    existing: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def _silences(asset: Video | MusicTrack, options: SamplingOptions) -> list[list[float]]:
    """Silent passages of an asset's audio, measured once per threshold and cached in its metadata."""
    cached = (asset.metadata or {}).get("silences") or {}
    if cached.get("noise_db") == options.silence_noise_db and cached.get("min_silence_s") == options.min_silence_s:
        return cached.get("intervals", [])
    with local_path(asset.file) as path:
        intervals = [
            [round(a, 3), round(b, 3)]
            for a, b in detect_silences(path, noise_db=options.silence_noise_db, min_silence_s=options.min_silence_s)
        ]
    metadata = {
        **(asset.metadata or {}),
        "silences": {
            "noise_db": options.silence_noise_db,
            "min_silence_s": options.min_silence_s,
            "intervals": intervals,
        },
    }
    type(asset).objects.filter(pk=asset.pk).update(metadata=metadata)
    asset.metadata = metadata
    return intervals


def _no_span(name: str, duration: float, options: SamplingOptions) -> tuple[str, str]:
    """(name, reason) for a source where no excerpt start was found: too short, or silent everywhere."""
    needed = options.duration_s + options.skip_start_s + options.skip_end_s
    if duration < needed:
        return name, f"too short: {duration:.2f} s < {needed:g} s (excerpt + skipped start/end)"
    return name, "no span without long silences"


def sample_excerpts(
    *,
    seed: int,
    duration_s: float = 5.0,
    clips_per_video: int = 1,
    excerpts_per_track: int = 1,
    skip_start_s: float = 0.0,
    skip_end_s: float = 0.0,
    avoid_silence: bool = False,
    silence_noise_db: float = -50.0,
    max_silent_fraction: float = 0.2,
    videos: Iterable[Video] | None = None,
    tracks: Iterable[MusicTrack] | None = None,
) -> SamplingReport:
    """Sample excerpts for the given (default: all) videos and tracks. Safe to repeat: the same seed and
    options find the excerpts already there and create nothing new.

    Soundtracks of music videos are sampled with their video (aligned clip + excerpt), not on their own.
    """
    common = {
        "duration_s": duration_s,
        "skip_start_s": skip_start_s,
        "skip_end_s": skip_end_s,
        "avoid_silence": avoid_silence,
        "silence_noise_db": silence_noise_db,
        "max_silent_fraction": max_silent_fraction,
    }
    video_options = SamplingOptions(count=clips_per_video, **common)
    track_options = SamplingOptions(count=excerpts_per_track, **common)
    report = SamplingReport()
    videos = Video.objects.select_related("soundtrack") if videos is None else videos
    tracks = MusicTrack.objects.filter(source_video__isnull=True) if tracks is None else tracks
    for video in videos:
        _sample_video(video, seed, video_options, report)
    for track in tracks:
        if track.source_video_id is not None:
            continue
        _sample_track(track, seed, track_options, report)
    return report


def _record(seed: int, index: int, options: SamplingOptions, silences: list, source_duration_s: float) -> dict:
    record = {"base_seed": seed, "index": index, "options": asdict(options), "source_duration_s": source_duration_s}
    if options.avoid_silence:
        record["silences"] = silences
    return record


def _sample_video(video: Video, seed: int, options: SamplingOptions, report: SamplingReport) -> None:
    soundtrack = getattr(video, "soundtrack", None)
    silences: list = []
    if options.avoid_silence and soundtrack is not None:
        try:
            silences = _silences(soundtrack, options)
        except (MediaError, FileNotFoundError) as exc:
            report.skipped.append((video.original_name, f"silence measurement failed: {exc}"))
            return
    source_seed = derive_seed(seed, kind="video", content_sha256=video.sha256)
    starts = choose_starts(
        seed=source_seed,
        source_duration_s=video.duration_s,
        options=options,
        silences=silences if soundtrack else (),
    )
    if not starts:
        report.skipped.append(_no_span(video.original_name, video.duration_s, options))
        return
    effective = options if soundtrack else SamplingOptions(**{**asdict(options), "avoid_silence": False})
    with transaction.atomic():
        for index, start in enumerate(starts):
            record = _record(seed, index, effective, silences, video.duration_s)
            clip, created = VideoClip.objects.get_or_create(
                video=video,
                start_s=start,
                duration_s=options.duration_s,
                defaults={"seed": source_seed, "sampling": record},
            )
            report.clips_created += created
            report.existing += not created
            if soundtrack is None:
                continue
            excerpt, created = MusicExcerpt.objects.get_or_create(
                track=soundtrack,
                start_s=start,
                duration_s=options.duration_s,
                defaults={"seed": source_seed, "sampling": record, "ground_truth_clip": clip},
            )
            if not created and excerpt.ground_truth_clip_id is None:
                MusicExcerpt.objects.filter(pk=excerpt.pk).update(ground_truth_clip=clip)
            report.excerpts_created += created
            report.existing += not created


def _sample_track(track: MusicTrack, seed: int, options: SamplingOptions, report: SamplingReport) -> None:
    silences: list = []
    if options.avoid_silence:
        try:
            silences = _silences(track, options)
        except (MediaError, FileNotFoundError) as exc:
            report.skipped.append((track.original_name, f"silence measurement failed: {exc}"))
            return
    source_seed = derive_seed(seed, kind="music", content_sha256=track.sha256)
    starts = choose_starts(seed=source_seed, source_duration_s=track.duration_s, options=options, silences=silences)
    if not starts:
        report.skipped.append(_no_span(track.original_name, track.duration_s, options))
        return
    with transaction.atomic():
        for index, start in enumerate(starts):
            _, created = MusicExcerpt.objects.get_or_create(
                track=track,
                start_s=start,
                duration_s=options.duration_s,
                defaults={"seed": source_seed, "sampling": _record(seed, index, options, silences, track.duration_s)},
            )
            report.excerpts_created += created
            report.existing += not created
