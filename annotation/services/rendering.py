"""Rendering: prepare each excerpt once, then make pairings by stream-copy muxing.

This is the work module: :func:`prepare_clip`, :func:`prepare_excerpt` and :func:`render_pairings` run in
Celery tasks (``annotation.tasks`` imports this module; this module imports no task). Scheduling — getting
or creating pairings and queueing their renders — lives in ``annotation.services.scheduling``, which
imports the tasks. :func:`create_library_pairings` creates the full factorial design (every clip x every
excerpt) without scheduling anything.

The work is idempotent: finished work is detected and skipped, files get deterministic
storage names and are published atomically (``annotation.files.atomic_output``), so a task that is run twice
— or redelivered after its worker was killed — ends with exactly one complete file per item.

State changes are single UPDATE statements outside long transactions on purpose: ffmpeg runs for seconds,
and holding a transaction (and row locks) open that long would block other workers and hide progress.

**Recovery from killed workers.** Starting work on a row (``rendering``) stamps its ``heartbeat_at``; inside
:func:`keep_alive` (what the Celery tasks run in) a thread refreshes the stamp of every row this process has
claimed, every ``MVFIT_RENDER_HEARTBEAT_S``. :func:`take_stale_renders` (run by the beat task in
``annotation.periodic`` through ``scheduling.requeue_stale_renders``) puts rows whose stamp is older than
``MVFIT_RENDER_STALE_AFTER_S`` — their worker died — back to ``pending``, and they are scheduled again, so a ``kill -9`` costs seconds instead of the broker's visibility timeout.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotation.files import atomic_output, local_path, storage_file_exists
from annotation.media import MediaError
from annotation.media.render import RenderSpec, mux_pairings, poster_frame, prepare_music_excerpt, prepare_video_clip
from annotation.models import MusicExcerpt, Pairing, RenderState, VideoClip

logger = logging.getLogger(__name__)


class PreparationFailed(Exception):
    """A clip or excerpt could not be prepared for a permanent reason (recorded on its row)."""


def render_spec() -> RenderSpec:
    """The prepared-media format configured in settings (``MVFIT_RENDER_*``)."""
    try:
        width, height = (int(v) for v in settings.MVFIT_RENDER_SIZE.lower().split("x"))
    except ValueError as exc:
        raise ValueError(f"MVFIT_RENDER_SIZE must look like 1280x720, not {settings.MVFIT_RENDER_SIZE!r}") from exc
    if width % 2 or height % 2:
        raise ValueError(f"MVFIT_RENDER_SIZE must have even width and height (H.264 4:2:0), not {width}x{height}")
    return RenderSpec(
        width=width,
        height=height,
        fps=settings.MVFIT_RENDER_FPS,
        crf=settings.MVFIT_RENDER_CRF,
        preset=settings.MVFIT_RENDER_PRESET,
        loudness_lufs=settings.MVFIT_LOUDNESS_TARGET_LUFS,
    )


# --- deterministic storage names -------------------------------------------------------------
# Names carry only primary keys: nothing about labels or ground truth reaches a worker's browser.


def _shard(pk: int) -> str:
    return f"{pk // 1000:04d}"


def clip_storage_name(clip_id: int) -> str:
    return f"prepared/clips/{_shard(clip_id)}/clip-{clip_id}.mp4"


def excerpt_storage_name(excerpt_id: int) -> str:
    return f"prepared/excerpts/{_shard(excerpt_id)}/excerpt-{excerpt_id}.m4a"


def pairing_storage_name(pairing_id: int) -> str:
    return f"pairings/{_shard(pairing_id)}/pairing-{pairing_id}.mp4"


def poster_storage_name(clip_id: int) -> str:
    return f"prepared/posters/{_shard(clip_id)}/clip-{clip_id}.jpg"


@transaction.atomic
def create_library_pairings(
    *, clip_ids: Iterable[int] | None = None, excerpt_ids: Iterable[int] | None = None, chunk_size: int = 5000
) -> int:
    """Create the full factorial design: every clip x every excerpt (or the given subsets). Returns how many
    pairings were new. Existing pairings are left alone (``ignore_conflicts``), so this is safe to repeat."""
    clips = VideoClip.objects.all() if clip_ids is None else VideoClip.objects.filter(pk__in=list(clip_ids))
    excerpts = (
        MusicExcerpt.objects.all() if excerpt_ids is None else MusicExcerpt.objects.filter(pk__in=list(excerpt_ids))
    )
    clip_pks = list(clips.values_list("pk", flat=True).order_by("pk"))
    excerpt_pks = list(excerpts.values_list("pk", flat=True).order_by("pk"))
    before = Pairing.objects.count()
    pairs = itertools.product(clip_pks, excerpt_pks)
    while chunk := list(itertools.islice(pairs, chunk_size)):
        Pairing.objects.bulk_create([Pairing(clip_id=c, excerpt_id=e) for c, e in chunk], ignore_conflicts=True)
    return Pairing.objects.count() - before


# --- the work (called from Celery tasks) -------------------------------------------------------


@transaction.atomic
def _mark(model: type[models.Model], pks: Iterable[int], *, state: str, error: str = "", **extra) -> None:
    model.objects.filter(pk__in=list(pks)).update(state=state, error=error[:4000], **extra)


def _start(model: type[models.Model], pks: Iterable[int]) -> None:
    pks = list(pks)
    model.objects.filter(pk__in=pks).exclude(state=RenderState.READY).update(
        state=RenderState.RENDERING, attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    if (heartbeat := getattr(_local, "heartbeat", None)) is not None:
        heartbeat.claim(model, pks)


# --- heartbeat and recovery ---------------------------------------------------------------------

_local = threading.local()


class _Heartbeat(threading.Thread):
    """Refresh ``heartbeat_at`` of the rows this process is rendering until told to stop."""

    def __init__(self, every_s: float) -> None:
        super().__init__(name="render-heartbeat", daemon=True)
        self.every_s = every_s
        self.claims: dict[type[models.Model], set[int]] = defaultdict(set)
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def claim(self, model: type[models.Model], pks: list[int]) -> None:
        with self.lock:
            self.claims[model].update(pks)

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every_s):
                with self.lock:
                    claims = {model: sorted(pks) for model, pks in self.claims.items()}
                try:
                    for model, pks in claims.items():
                        model.objects.filter(pk__in=pks, state=RenderState.RENDERING).update(
                            heartbeat_at=timezone.now()
                        )
                except Exception:  # a database blip: the next beat tries again
                    logger.warning("render heartbeat failed", exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's own connections


@contextlib.contextmanager
def keep_alive(*, every_s: float | None = None) -> Iterator[None]:
    """Keep the heartbeat of every row started inside this block fresh while the block runs.

    Used by the Celery tasks (not by eager runs: without a broker there is no reaper to outrun). The
    heartbeat runs in a thread with its own database connection; it stops with the block, or dies with
    the process — which is what lets :func:`take_stale_renders` tell a dead worker from a slow one.
    """
    heartbeat = _Heartbeat(every_s or settings.MVFIT_RENDER_HEARTBEAT_S)
    previous, _local.heartbeat = getattr(_local, "heartbeat", None), heartbeat
    heartbeat.start()
    try:
        yield
    finally:
        _local.heartbeat = previous
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)


@dataclass
class Requeued:
    pairings: list[int] = field(default_factory=list)
    clips: list[int] = field(default_factory=list)
    excerpts: list[int] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)


def _take_stale(model: type[models.Model], *, cutoff, failed: list[tuple[str, int]]) -> list[int]:
    """Lock the stale ``rendering`` rows of ``model``; give up on those started too often, reset the rest."""
    rows = list(
        model.objects.select_for_update(skip_locked=True)
        .filter(state=RenderState.RENDERING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
        .values_list("pk", "attempts")
        .order_by("pk")
    )
    limit = settings.MVFIT_RENDER_MAX_ATTEMPTS
    hopeless = [pk for pk, attempts in rows if attempts >= limit]
    if hopeless:
        mark_failed(model, hopeless, reason=f"gave up: started {limit} times and its worker was lost each time")
        failed += [(model._meta.model_name, pk) for pk in hopeless]
    again = [pk for pk, attempts in rows if attempts < limit]
    model.objects.filter(pk__in=again).update(state=RenderState.PENDING)
    return again


@transaction.atomic
def take_stale_renders() -> Requeued:
    """Put clips, excerpts and pairings left in ``rendering`` by a dead worker (heartbeat too old) back to
    ``pending``; give up on those lost too often. Returns what is to be scheduled again (the caller,
    ``annotation.services.scheduling.requeue_stale_renders``, schedules it in the same transaction).

    Safe next to live renders: a live render's heartbeat is fresh and rows locked by another reaper are skipped.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.MVFIT_RENDER_STALE_AFTER_S)
    outcome = Requeued()
    outcome.clips = _take_stale(VideoClip, cutoff=cutoff, failed=outcome.failed)
    outcome.excerpts = _take_stale(MusicExcerpt, cutoff=cutoff, failed=outcome.failed)
    outcome.pairings = _take_stale(Pairing, cutoff=cutoff, failed=outcome.failed)
    return outcome


