"""python manage.py demo — the whole platform on the embedded defaults, from nothing, in one command.

Steps (docs/demo.md): migrate; create a staff user (credentials printed); import
``MVFIT_SHARED_MEDIA_DIR`` through its manifest when it exists, else generate a small synthetic
library; add synthetic music videos (ground-truth pairs for the preference test); sample excerpts;
render every pairing; compute the stand-in search features; create and open three experiments
(Langlois fit ratings, 2AFC, VM-NET preference test) with invite links; let a simulated crowd
answer most of their bundles through the worker services; export the answers and write the
analysis report; serve on 127.0.0.1 and print where to go.

Running it again changes nothing that exists: imports deduplicate, the seeded sampling finds its
excerpts, rendered pairings are skipped, the experiments, invite links and simulated answers are
kept, and the report is rebuilt only when there are new answers.

The shared media is read where it is (never copied into the repository); like every import, the
files are stored in media storage (``./data/media`` by default, git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from annotation.media.synthetic import generate_library
from annotation.models import MusicExcerpt

DEMO_SEED = 2024


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
        self.verbosity = o["verbosity"]
        self.progress = self.verbosity > 0
        self.timings: list[tuple[str, float]] = []
        started = time.perf_counter()
        if o["simulate_crowd"] < 0 or o["invites"] < 0:
            raise CommandError("--simulate-crowd and --invites must not be negative.")

        with self._step("Database and staff user"):
            call_command("migrate", interactive=False, verbosity=0)
            username, password = self._staff_user(o["username"])
        with self._step("Media library"):
            self._import_library(o)
        with self._step(f"Excerpts ({o['excerpt_seconds']:g} s, seed {o['seed']})"):
            call_command(
                "sample_excerpts",
                seed=o["seed"],
                duration=o["excerpt_seconds"],
                avoid_silence=True,
                skip_start=0.0,
                verbosity=self.verbosity,
            )
        with self._step("Rendering every clip x every excerpt (prepare once, then stream-copy mux)"):
            call_command("render", verbosity=self.verbosity)
        with self._step("Static files"):
            call_command("collectstatic", interactive=False, verbosity=0)

        from experiments.services.demo import demo_paths

        paths = demo_paths()
        with self._step("Stand-in search features (for the preference test's S items)"):
            features = self._search_features(paths)
        with self._step("Experiments (Langlois ratings, 2AFC, VM-NET preference test)"):
            studies = self._experiments(paths, features, o)
        invites = {}
        with self._step("Invite links"):
            from experiments.services.demo.studies import ensure_invite_links

            for study in studies:
                if study.experiment is not None:
                    invites[study.slug] = ensure_invite_links(experiment=study.experiment, count=o["invites"])
        if o["simulate_crowd"]:
            with self._step(f"Simulated crowd ({o['simulate_crowd']} workers per experiment, worker ids sim:...)"):
                self._simulate_crowd(paths, features, studies, o)
        report = None
        if not o["no_report"]:
            with self._step("Export and analysis report"):
                report = self._report(paths, studies)

        self._summary(
            base=f"http://127.0.0.1:{o['port']}",
            username=username,
            password=password,
            studies=studies,
            invites=invites,
            report=report,
            paths=paths,
            elapsed=time.perf_counter() - started,
        )
        if o["no_serve"]:
            self.stdout.write(
                f"\nNot serving (--no-serve). Start the server with:  python manage.py runserver 127.0.0.1:{o['port']}\n"
            )
            return
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"\n==> Serving on http://127.0.0.1:{o['port']}/ (Ctrl-C to stop)")
        )
        call_command("runserver", f"127.0.0.1:{o['port']}", use_reloader=False)

    # --- steps ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _step(self, title: str):
        """Print the step's heading; afterwards its duration (also kept for the closing summary)."""
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {title}"))
        began = time.perf_counter()
        yield
        seconds = time.perf_counter() - began
        self.timings.append((title.split(" (")[0], seconds))
        if self.verbosity:
            self.stdout.write(f"    done in {_duration(seconds)}")

    def _import_library(self, o: dict) -> None:
        shared = Path(settings.MVFIT_SHARED_MEDIA_DIR)
        synthetic_dir = Path(settings.DATA_DIR) / "synthetic-media"
        if not o["synthetic"] and (shared / "manifest.csv").is_file():
            self.stdout.write(f"    importing the shared media library in place: {shared}")
            call_command("import_media", str(shared / "manifest.csv"), verbosity=self.verbosity)
            self.stdout.write(f"    adding {o['music_videos']} synthetic music videos (ground-truth pairs)")
            manifest = generate_library(
                synthetic_dir / "music-videos",
                videos=0,
                tracks=0,
                music_videos=o["music_videos"],
                duration_s=o["media_seconds"],
            )
        else:
            self.stdout.write(f"    no shared media at {shared}: generating a synthetic library in {synthetic_dir}")
            manifest = generate_library(
                synthetic_dir / "library",
                videos=o["videos"],
                tracks=o["tracks"],
                music_videos=o["music_videos"],
                duration_s=o["media_seconds"],
            )
        call_command("import_media", str(manifest), verbosity=self.verbosity)

    def _search_features(self, paths):
        from experiments.models import Experiment
        from experiments.services.demo.features import (
            compute_stand_in_features,
            load_stand_in_features,
            write_machine_distances,
        )

        # Measured once, when the preference test is designed with them; kept as they were afterwards.
        if paths.features.is_file() and Experiment.objects.filter(slug="demo-preference").exists():
            features = load_stand_in_features(paths.features)
        else:
            try:
                features = compute_stand_in_features(out=paths.features, progress=self.progress)
            except ValueError as exc:
                self.stderr.write(f"    skipped: {exc}")
                return None
        write_machine_distances(features, paths.machine_distances)
        self.stdout.write(f"    {paths.features}")
        return features

    def _experiments(self, paths, features, o: dict):
        from experiments.services.demo.studies import ensure_demo_studies

        user = get_user_model().objects.filter(username=o["username"]).first()
        studies = ensure_demo_studies(
            features=paths.features if features is not None else None, seed=o["seed"], created_by=user
        )
        for study in studies:
            if study.experiment is None:
                self.stderr.write(f"    {study.slug}: not created ({study.problem})")
                continue
            e = study.experiment
            what = "created" if study.created else "exists"
            line = f"    {e.slug:<18} {what:<8} {e.items.count():>4} items x k={e.judgments_per_item}, "
            line += f"{e.bundles.count()} bundles of <= {e.trials_per_assignment} + 1 check, {e.status}"
            self.stdout.write(line + (f" ({study.problem})" if study.problem else ""))
        return studies

    def _simulate_crowd(self, paths, features, studies, o: dict) -> None:
        from experiments.services.demo.crowd import LatentTaste, crowd_record, save_crowd_record, simulate_crowd

        if features is None:
            self.stderr.write("    skipped: the simulated crowd's taste needs the search features")
            return
        ground_truth = dict(
            MusicExcerpt.objects.filter(ground_truth_clip__isnull=False).values_list("pk", "ground_truth_clip_id")
        )
        taste = LatentTaste(features=features, ground_truth=ground_truth)
        outcomes = []
        for study in studies:
            if study.experiment is None:
                continue
            outcome = simulate_crowd(
                experiment=study.experiment,
                taste=taste,
                workers=o["simulate_crowd"],
                seed=o["seed"],
                progress=self.progress,
            )
            if not outcome.workers:
                self.stdout.write(f"    {study.slug:<18} already answered by the simulated crowd (or not open)")
                continue
            outcomes.append(outcome)
            careless = sum(w.careless for w in outcome.workers)
            self.stdout.write(
                f"    {study.slug:<18} {outcome.answers:>5} answers in {outcome.assignments} assignments by "
                f"{len(outcome.workers)} workers ({careless} careless); {outcome.replays} re-sent answers stored "
                f"once; {outcome.bundles_left} bundles left for you"
            )
        if outcomes:
            save_crowd_record(paths.crowd, crowd_record(taste=taste, outcomes=outcomes, seed=o["seed"]))

    def _report(self, paths, studies):
        from experiments.services.demo.report import export_and_report

        experiments = [s.experiment for s in studies if s.experiment is not None]
        if not experiments:
            self.stderr.write("    skipped: no experiments")
            return None
        report = export_and_report(experiments=experiments, paths=paths, progress=self.progress)
        if report.refreshed:
            counts = ", ".join(f"{n} {name}" for name, n in report.row_counts.items())
            self.stdout.write(f"    export: {report.export_dir} ({counts})")
            self.stdout.write(f"    report: {report.html}")
        else:
            self.stdout.write(f"    unchanged: {report.note}")
        return report

    # --- output ---------------------------------------------------------------------------------

    def _summary(self, *, base, username, password, studies, invites, report, paths, elapsed) -> None:
        out = self.stdout.write
        rule = "-" * 78
        out("\n" + self.style.SUCCESS(f"The demo is ready ({_duration(elapsed)})."))
        out(rule)
        out(f"Log in at {base}/admin/ as  {username}  with password  {password}")
        out(rule)
        experiments = [s.experiment for s in studies if s.experiment is not None]
        export_query = "&".join(f"experiment={e.pk}" for e in experiments)
        staff = [
            ("Library (pairings, playable)", f"{base}/library/"),
            ("Experiments (progress, preview)", f"{base}/experiments/"),
            ("Admin", f"{base}/admin/"),
            ("Credits (licences)", f"{base}/credits/"),
            ("Export API (zip)", f"{base}{reverse('experiments_api:export')}?{export_query}" if experiments else ""),
        ]
        if report is not None and report.html is not None:
            staff.append(("Analysis report", f"{base}{reverse('demo_report')}"))
        out("Staff pages (log in first)")
        for label, url in staff:
            if url:
                out(f"  {label:<34}{url}")
        for study in studies:
            e = study.experiment
            if e is None:
                continue
            out(rule)
            out(f"{e.slug}  ({e.get_kind_display()}, {e.status}): {e.title}")
            out(f"  {'progress':<34}{base}{reverse('experiments:staff_progress', args=[e.pk])}")
            out(f"  {'preview as a worker (staff)':<34}{base}{reverse('experiments:preview', args=[e.pk])}")
            links = invites.get(study.slug, [])
            unused = [i for i in links if not i.used]
            if unused:
                out(f"  invite links for workers (single use; {len(links) - len(unused)} of {len(links)} used):")
                for invite in unused:
                    out(f"    {base}{reverse('experiments:invite', args=[invite.token])}")
            elif links:
                out(f"  all {len(links)} invite links are used; more: python manage.py invite_links {e.slug}")
        out(rule)
        if report is not None and report.html is not None:
            out("Results")
            out(f"  {'export (CSV + Parquet)':<34}{report.export_dir}")
            out(f"  {'analysis report (file)':<34}{report.html}")
            out(rule)
        out(
            "Simulated workers have worker ids starting with 'sim:' (listed in the export's manifest.json);\n"
            "everything an invite link records is yours. Reset the demo: rm -rf data/ (or $MVFIT_DATA_DIR)."
        )
        out("Timings: " + " · ".join(f"{name.lower()} {_duration(s)}" for name, s in self.timings))

    def _staff_user(self, username: str) -> tuple[str, str]:
        password = os.environ.get("MVFIT_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        if len(password) < 8:
            raise CommandError("MVFIT_DEMO_PASSWORD must be at least 8 characters")
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return username, password


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
