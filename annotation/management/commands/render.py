"""python manage.py render — render pairings with Celery, with progress bars.

Without a broker (embedded mode) tasks run eagerly, one after another, and the bars advance as each
finishes. With a broker the tasks go to ``celery worker`` processes and the bars follow the counts of
finished rows in the database, so several workers (or a restarted command) report consistently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import selectors
from annotation.models import Pairing, RenderState
from annotation.services import rendering
from webapp.celery import app as celery_app


class Command(BaseCommand):
    help = (
        "Render music-video pairings. Default: the whole library (every clip x every excerpt, created if "
        "missing). Clips and excerpts are prepared once, then pairings are muxed by stream copy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pairing", type=int, nargs="+", dest="pairing_ids", help="only these pairings")
        parser.add_argument(
            "--no-create", action="store_true", help="do not create missing library pairings; render existing ones"
        )
        parser.add_argument("--no-wait", action="store_true", help="queue the tasks and return (broker mode)")
        parser.add_argument(
            "--stall-timeout", type=float, default=600.0, help="give up after this many seconds without progress"
        )

    def handle(self, *args, pairing_ids, no_create, no_wait, stall_timeout, verbosity, **options):
        if not stall_timeout > 0:
            raise CommandError(f"--stall-timeout must be a positive number of seconds, not {stall_timeout:g}.")
        self.verbosity, self.stall_timeout = verbosity, stall_timeout
        if pairing_ids:
            pairings = Pairing.objects.filter(pk__in=pairing_ids)
            unknown = set(pairing_ids) - set(pairings.values_list("pk", flat=True))
            if unknown:
                raise CommandError(f"unknown pairing ids: {sorted(unknown)}")
        else:
            if not no_create:
                created = rendering.create_library_pairings()
                self.stdout.write(f"library: {created} new pairings (every clip x every excerpt)")
            pairings = Pairing.objects.all()
        ids = list(pairings.values_list("pk", flat=True).order_by("pk"))
        if not ids:
            self.stdout.write("nothing to render: sample excerpts first (manage.py sample_excerpts)")
            return
        eager = bool(celery_app.conf.task_always_eager)
        if eager and verbosity < 2:
            # Eager tasks log one INFO line each, which would shred the progress bars.
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)

        clip_ids, excerpt_ids = selectors.unprepared_for(pairings)
        units = [("clip", pk) for pk in clip_ids] + [("excerpt", pk) for pk in excerpt_ids]
        self._phase(
            "prepare",
            units,
            dispatch=lambda unit: rendering.schedule_preparation(
                clip_ids=[unit[1]] if unit[0] == "clip" else [], excerpt_ids=[unit[1]] if unit[0] == "excerpt" else []
            ),
            progress=lambda: selectors.preparation_progress(clip_ids=clip_ids, excerpt_ids=excerpt_ids),
            wait=not (eager or no_wait),
        )
        pending = list(pairings.exclude(state=RenderState.READY).values_list("pk", "clip_id"))
        batches = rendering.batches_by_clip(pending, size=settings.MVFIT_RENDER_BATCH_SIZE)
        self._phase(
            "render",
            batches,
            dispatch=lambda batch: rendering.schedule_render(pairing_ids=batch),
            progress=lambda: selectors.render_progress(pairing_ids=[pk for pk, _ in pending]),
            wait=not (eager or no_wait),
        )
        counts = selectors.render_progress(pairing_ids=ids)
        self.stdout.write(
            f"pairings: {counts[RenderState.READY]} ready, {counts[RenderState.FAILED]} failed, "
            f"{counts[RenderState.PENDING] + counts[RenderState.RENDERING]} still queued (of {counts['total']})"
        )
        for pairing in pairings.filter(state=RenderState.FAILED)[:10]:
            self.stdout.write(self.style.WARNING(f"  pairing {pairing.pk} failed: {pairing.error}"))

    def _phase(
        self,
        name: str,
        units: Sequence,
        *,
        dispatch: Callable,
        progress: Callable[[], dict[str, int]],
        wait: bool,
    ) -> None:
        if not units:
            return
        start = progress()
        total = start["total"]
        with tqdm(total=total, desc=name, unit="item", disable=self.verbosity < 1) as bar:

            def refresh() -> int:
                counts = progress()
                done = counts[RenderState.READY] + counts[RenderState.FAILED]
                bar.n = done
                bar.set_postfix(failed=counts[RenderState.FAILED], refresh=False)
                bar.refresh()
                return done

            for unit in units:
                dispatch(unit)  # eager mode: runs right here; broker mode: just queued
                refresh()
            if not wait:
                return
            last_done, last_change = refresh(), time.monotonic()
            while last_done < total:
                time.sleep(0.5)
                done = refresh()
                if done != last_done:
                    last_done, last_change = done, time.monotonic()
                elif time.monotonic() - last_change > self.stall_timeout:
                    raise CommandError(
                        f"{name}: no progress for {self.stall_timeout:.0f}s ({done}/{total} done). "
                        "Is a worker running? Start one with: celery -A webapp worker"
                    )