def mark_failed(model: type[models.Model], pks: Iterable[int], *, reason: str) -> None:
    """Record a permanent failure (also used by tasks that gave up retrying)."""
    _mark(model, pks, state=RenderState.FAILED, error=reason)


def _is_done(item: VideoClip | MusicExcerpt) -> bool:
    return item.state == RenderState.READY and storage_file_exists(item.prepared_file.name)


def prepare_clip(*, clip_id: int, force: bool = False) -> VideoClip:
    """Cut, scale and encode a video clip once (H.264, no audio). Idempotent; raises PreparationFailed."""
    clip = VideoClip.objects.select_related("video").get(pk=clip_id)
    if _is_done(clip) and not force:
        return clip
    _start(VideoClip, [clip_id])
    name = clip_storage_name(clip_id)
    try:
        with local_path(clip.video.file) as source, atomic_output(name) as tmp:
            prepare_video_clip(
                source=source, output=tmp, start_s=clip.start_s, duration_s=clip.duration_s, spec=render_spec()
            )
    except (MediaError, FileNotFoundError) as exc:
        mark_failed(VideoClip, [clip_id], reason=str(exc))
        raise PreparationFailed(f"clip {clip_id} could not be prepared: {exc}") from exc
    _mark(VideoClip, [clip_id], state=RenderState.READY, prepared_file=name, prepared_at=timezone.now())
    clip.refresh_from_db()
    make_poster(clip_id=clip_id)
    return clip


