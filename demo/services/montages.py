"""The demo's montages: for every song that has its own music video, the stand-in's montage and baselines.

Seed 004's tool, on the demo library: each of the synthetic music videos' soundtracks is cut into bars
(``beats:4``, split where a bar is longer than the library's shortest clip) and every bar gets the library clip the demo's stand-in retrieval model
(:mod:`demo.services.montage_scorer`, ``stand-in@energy-v1``) finds nearest (S); the same cut is filled
with random clips (R) and with the farthest clips (anti), and the song's own music video is the ground
truth (G). They are built by the platform's own service (``annotation.services.scheduling``
``request_montages``; the demo runs Celery eagerly), so the montage page and API show them like any
other montage, and the ``demo-montages`` study compares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Min

from annotation.models import Montage, MusicTrack, RenderState, VideoClip
from annotation.services.montages import MontageOptions, MontageRequestError
from annotation.services.scheduling import request_montages
from demo.services.montage_scorer import MODEL_NAME

SEGMENTS = "beats:4"


@dataclass
class DemoMontages:
    ready: list[Montage] = field(default_factory=list)
    failed: list[Montage] = field(default_factory=list)
    problem: str = ""


def demo_songs() -> list[MusicTrack]:
    """The songs the demo cuts montages for: the soundtracks of its music videos (they have a G)."""
    return list(MusicTrack.objects.filter(source_video__isnull=False).order_by("pk"))


def ensure_demo_montages(*, seed: int, user=None) -> DemoMontages:
    """S (stand-in), R, anti and G for every demo song; existing montages are kept (idempotent)."""
    outcome = DemoMontages()
    songs = demo_songs()
    if not songs:
        outcome.problem = "the library has no music videos, so no song has a G montage"
        return outcome
    # A clip fills a whole segment, so no segment may be longer than the library's shortest clip.
    shortest = VideoClip.objects.filter(state=RenderState.READY).aggregate(d=Min("duration_s"))["d"]
    if shortest is None:
        outcome.problem = "the library has no prepared clips"
        return outcome
    longest = min(4.0, float(shortest))
    options = MontageOptions(segments=SEGMENTS, seed=seed, min_segment_s=min(0.5, longest / 2), max_segment_s=longest)
    for song in songs:
        try:
            request_montages(song=song, model=MODEL_NAME, options=options, user=user)
        except MontageRequestError as exc:
            outcome.problem = str(exc)
            return outcome
    montages = Montage.objects.filter(song__in=songs).order_by("song_id", "kind")
    outcome.ready = [m for m in montages if m.state == RenderState.READY]
    outcome.failed = [m for m in montages if m.state == RenderState.FAILED]
    return outcome
