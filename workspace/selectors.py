"""Reads for the workspace pages. Each function is a fixed, small number of queries (tests count them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from annotation.models import MusicExcerpt, MusicTrack, Pairing, RenderState, Video, VideoClip
from experiments.models import Experiment, ExperimentStatus, InviteLink, Item, Response
from experiments.selectors.progress import skipped_trials
from workspace.models import Job, JobKind


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


@dataclass(frozen=True)
class LabelCount:
    label: str
    n: int


def library_labels() -> tuple[list[LabelCount], list[LabelCount]]:
    """Scene categories (with their clip counts) and genres (with their excerpt counts): the wizard's choices."""
    scenes = VideoClip.objects.values("video__label").annotate(n=Count("pk")).order_by("video__label")
    genres = MusicExcerpt.objects.values("track__label").annotate(n=Count("pk")).order_by("track__label")
    return (
        [LabelCount(r["video__label"], r["n"]) for r in scenes],
        [LabelCount(r["track__label"], r["n"]) for r in genres],
    )


def clip_ids(*, labels: list[str] | None) -> list[int]:
    """Clips whose video has one of ``labels`` (every clip when ``labels`` is None), by id."""
    clips = VideoClip.objects.order_by("pk")
    if labels is not None:
        clips = clips.filter(video__label__in=labels)
    return list(clips.values_list("pk", flat=True))


def excerpt_ids(*, genres: list[str] | None) -> list[int]:
    """Excerpts whose track has one of ``genres`` (every excerpt when ``genres`` is None), by id."""
    excerpts = MusicExcerpt.objects.order_by("pk")
    if genres is not None:
        excerpts = excerpts.filter(track__label__in=genres)
    return list(excerpts.values_list("pk", flat=True))


# --- the experiment page -------------------------------------------------------------------------

ITEM_FILTERS = {
    "all": "Every item",
    "short": "Short of k",
    "skipped": "Skipped (media would not play)",
    "flagged": "Flagged (a pairing skipped twice or more)",
}
_NAMED = (
    "pairing__clip__video",
    "pairing__excerpt__track",
    "first_pairing__clip__video",
    "first_pairing__excerpt__track",
    "second_pairing__clip__video",
    "second_pairing__excerpt__track",
    "query_clip__video",
    "query_excerpt__track",
)


def _name(asset, excerpt) -> str:
    """A clip or excerpt as people name it: the file's title (or name), its label and where the excerpt starts."""
    return f"{asset.title or asset.original_name} [{asset.label}] @{excerpt.start_s:g}s"


def clip_name(clip: VideoClip) -> str:
    return _name(clip.video, clip)


def excerpt_name(excerpt: MusicExcerpt) -> str:
    return _name(excerpt.track, excerpt)


@dataclass(frozen=True)
class ItemRow:
    index: int
    what: str  # "rate" or the direction and condition of a choice
    stimuli: list[str]  # named clips and excerpts
    completed: int
    missing: int
    skips: int


def _describe(item: Item) -> tuple[str, list[str]]:
    if item.pairing_id:
        return "rate", [clip_name(item.pairing.clip), excerpt_name(item.pairing.excerpt)]
    if item.direction == "V2M":
        query = clip_name(item.query_clip)
        options = [excerpt_name(item.first_pairing.excerpt), excerpt_name(item.second_pairing.excerpt)]
    else:
        query = excerpt_name(item.query_excerpt)
        options = [clip_name(item.first_pairing.clip), clip_name(item.second_pairing.clip)]
    kinds = f" {item.first_kind}/{item.second_kind}" if item.first_kind else ""
    return f"{item.direction}{kinds}", [query, *(f"option: {o}" for o in options)]


