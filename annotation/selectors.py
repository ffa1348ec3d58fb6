"""Read-side queries of the stimulus library (views, commands and other apps use these)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Value, When

from annotation.files import models_dir
from annotation.models import (
    ImportBatch,
    ImportItem,
    Montage,
    MontageKind,
    MusicExcerpt,
    MusicTrack,
    Pairing,
    RenderState,
    StimulusSet,
    Video,
    VideoClip,
)


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


# --- the staff library browser ----------------------------------------------------------------

LIBRARY_KINDS = ("clips", "excerpts", "pairings")


@dataclass(frozen=True)
class LibraryFilter:
    """What the library page shows: one kind of item, narrowed by the page's filters (empty: no filter).

    ``label`` is a video's scene category, ``genre`` a track's genre; ``ground_truth`` keeps ("yes") or drops
    ("no") items of a music video's own soundtrack pair; ``batch`` is an import batch id; ``q`` searches titles
    and file names.
    """

    kind: str = "clips"
    label: str = ""
    genre: str = ""
    ground_truth: str = ""
    batch: int | None = None
    state: str = ""
    q: str = ""


def _search(fields: tuple[str, ...], q: str) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": q})
    return condition


def _clips_where(condition: Q) -> QuerySet:
    return VideoClip.objects.filter(condition).values("pk")


def _excerpts_where(condition: Q) -> QuerySet:
    return MusicExcerpt.objects.filter(condition).values("pk")


def _yes_no(queryset: QuerySet, condition: Q, wanted: str) -> QuerySet:
    if wanted == "yes":
        return queryset.filter(condition)
    if wanted == "no":
        return queryset.exclude(condition)
    return queryset


def library_items(flt: LibraryFilter) -> QuerySet:
    """The rows of one kind matching ``flt``, in a stable order (by id): what the page paginates.

    Pairings are filtered through their clips' and excerpts' ids (small tables) rather than by joining their
    sources row by row, so a Langlois-sized library (80,000 pairings) filters in milliseconds. Cards are
    loaded for one page at a time by :func:`library_rows`.
    """
    titles = ("title", "original_name")
    if flt.kind == "clips":
        queryset = VideoClip.objects.all()
        if flt.label:
            queryset = queryset.filter(video__label=flt.label)
        if flt.batch is not None:
            queryset = queryset.filter(video__import_batch_id=flt.batch)
        if flt.q:
            queryset = queryset.filter(_search(tuple(f"video__{f}" for f in titles), flt.q))
        queryset = _yes_no(queryset, Q(ground_truth_excerpt__isnull=False), flt.ground_truth)
    elif flt.kind == "excerpts":
        queryset = MusicExcerpt.objects.all()
        if flt.genre:
            queryset = queryset.filter(track__label=flt.genre)
        if flt.batch is not None:
            queryset = queryset.filter(track__import_batch_id=flt.batch)
        if flt.q:
            queryset = queryset.filter(_search(tuple(f"track__{f}" for f in titles), flt.q))
        queryset = _yes_no(queryset, Q(ground_truth_clip__isnull=False), flt.ground_truth)
    else:
        queryset = Pairing.objects.all()
        if flt.label:
            queryset = queryset.filter(clip_id__in=_clips_where(Q(video__label=flt.label)))
        if flt.genre:
            queryset = queryset.filter(excerpt_id__in=_excerpts_where(Q(track__label=flt.genre)))
        if flt.batch is not None:
            queryset = queryset.filter(
                Q(clip_id__in=_clips_where(Q(video__import_batch_id=flt.batch)))
                | Q(excerpt_id__in=_excerpts_where(Q(track__import_batch_id=flt.batch)))
            )
        if flt.q:
            queryset = queryset.filter(
                Q(clip_id__in=_clips_where(_search(tuple(f"video__{f}" for f in titles), flt.q)))
                | Q(excerpt_id__in=_excerpts_where(_search(tuple(f"track__{f}" for f in titles), flt.q)))
            )
        queryset = _yes_no(queryset, Q(excerpt__ground_truth_clip_id=F("clip_id")), flt.ground_truth)
    if flt.state:
        queryset = queryset.filter(state=flt.state)
    return queryset.order_by("pk")


def library_rows(*, kind: str, ids: Iterable[int]) -> list:
    """The cards of one page: rows of ``kind`` with the ids given, with their sources and ``is_ground_truth``
    (one query)."""
    ids = list(ids)
    if kind == "excerpts":
        queryset = MusicExcerpt.objects.select_related("track").annotate(
            is_ground_truth=ExpressionWrapper(Q(ground_truth_clip__isnull=False), output_field=BooleanField())
        )
    elif kind == "pairings":
        queryset = pairings_for_browsing()
    else:
        queryset = VideoClip.objects.select_related("video").annotate(
            is_ground_truth=Exists(MusicExcerpt.objects.filter(ground_truth_clip=OuterRef("pk")))
        )
    return list(queryset.filter(pk__in=ids).order_by("pk"))


def library_selection(flt: LibraryFilter) -> tuple[list[int], list[int]]:
    """Clip ids and excerpt ids of every row matching ``flt`` (the page's "everything matching" selection);
    for pairings, the clips and excerpts they combine."""
    rows = library_items(flt).order_by()
    if flt.kind == "clips":
        return sorted(rows.values_list("pk", flat=True)), []
    if flt.kind == "excerpts":
        return [], sorted(rows.values_list("pk", flat=True))
    return sorted(set(rows.values_list("clip_id", flat=True))), sorted(set(rows.values_list("excerpt_id", flat=True)))


def library_filter_choices() -> dict[str, list]:
    """The values the filters offer: scene categories, genres, import batches (newest first, 100 at most)."""
    return {
        "labels": list(Video.objects.order_by("label").values_list("label", flat=True).distinct()),
        "genres": list(MusicTrack.objects.order_by("label").values_list("label", flat=True).distinct()),
        "batches": list(ImportBatch.objects.order_by("-created_at").values("pk", "source", "location")[:100]),
    }


# --- named stimulus sets --------------------------------------------------------------------------


def stimulus_sets() -> QuerySet:
    """Every named set, newest first, annotated with ``n_clips`` and ``n_excerpts`` (one query)."""
    return StimulusSet.objects.select_related("created_by").annotate(
        n_clips=Count("clips", distinct=True), n_excerpts=Count("excerpts", distinct=True)
    )


def resolve_stimulus_set(*, set_id: int) -> tuple[list[int], list[int]]:
    """The clip ids and excerpt ids of set ``set_id`` (sorted); ``StimulusSet.DoesNotExist`` if there is none."""
    stimulus_set = StimulusSet.objects.get(pk=set_id)
    return (
        list(stimulus_set.clips.order_by("pk").values_list("pk", flat=True)),
        list(stimulus_set.excerpts.order_by("pk").values_list("pk", flat=True)),
    )


# --- montages (docs/montage.md) ---------------------------------------------------------------------


#: The order of a song's montages on pages and in the API: the model's, then its baselines.
MONTAGE_ORDER = (MontageKind.MODEL, MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL)


def montages(*, song: int | None = None, kind: str | None = None, state: str | None = None) -> QuerySet:
    """Montages with their song (one query), by song, then S, R, anti, G, then model; optionally filtered."""
    rank = Case(
        *(When(kind=kind, then=Value(i)) for i, kind in enumerate(MONTAGE_ORDER)), default=Value(len(MONTAGE_ORDER))
    )
    rows = Montage.objects.select_related("song").order_by("song_id", rank, "model", "pk")
    if song is not None:
        rows = rows.filter(song_id=song)
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state=state)
    return rows


def montage_source_videos(rows: Iterable[Montage]) -> dict[int, Video]:
    """The source videos the provenance of ``rows`` names, by id (one query for all of them)."""
    ids = {
        segment.get("source_video_id") for montage in rows for segment in (montage.provenance or {}).get("segments", [])
    }
    return Video.objects.in_bulk([i for i in ids if isinstance(i, int)])


def montage_songs() -> QuerySet:
    """Every music track, for choosing the song of a montage (title order)."""
    return MusicTrack.objects.order_by("title", "original_name", "pk")


def published_models() -> list[str]:
    """``NAME@VERSION`` of every model published in the registry (``DATA_DIR/models/<name>/<version>/model.json``)."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(f"{path.parent.parent.name}@{path.parent.name}" for path in root.glob("*/*/model.json"))


@dataclass
class MontageCard:
    """A montage on the staff page, with its provenance as table rows (source videos resolved)."""

    montage: Montage
    segments: list[dict]


def montage_groups(*, song: int | None = None) -> list[tuple[MusicTrack, list[MontageCard]]]:
    """The montages per song for the staff page (two queries, however many montages and segments)."""
    rows = list(montages(song=song))
    videos = montage_source_videos(rows)
    groups: dict[int, tuple[MusicTrack, list[MontageCard]]] = {}
    for montage in rows:
        segments = []
        for segment in (montage.provenance or {}).get("segments", []):
            video = videos.get(segment.get("source_video_id"))
            segments.append(
                {
                    **segment,
                    "source_video": (video.title or video.original_name) if video else "",
                }
            )
        groups.setdefault(montage.song_id, (montage.song, []))[1].append(MontageCard(montage, segments))
    return list(groups.values())
