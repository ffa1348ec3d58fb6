"""python manage.py render — render pairings with Celery, with progress bars.

Without a broker (embedded mode) tasks run eagerly, one after another, and the bars advance as each
finishes. With a broker the tasks go to ``celery worker`` processes and the bars follow the counts of
finished rows in the database, so several workers (or a restarted command) report consistently.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import selectors
from annotation.models import RenderState
from annotation.services import rendering, scheduling
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
        if not pairing_ids and not no_create:
            created = rendering.create_library_pairings()
            self.stdout.write(f"library: {created} new pairings (every clip x every excerpt)")
        try:
            plan = scheduling.plan_render(pairing_ids=pairing_ids or None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not plan.pairing_ids:
            self.stdout.write("nothing to render: sample excerpts first (manage.py sample_excerpts)")
            return
        wait = not (self._eager() or no_wait)
        prepared = functools.partial(
            selectors.preparation_progress, clip_ids=plan.clip_ids, excerpt_ids=plan.excerpt_ids
        )
        self._phase("prepare", plan.preparation, dispatch=scheduling.schedule_unit, progress=prepared, wait=wait)
        rendered = functools.partial(selectors.render_progress, pairing_ids=plan.pending_ids)
        self._phase("render", plan.batches, dispatch=_schedule_batch, progress=rendered, wait=wait)
        self._report(plan.pairing_ids)

    def _eager(self) -> bool:
        eager = bool(celery_app.conf.task_always_eager)
        if eager and self.verbosity < 2:
            # Eager tasks log one INFO line each, which would shred the progress bars.
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        return eager

    def _report(self, pairing_ids: list[int]) -> None:
        counts = selectors.render_progress(pairing_ids=pairing_ids)
        self.stdout.write(
            f"pairings: {counts[RenderState.READY]} ready, {counts[RenderState.FAILED]} failed, "
            f"{counts[RenderState.PENDING] + counts[RenderState.RENDERING]} still queued (of {counts['total']})"
        )
        for pairing in selectors.failed_pairings(pairing_ids=pairing_ids):
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


def _schedule_batch(batch: list[int]) -> int:
    return scheduling.schedule_render(pairing_ids=batch)
