"""Scheduling: what queues the library's Celery tasks. Other apps and the staff call these.

* :func:`request_pairings` — get or create the pairings for ``(clip_id, excerpt_id)`` pairs and schedule
  rendering for those not rendered yet (the experiments app schedules only the pairings it needs — "lazy mode").
* :func:`schedule_render` / :func:`schedule_preparation` — (re)schedule rendering of existing pairings,
  preparation of clips and excerpts.
* :func:`requeue_stale_renders` — the reaper (Celery beat, ``annotation.periodic``): re-queue what dead
  workers left in ``rendering``.
* :func:`queue_import_batch` — a server-side folder or manifest import, run by a worker.
* :func:`request_montages` / :func:`retry_montage` — whole-song montages (``annotation.services.montages``).

The direction of imports is fixed: this module imports ``annotation.tasks``; the tasks import only the work
modules (``annotation.services.rendering``, ``annotation.services.imports``), never this one. So no module
both queues a task and does the work the task runs, and there is no import circle to break with
function-level imports (``tests/test_import_cycles.py`` scans for them). Every task is dispatched with
``transaction.on_commit``, so a worker never looks for rows that are not committed yet.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from annotation import selectors, tasks
from annotation.import_roots import allowed_path, configured_roots
from annotation.manifests import read_manifest
from annotation.models import (
    ImportBatch,
    Montage,
    MontageKind,
    MusicExcerpt,
    MusicTrack,
    Pairing,
    RenderState,
    VideoClip,
)
from annotation.services import imports, montages, rendering

logger = logging.getLogger(__name__)


def _dispatch_render(batch: list[int]) -> None:
    tasks.render_pairings_task.delay(batch)


def batches_by_clip(rows: Iterable[tuple[int, int]], *, size: int) -> list[list[int]]:
    """Group ``(pairing_id, clip_id)`` rows into batches of one clip: a batch is one ffmpeg mux process."""
    by_clip: dict[int, list[int]] = defaultdict(list)
    for pairing_id, clip_id in rows:
        by_clip[clip_id].append(pairing_id)
    batches = []
    for clip_id in sorted(by_clip):
        ids = sorted(by_clip[clip_id])
        batches += [ids[i : i + size] for i in range(0, len(ids), size)]
    return batches


@transaction.atomic
def schedule_render(*, pairing_ids: Iterable[int]) -> int:
    """Schedule rendering of the given pairings that are not rendered yet; return how many were scheduled.

    Failed pairings are reset to pending (a retry after fixing the cause). Tasks are dispatched with
    ``transaction.on_commit`` so a worker never looks for rows that are not committed yet.
    """
    ids = sorted(set(pairing_ids))
    rows = list(
        Pairing.objects.filter(pk__in=ids).exclude(state=RenderState.READY).values_list("pk", "clip_id").order_by()
    )
    Pairing.objects.filter(pk__in=[pk for pk, _ in rows], state=RenderState.FAILED).update(
        state=RenderState.PENDING, error=""
    )
    for batch in batches_by_clip(rows, size=settings.MVFIT_RENDER_BATCH_SIZE):
        transaction.on_commit(functools.partial(_dispatch_render, batch))
    return len(rows)


@transaction.atomic
def schedule_preparation(*, clip_ids: Iterable[int] = (), excerpt_ids: Iterable[int] = ()) -> int:
    """Schedule preparation of clips and excerpts ahead of muxing (one task each); returns how many.

    Whole-library renders prepare everything first, so concurrent mux tasks do not all prepare the same
    excerpt at once. Lazily scheduled pairings prepare what they need themselves.
    """
    clips = list(
        VideoClip.objects.filter(pk__in=list(clip_ids)).exclude(state=RenderState.READY).values_list("pk", flat=True)
    )
    excerpts = list(
        MusicExcerpt.objects.filter(pk__in=list(excerpt_ids))
        .exclude(state=RenderState.READY)
        .values_list("pk", flat=True)
    )
    # A retry after a permanent failure starts from pending, so progress counts stay meaningful.
    VideoClip.objects.filter(pk__in=clips, state=RenderState.FAILED).update(state=RenderState.PENDING, error="")
    MusicExcerpt.objects.filter(pk__in=excerpts, state=RenderState.FAILED).update(state=RenderState.PENDING, error="")
    for pk in clips:
        transaction.on_commit(functools.partial(tasks.prepare_clip_task.delay, pk))
    for pk in excerpts:
        transaction.on_commit(functools.partial(tasks.prepare_excerpt_task.delay, pk))
    return len(clips) + len(excerpts)


def schedule_posters(*, clip_ids: Iterable[int] | None = None) -> int:
    """Queue a poster-frame task for each of the given clips (default: every clip) that has none; returns how
    many. Run after sampling, so the library page has thumbnails before anything is rendered."""
    missing = selectors.clips_needing_posters()
    if clip_ids is not None:
        wanted = set(clip_ids)
        missing = [pk for pk in missing if pk in wanted]
    for pk in missing:
        transaction.on_commit(functools.partial(tasks.make_poster_task.delay, pk))
    return len(missing)


@transaction.atomic
def request_pairings(*, pairs: list[tuple[int, int]]) -> list[Pairing]:
    """Get or create a pairing for every ``(clip_id, excerpt_id)`` and schedule rendering of unrendered ones.

    Returns the pairings in the order of ``pairs`` (duplicates in ``pairs`` return the same pairing).
    Raises ``ValidationError`` naming unknown clip or excerpt ids; nothing is created then.
    """
    wanted = [(int(c), int(e)) for c, e in pairs]
    if not wanted:
        return []
    clip_ids = {c for c, _ in wanted}
    excerpt_ids = {e for _, e in wanted}
    missing_clips = clip_ids - set(VideoClip.objects.filter(pk__in=clip_ids).values_list("pk", flat=True))
    missing_excerpts = excerpt_ids - set(MusicExcerpt.objects.filter(pk__in=excerpt_ids).values_list("pk", flat=True))
    if missing_clips or missing_excerpts:
        problems = []
        if missing_clips:
            problems.append(f"unknown video clip ids {sorted(missing_clips)}")
        if missing_excerpts:
            problems.append(f"unknown music excerpt ids {sorted(missing_excerpts)}")
        raise ValidationError("; ".join(problems))
    Pairing.objects.bulk_create(
        [Pairing(clip_id=c, excerpt_id=e) for c, e in dict.fromkeys(wanted)], ignore_conflicts=True
    )
    wanted_set = set(wanted)
    found = {
        (p.clip_id, p.excerpt_id): p
        for p in Pairing.objects.filter(clip_id__in=clip_ids, excerpt_id__in=excerpt_ids)
        if (p.clip_id, p.excerpt_id) in wanted_set
    }
    schedule_render(pairing_ids=[p.pk for p in found.values() if p.state != RenderState.READY])
    return [found[pair] for pair in wanted]


@transaction.atomic
def requeue_stale_renders() -> rendering.Requeued:
    """Re-queue clips, excerpts and pairings left in ``rendering`` by a dead worker (heartbeat too old).

    Idempotent and safe next to live renders (see ``rendering.take_stale_renders``); the tasks are
    dispatched after commit. If a presumed-dead worker was merely stalled, both runs write complete files
    atomically under the same name, so the result is the same.
    """
    outcome = rendering.take_stale_renders()
    schedule_preparation(clip_ids=outcome.clips, excerpt_ids=outcome.excerpts)
    schedule_render(pairing_ids=outcome.pairings)
    if outcome.pairings or outcome.clips or outcome.excerpts or outcome.failed:
        logger.warning(
            "re-queued renders of lost workers: %d pairings, %d clips, %d excerpts; gave up on %d",
            len(outcome.pairings),
            len(outcome.clips),
            len(outcome.excerpts),
            len(outcome.failed),
        )
    return outcome


def queue_import_batch(*, source: str, location: Path, user=None, options: dict | None = None) -> ImportBatch:
    """Create a folder/manifest batch and run it in a Celery worker after commit (used by the API).

    Raises ``PathNotAllowed`` outside the import roots, ``ManifestError`` for a bad manifest and
    ``NotADirectoryError`` for a folder import of something else; nothing is created then.
    """
    location = allowed_path(location, roots=configured_roots())
    roots = imports.batch_roots(folder=location.parent if source == ImportBatch.Source.MANIFEST else location)
    if source == ImportBatch.Source.MANIFEST:
        read_manifest(location, roots=roots)
    elif not location.is_dir():
        raise NotADirectoryError(f"not a folder: {location}")
    with transaction.atomic():
        batch = imports.create_batch(
            source=source, location=str(location), read_roots=roots, user=user, options=options
        )
        transaction.on_commit(functools.partial(tasks.run_import_batch_task.delay, batch.pk))
    batch.refresh_from_db()
    return batch


@dataclass(frozen=True)
class RenderPlan:
    """What rendering a set of pairings takes: preparation units first, then mux batches of one clip each."""

    pairing_ids: list[int]
    clip_ids: list[int]  # not prepared yet
    excerpt_ids: list[int]  # not prepared yet
    batches: list[list[int]]  # pending pairing ids, grouped by clip
    pending_ids: list[int]

    @property
    def preparation(self) -> list[tuple[str, int]]:
        """One unit per clip and excerpt to prepare: ``("clip" | "excerpt", id)`` (see :func:`schedule_unit`)."""
        return [("clip", pk) for pk in self.clip_ids] + [("excerpt", pk) for pk in self.excerpt_ids]


def plan_render(*, pairing_ids: Sequence[int] | None = None) -> RenderPlan:
    """Plan rendering ``pairing_ids`` (default: every pairing). Raises ``ValueError`` naming unknown ids."""
    pairings = Pairing.objects.all() if pairing_ids is None else Pairing.objects.filter(pk__in=list(pairing_ids))
    ids = list(pairings.values_list("pk", flat=True).order_by("pk"))
    if pairing_ids is not None and (unknown := set(pairing_ids) - set(ids)):
        raise ValueError(f"unknown pairing ids: {sorted(unknown)}")
    clip_ids, excerpt_ids = selectors.unprepared_for(pairings)
    pending = list(pairings.exclude(state=RenderState.READY).values_list("pk", "clip_id").order_by("pk"))
    return RenderPlan(
        pairing_ids=ids,
        clip_ids=clip_ids,
        excerpt_ids=excerpt_ids,
        batches=batches_by_clip(pending, size=settings.MVFIT_RENDER_BATCH_SIZE),
        pending_ids=[pk for pk, _ in pending],
    )


def schedule_unit(unit: tuple[str, int]) -> int:
    """Schedule the preparation of one unit of a :class:`RenderPlan` (``("clip", id)`` or ``("excerpt", id)``)."""
    kind, pk = unit
    return schedule_preparation(**{f"{kind}_ids": [pk]})


def _queue_montage_builds(montage_ids: Iterable[int]) -> None:
    for montage_id in montage_ids:
        transaction.on_commit(functools.partial(tasks.build_montage_task.delay, montage_id))


@transaction.atomic
def request_montages(
    *,
    song: MusicTrack,
    model: str,
    options: montages.MontageOptions | None = None,
    baselines: Iterable[str] = (MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL),
    user=None,
) -> list[Montage]:
    """A model's montage of ``song`` and its baselines (``montages.create_requested``), built by workers.

    Montages that are new (or failed before) are queued once the transaction commits; ready or running
    ones are returned as they are, so asking twice builds nothing twice.
    """
    rows = montages.create_requested(song=song, model=model, options=options, baselines=baselines, user=user)
    _queue_montage_builds(m.pk for m in rows if m.state in (RenderState.PENDING, RenderState.FAILED))
    return rows


@transaction.atomic
def retry_montage(*, montage: Montage) -> Montage:
    """Build a failed montage again."""
    montage = montages.reset_failed(montage=montage)
    _queue_montage_builds([montage.pk])
    return montage
