"""Read-side queries of the stimulus library (views, commands and other apps use these)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from annotation.models import ImportBatch, ImportItem, MusicExcerpt, MusicTrack, Pairing, RenderState, Video, VideoClip


def state_counts(queryset: QuerySet) -> dict[str, int]:
    """Rows per render state (every state present, zeros included) plus ``total``."""
    counts = {state: 0 for state in RenderState.values}
    for row in queryset.order_by().values("state").annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    counts["total"] = sum(counts[s] for s in RenderState.values)
    return counts


def render_progress(*, pairing_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Pairing counts per state: of the given pairings, or of the whole library."""
    queryset = Pairing.objects.all() if pairing_ids is None else Pairing.objects.filter(pk__in=list(pairing_ids))
    return state_counts(queryset)


def preparation_progress(*, clip_ids: Iterable[int], excerpt_ids: Iterable[int]) -> dict[str, int]:
    clips = state_counts(VideoClip.objects.filter(pk__in=list(clip_ids)))
    excerpts = state_counts(MusicExcerpt.objects.filter(pk__in=list(excerpt_ids)))
    return {key: clips[key] + excerpts[key] for key in clips}


def library_summary() -> dict[str, int | dict[str, int]]:
    videos = Video.objects.aggregate(n=Count("pk"), music=Count("pk", filter=Q(soundtrack__isnull=False)))
    return {
        "videos": videos["n"],
        "music_videos": videos["music"],
        "tracks": MusicTrack.objects.filter(source_video__isnull=True).count(),
        "clips": state_counts(VideoClip.objects.all()),
        "excerpts": state_counts(MusicExcerpt.objects.all()),
        "pairings": render_progress(),
    }


def unprepared_for(pairings: QuerySet) -> tuple[list[int], list[int]]:
    """Clip and excerpt ids the given pairings need that are not prepared yet."""
    clip_ids = (
        VideoClip.objects.filter(pk__in=pairings.values("clip_id"))
        .exclude(state=RenderState.READY)
        .values_list("pk", flat=True)
    )
    excerpt_ids = (
        MusicExcerpt.objects.filter(pk__in=pairings.values("excerpt_id"))
        .exclude(state=RenderState.READY)
        .values_list("pk", flat=True)
    )
    return list(clip_ids), list(excerpt_ids)


def failed_pairings(*, pairing_ids: Iterable[int], limit: int = 10) -> QuerySet:
    """The first ``limit`` failed pairings among ``pairing_ids`` (with their error)."""
    return Pairing.objects.filter(pk__in=list(pairing_ids), state=RenderState.FAILED).order_by("pk")[:limit]


def pairings_for_browsing(*, state: str | None = None) -> QuerySet:
    """Pairings with their clip/excerpt/source rows, flagged ``is_ground_truth`` (a music video's own sound)."""
    queryset = Pairing.objects.select_related("clip__video", "excerpt__track").annotate(
        is_ground_truth=Exists(
            MusicExcerpt.objects.filter(pk=OuterRef("excerpt_id"), ground_truth_clip=OuterRef("clip_id"))
        )
    )
    if state:
        queryset = queryset.filter(state=state)
    return queryset.order_by("pk")


def credited_assets() -> dict[str, QuerySet]:
    """Every imported source with its licence and attribution (soundtracks are credited with their video)."""
    return {
        "videos": Video.objects.select_related("soundtrack").order_by("label", "original_name"),
        "tracks": MusicTrack.objects.filter(source_video__isnull=True).order_by("label", "original_name"),
    }


def import_batches() -> QuerySet:
    return ImportBatch.objects.all().prefetch_related("items")


def import_problems(*, batch: ImportBatch, with_duplicates: bool = False) -> QuerySet:
    """The files of ``batch`` that were rejected (and, with ``with_duplicates``, found to be duplicates)."""
    outcomes = [ImportItem.Outcome.REJECTED, *([ImportItem.Outcome.DUPLICATE] if with_duplicates else [])]
    return batch.items.filter(outcome__in=outcomes).order_by("pk")


def clips_needing_posters(*, include_done: bool = False) -> list[int]:
    """Ids of clips without a poster frame (all clips with ``include_done``), in order."""
    clips = VideoClip.objects.all() if include_done else VideoClip.objects.filter(poster_file="")
    return list(clips.order_by("pk").values_list("pk", flat=True))