def experiment_items(experiment: Experiment, *, show: str = "all") -> QuerySet[Item]:
    """The experiment's items in the page's order, filtered (``ITEM_FILTERS``): ids only, a light query that
    the paginator counts and slices (the names are fetched for one page by :func:`item_page`)."""
    items = Item.objects.filter(experiment=experiment).order_by("index")
    if show == "short":
        items = items.filter(completed_count__lt=experiment.judgments_per_item).order_by("completed_count", "index")
    elif show == "skipped":  # through the (few) skipped responses, not a count per item
        items = items.filter(
            pk__in=Response.objects.filter(assignment__experiment=experiment)
            .exclude(skipped_reason="")
            .values("trial__item_id")
        )
    elif show == "flagged":
        broken = skipped_trials(experiment)["broken_pairings"]
        items = items.filter(Q(pairing__in=broken) | Q(first_pairing__in=broken) | Q(second_pairing__in=broken))
    return items.values_list("pk", flat=True)


def item_page(experiment: Experiment, *, show: str, page: int | str, per_page: int = 50) -> tuple[Page, list[ItemRow]]:
    """One page of :func:`experiment_items` as rows of names, each with its skips (trials of it skipped because
    the media would not play). Four queries however many items: the count, the page's ids, their rows, skips."""
    paginator = Paginator(experiment_items(experiment, show=show), per_page)
    current = paginator.get_page(page)
    ids = list(current.object_list)
    found = {item.pk: item for item in Item.objects.filter(pk__in=ids).select_related(*_NAMED)}
    skips = dict(
        Response.objects.filter(trial__item_id__in=ids)
        .exclude(skipped_reason="")
        .values("trial__item_id")
        .annotate(n=Count("pk"))
        .values_list("trial__item_id", "n")
    )
    k = experiment.judgments_per_item
    rows = []
    for item in (found[pk] for pk in ids if pk in found):
        what, stimuli = _describe(item)
        missing = max(0, k - item.completed_count)
        rows.append(ItemRow(item.index, what, stimuli, item.completed_count, missing, skips.get(item.pk, 0)))
    return current, rows


@dataclass(frozen=True)
class InviteSummary:
    total: int
    used: int

    @property
    def unused(self) -> int:
        return self.total - self.used


def invite_summary(experiment: Experiment) -> InviteSummary:
    counts = InviteLink.objects.filter(experiment=experiment).aggregate(
        total=Count("pk"), used=Count("pk", filter=Q(participant__isnull=False) | Q(used_at__isnull=False))
    )
    return InviteSummary(counts["total"], counts["used"])


def unused_invite_links(experiment: Experiment) -> QuerySet[InviteLink]:
    """The experiment's invitations nobody has followed yet, oldest first (the CSV download)."""
    return InviteLink.objects.filter(experiment=experiment, participant__isnull=True, used_at__isnull=True).order_by(
        "pk"
    )


def latest_jobs(experiment: Experiment) -> dict[str, Job | None]:
    """The newest job of each kind for the experiment (one query)."""
    latest: dict[str, Job | None] = {kind.value: None for kind in JobKind}
    for job in Job.objects.filter(experiment=experiment).order_by("-created_at", "-pk")[:20]:
        latest[job.kind] = latest[job.kind] or job
    return latest


def latest_report(experiment: Experiment) -> Job | None:
    """The newest finished report of the experiment, if any."""
    return (
        Job.objects.filter(experiment=experiment, kind=JobKind.REPORT, state="done")
        .exclude(result="")
        .order_by("-finished_at", "-pk")
        .first()
    )


def render_progress(experiment: Experiment) -> dict[str, int]:
    """How many of the pairings the experiment's items show are rendered (workers need every one)."""
    items = Item.objects.filter(experiment=experiment)
    pairings = Pairing.objects.filter(
        Q(pk__in=items.values("pairing_id"))
        | Q(pk__in=items.values("first_pairing_id"))
        | Q(pk__in=items.values("second_pairing_id"))
    )
    return pairings.aggregate(total=Count("pk"), ready=Count("pk", filter=Q(state=RenderState.READY)))
