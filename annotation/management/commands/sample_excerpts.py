"""python manage.py sample_excerpts --seed N — seeded random excerpts per video and per track."""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand, CommandError

from annotation.services import scheduling
from annotation.services.sampling import sample_excerpts


class Command(BaseCommand):
    help = (
        "Sample random excerpts (default 5 s) of every video and music track. The same --seed and options "
        "reproduce the same excerpts (and create nothing new); music videos get aligned clip+excerpt pairs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, help="base seed (default: random, printed so it can be reused)")
        parser.add_argument("--duration", type=float, default=5.0, help="excerpt length in seconds (default 5)")
        parser.add_argument("--per-video", type=int, default=1, help="clips per video (default 1)")
        parser.add_argument("--per-track", type=int, default=1, help="excerpts per music track (default 1)")
        parser.add_argument("--skip-start", type=float, default=0.0, help="never start in the first N seconds")
        parser.add_argument("--skip-end", type=float, default=0.0, help="never end in the last N seconds")
        parser.add_argument("--avoid-silence", action="store_true", help="avoid near-silent passages of audio")
        parser.add_argument("--silence-db", type=float, default=-50.0, help="silence threshold in dB (default -50)")
        parser.add_argument(
            "--max-silent-fraction", type=float, default=0.2, help="largest silent share of an excerpt (default 0.2)"
        )

    def handle(self, *args, **o):
        seed = o["seed"] if o["seed"] is not None else secrets.randbelow(2**31)
        try:
            report = sample_excerpts(
                seed=seed,
                duration_s=o["duration"],
                clips_per_video=o["per_video"],
                excerpts_per_track=o["per_track"],
                skip_start_s=o["skip_start"],
                skip_end_s=o["skip_end"],
                avoid_silence=o["avoid_silence"],
                silence_noise_db=o["silence_db"],
                max_silent_fraction=o["max_silent_fraction"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"seed {seed}: {report.clips_created} clips and {report.excerpts_created} excerpts created, "
            f"{report.existing} already there"
        )
        for name, reason in report.skipped:
            self.stdout.write(self.style.WARNING(f"  skipped {name}: {reason}"))
        if queued := scheduling.schedule_posters():
            self.stdout.write(f"poster frames: {queued} clips queued (the library page's thumbnails)")