def make_poster(*, clip_id: int, force: bool = False) -> bool:
    """Make the clip's poster frame (a JPEG of its middle frame, for the library page); True if one was made.

    Taken from the prepared clip when there is one (same picture a worker sees), else from the source video.
    Idempotent and atomic (temp file + rename). A poster is a convenience: a frame that cannot be decoded is
    logged and leaves the clip without a thumbnail, never fails the clip.
    """
    clip = VideoClip.objects.select_related("video").get(pk=clip_id)
    if clip.poster_file and storage_file_exists(clip.poster_file.name) and not force:
        return False
    prepared = clip.state == RenderState.READY and storage_file_exists(clip.prepared_file.name)
    source, at_s = (
        (clip.prepared_file, clip.duration_s / 2) if prepared else (clip.video.file, clip.start_s + clip.duration_s / 2)
    )
    name = poster_storage_name(clip_id)
    try:
        with local_path(source) as path, atomic_output(name) as tmp:
            poster_frame(source=path, output=tmp, at_s=at_s)
    except (MediaError, FileNotFoundError, ValueError) as exc:
        logger.warning("no poster frame for clip %s: %s", clip_id, exc)
        return False
    VideoClip.objects.filter(pk=clip_id).update(poster_file=name)
    return True


def prepare_excerpt(*, excerpt_id: int, force: bool = False) -> MusicExcerpt:
    """Cut an excerpt and normalise its loudness once (AAC). Idempotent; raises PreparationFailed."""
    excerpt = MusicExcerpt.objects.select_related("track").get(pk=excerpt_id)
    if _is_done(excerpt) and not force:
        return excerpt
    _start(MusicExcerpt, [excerpt_id])
    name = excerpt_storage_name(excerpt_id)
    try:
        with local_path(excerpt.track.file) as source, atomic_output(name) as tmp:
            lufs = prepare_music_excerpt(
                source=source, output=tmp, start_s=excerpt.start_s, duration_s=excerpt.duration_s, spec=render_spec()
            )
    except (MediaError, FileNotFoundError) as exc:
        mark_failed(MusicExcerpt, [excerpt_id], reason=str(exc))
        raise PreparationFailed(f"excerpt {excerpt_id} could not be prepared: {exc}") from exc
    _mark(
        MusicExcerpt,
        [excerpt_id],
        state=RenderState.READY,
        prepared_file=name,
        prepared_at=timezone.now(),
        loudness_lufs=lufs,
    )
    excerpt.refresh_from_db()
    return excerpt


