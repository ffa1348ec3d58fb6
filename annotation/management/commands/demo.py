"""python manage.py demo — a working mvfit on the embedded defaults, from nothing, in one command.

Steps: migrate; create a staff user (credentials printed); import ``MVFIT_SHARED_MEDIA_DIR`` through its
manifest when it exists, else generate a small synthetic library; add a few synthetic music videos (so
ground-truth pairs exist); sample excerpts; render every pairing; collect static files; serve on
127.0.0.1 and print the URLs to open. Re-running it is cheap: imports deduplicate, the seeded sampling
finds its excerpts, and rendered pairings are skipped.

The shared media is read where it is (never copied into the repository); like every import, the files are
stored in media storage (``./data/media`` by default, git-ignored).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from annotation.media.synthetic import generate_library

DEMO_SEED = 2024


class Command(BaseCommand):
    help = "Set up and serve the demo: import media, sample excerpts, render pairings, run the web server."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="prepare everything but do not start the server")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--synthetic", action="store_true", help="ignore the shared media; use synthetic media")
        parser.add_argument("--videos", type=int, default=6, help="synthetic videos (default 6)")
        parser.add_argument("--tracks", type=int, default=6, help="synthetic music tracks (default 6)")
        parser.add_argument("--music-videos", type=int, default=2, help="synthetic music videos (default 2)")
        parser.add_argument("--media-seconds", type=float, default=12.0, help="length of synthetic media files")
        parser.add_argument("--excerpt-seconds", type=float, default=5.0, help="excerpt length (default 5)")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"sampling seed (default {DEMO_SEED})")
        parser.add_argument("--username", default=os.environ.get("MVFIT_DEMO_USER", "experimenter"))

    def handle(self, *args, **o):
        verbosity = o["verbosity"]
        self._step("Creating/updating the database")
        call_command("migrate", interactive=False, verbosity=0)
        username, password = self._staff_user(o["username"])

        shared = Path(settings.MVFIT_SHARED_MEDIA_DIR)
        synthetic_dir = Path(settings.DATA_DIR) / "synthetic-media"
        if not o["synthetic"] and (shared / "manifest.csv").is_file():
            self._step(f"Importing the shared media library in place: {shared}")
            call_command("import_media", str(shared / "manifest.csv"), verbosity=verbosity)
            self._step("Adding synthetic music videos (ground-truth pairs for the preference test)")
            manifest = generate_library(
                synthetic_dir / "music-videos",
                videos=0,
                tracks=0,
                music_videos=o["music_videos"],
                duration_s=o["media_seconds"],
            )
        else:
            self._step(f"No shared media at {shared}: generating a synthetic library in {synthetic_dir}")
            manifest = generate_library(
                synthetic_dir / "library",
                videos=o["videos"],
                tracks=o["tracks"],
                music_videos=o["music_videos"],
                duration_s=o["media_seconds"],
            )
        call_command("import_media", str(manifest), verbosity=verbosity)

        self._step(f"Sampling {o['excerpt_seconds']:g}-second excerpts (seed {o['seed']})")
        call_command(
            "sample_excerpts",
            seed=o["seed"],
            duration=o["excerpt_seconds"],
            avoid_silence=True,
            skip_start=0.0,
            verbosity=verbosity,
        )
        self._step("Rendering every clip x every excerpt (prepare once, then stream-copy mux)")
        call_command("render", verbosity=verbosity)
        self._step("Collecting static files")
        call_command("collectstatic", interactive=False, verbosity=0)

        base = f"http://127.0.0.1:{o['port']}"
        self.stdout.write(
            self.style.SUCCESS("\nThe demo is ready.\n")
            + f"  Library (rendered pairings, playable): {base}/library/\n"
            + f"  Credits (licences and attributions):   {base}/credits/\n"
            + f"  Admin:                                 {base}/admin/\n"
            + f"  API (import progress etc.):            {base}/api/library/progress/\n"
            + f"  Log in as {username!r} with password {password!r}\n"
        )
        if o["no_serve"]:
            return
        self._step(f"Serving on {base}/ (Ctrl-C to stop)")
        call_command("runserver", f"127.0.0.1:{o['port']}", use_reloader=False)

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def _staff_user(self, username: str) -> tuple[str, str]:
        password = os.environ.get("MVFIT_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        if len(password) < 8:
            raise CommandError("MVFIT_DEMO_PASSWORD must be at least 8 characters")
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return username, password
