"""Reads for the workspace pages. Each function is a fixed, small number of queries (tests count them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from annotation.models import MusicExcerpt, MusicTrack, Pairing, RenderState, Video, VideoClip
from experiments.models import Experiment, ExperimentStatus, Response


@dataclass(frozen=True)
class HomeSummary:
    videos: int
    tracks: int
    clips: int
    excerpts: int
    pairings_ready: int
    pairings_pending: int
    experiments_by_status: dict[str, int]
    responses: int
    recent_experiments: list[Experiment]


def home_summary(*, recent: int = 8) -> HomeSummary:
    """The counts on the staff home page: the library, the experiments by status, the answers stored."""
    pairings = Pairing.objects.aggregate(
        ready=Count("pk", filter=Q(state=RenderState.READY)),
        pending=Count("pk", filter=~Q(state__in=[RenderState.READY, RenderState.FAILED])),
    )
    by_status = dict(Experiment.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return HomeSummary(
        videos=Video.objects.count(),
        tracks=MusicTrack.objects.count(),
        clips=VideoClip.objects.count(),
        excerpts=MusicExcerpt.objects.count(),
        pairings_ready=pairings["ready"],
        pairings_pending=pairings["pending"],
        experiments_by_status={s.value: by_status.get(s.value, 0) for s in ExperimentStatus},
        responses=Response.objects.count(),
        recent_experiments=list(Experiment.objects.order_by("-pk")[:recent]),
    )