@dataclass
class RenderOutcome:
    rendered: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def render_pairings(*, pairing_ids: Iterable[int]) -> RenderOutcome:
    """Render pairings (normally of one clip): prepare what is missing, then one stream-copy mux per clip.

    Already rendered pairings are skipped. Permanent problems mark the affected pairings FAILED with the
    reason; transient ones (database, storage, network) propagate so the task retries.
    """
    outcome = RenderOutcome()
    pairings = list(Pairing.objects.filter(pk__in=list(pairing_ids)).order_by("clip_id", "pk"))
    todo = []
    for pairing in pairings:
        if pairing.state == RenderState.READY and storage_file_exists(pairing.rendered_file.name):
            outcome.skipped.append(pairing.pk)
        else:
            todo.append(pairing)
    for clip_id, group in itertools.groupby(todo, key=lambda p: p.clip_id):
        _render_clip_group(clip_id, list(group), outcome)
    return outcome


def _render_clip_group(clip_id: int, group: list[Pairing], outcome: RenderOutcome) -> None:
    _start(Pairing, [p.pk for p in group])
    try:
        clip = prepare_clip(clip_id=clip_id)
    except PreparationFailed as exc:
        _fail_pairings(group, str(exc), outcome)
        return
    excerpts: dict[int, MusicExcerpt] = {}
    for excerpt_id in sorted({p.excerpt_id for p in group}):
        try:
            excerpts[excerpt_id] = prepare_excerpt(excerpt_id=excerpt_id)
        except PreparationFailed as exc:
            _fail_pairings([p for p in group if p.excerpt_id == excerpt_id], str(exc), outcome)
    ready = [p for p in group if p.excerpt_id in excerpts]
    if not ready:
        return
    try:
        with contextlib.ExitStack() as stack:
            clip_path = stack.enter_context(local_path(clip.prepared_file))
            excerpt_paths = {pk: stack.enter_context(local_path(e.prepared_file)) for pk, e in excerpts.items()}
            outputs = [
                (excerpt_paths[p.excerpt_id], stack.enter_context(atomic_output(pairing_storage_name(p.pk))))
                for p in ready
            ]
            mux_pairings(clip=clip_path, outputs=outputs)
    except (MediaError, FileNotFoundError) as exc:
        _fail_pairings(ready, f"mux failed: {exc}", outcome)
        return
    now = timezone.now()
    with transaction.atomic():
        for pairing in ready:
            Pairing.objects.filter(pk=pairing.pk).update(
                state=RenderState.READY, error="", rendered_file=pairing_storage_name(pairing.pk), rendered_at=now
            )
    outcome.rendered += [p.pk for p in ready]


def _fail_pairings(pairings: list[Pairing], reason: str, outcome: RenderOutcome) -> None:
    mark_failed(Pairing, [p.pk for p in pairings], reason=reason)
    outcome.failed.update({p.pk: reason for p in pairings})
