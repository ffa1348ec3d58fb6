"""python manage.py demo — the whole platform on the embedded defaults, from nothing, in one command.

The steps are ``demo.services.run.prepare_demo`` (docs/demo.md); this command parses the options,
prints the summary and serves on 127.0.0.1.
"""

from __future__ import annotations

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.services import DEMO_SEED
from demo.services.console import Console
from demo.services.run import DemoError, DemoOptions, prepare_demo
from demo.services.summary import print_summary


class Command(BaseCommand):
    help = (
        "Set up and serve the demo: import media, render pairings, create three experiments with invite links, "
        "simulate a crowd, export and analyse the answers, run the web server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="prepare everything but do not start the server")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--synthetic", action="store_true", help="ignore the shared media; use synthetic media")
        parser.add_argument("--videos", type=int, default=6, help="synthetic videos (default 6)")
        parser.add_argument("--tracks", type=int, default=6, help="synthetic music tracks (default 6)")
        parser.add_argument(
            "--music-videos", type=int, default=6, help="synthetic music videos: the preference test's G pairs (6)"
        )
        parser.add_argument("--media-seconds", type=float, default=8.0, help="length of synthetic media files (8)")
        parser.add_argument("--excerpt-seconds", type=float, default=5.0, help="excerpt length (default 5)")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"sampling and design seed ({DEMO_SEED})")
        parser.add_argument("--username", default=os.environ.get("MVFIT_DEMO_USER", "experimenter"))
        parser.add_argument("--invites", type=int, default=3, help="invite links per experiment (default 3)")
        crowd = parser.add_mutually_exclusive_group()
        crowd.add_argument(
            "--simulate-crowd",
            type=int,
            default=20,
            metavar="N",
            help="simulated workers per experiment (default 20); they leave the last round for real people",
        )
        crowd.add_argument(
            "--no-simulate-crowd", dest="simulate_crowd", action="store_const", const=0, help="no simulated answers"
        )
        parser.add_argument("--no-report", action="store_true", help="skip the export and the analysis report")

    def handle(self, *args, **o):
        console = Console(
            out=self.stdout.write,
            err=self.stderr.write,
            heading=self.style.MIGRATE_HEADING,
            success=self.style.SUCCESS,
            verbosity=o["verbosity"],
        )
        names = ("synthetic", "videos", "tracks", "music_videos", "media_seconds", "excerpt_seconds", "seed")
        names += ("username", "invites", "simulate_crowd")
        try:
            options = DemoOptions(**{name: o[name] for name in names}, report=not o["no_report"])
            result = prepare_demo(options=options, console=console)
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        address = f"127.0.0.1:{o['port']}"
        print_summary(result=result, base=f"http://{address}", console=console)
        if o["no_serve"]:
            self.stdout.write(
                f"\nNot serving (--no-serve). Start the server with:  python manage.py runserver {address}\n"
            )
            return
        self.stdout.write(self.style.MIGRATE_HEADING(f"\n==> Serving on http://{address}/ (Ctrl-C to stop)"))
        call_command("runserver", address, use_reloader=False)
