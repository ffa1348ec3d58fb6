"""The demo's steps, in order, from nothing to a platform with studies, answers and a report.

``prepare_demo`` is what ``python manage.py demo`` runs (the command only parses options, prints the
summary and starts the server): migrate; create a staff user; import ``MVFIT_SHARED_MEDIA_DIR``
through its manifest when it exists, else generate a small synthetic library; add synthetic music
videos (ground-truth pairs for the preference test); sample excerpts; render every pairing; compute
the stand-in search features; build each music video song's montages (stand-in S, R, anti, G); create
and open four experiments with invite links; let a simulated
crowd answer most of their bundles through the worker services; export the answers and write the
analysis report.

Running it again changes nothing that exists: imports deduplicate, the seeded sampling finds its
excerpts, rendered pairings are skipped, the experiments, invite links and simulated answers are
kept, and the report is rebuilt only when there are new answers. Not one transaction: the render
and catch-stimulus tasks are dispatched on commit and must see their rows.

The shared media is read where it is (never copied into the repository); like every import, the
files are stored in media storage (``./data/media`` by default, git-ignored).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from annotation.media.synthetic import generate_library
from annotation.models import MusicExcerpt
from demo.services import DEMO_SEED, DemoPaths, demo_paths
from demo.services.console import Console
from demo.services.crowd import LatentTaste, crowd_record, save_crowd_record, simulate_crowd
from demo.services.features import (
    StandInFeatures,
    compute_stand_in_features,
    load_stand_in_features,
    write_machine_distances,
)
from demo.services.montages import DemoMontages, ensure_demo_montages
from demo.services.report import DemoReport, export_and_report
from demo.services.studies import DemoStudy, Invite, ensure_demo_studies, ensure_invite_links
from experiments.models import Experiment

MIN_PASSWORD_LENGTH = 8


class DemoError(ValueError):
    """Options the demo cannot run with (the command shows the message)."""


@dataclass(frozen=True)
class DemoOptions:
    synthetic: bool = False
    videos: int = 6
    tracks: int = 6
    music_videos: int = 6
    media_seconds: float = 8.0
    excerpt_seconds: float = 5.0
    seed: int = DEMO_SEED
    username: str = "experimenter"
    invites: int = 3
    simulate_crowd: int = 20
    report: bool = True

    def __post_init__(self) -> None:
        if self.simulate_crowd < 0 or self.invites < 0:
            raise DemoError("--simulate-crowd and --invites must not be negative.")


@dataclass
class DemoResult:
    username: str
    password: str
    paths: DemoPaths
    studies: list[DemoStudy] = field(default_factory=list)
    invites: dict[str, list[Invite]] = field(default_factory=dict)
    report: DemoReport | None = None
    montages: DemoMontages | None = None
    elapsed_s: float = 0.0


def prepare_demo(*, options: DemoOptions, console: Console, password: str | None = None) -> DemoResult:
    """Run every step of the demo (idempotent); ``password`` defaults to :func:`demo_password`."""
    started = time.perf_counter()
    with console.step("Database and staff user"):
        call_command("migrate", interactive=False, verbosity=0)
        password = password or demo_password()
        ensure_staff_user(username=options.username, password=password)
    result = DemoResult(username=options.username, password=password, paths=demo_paths())
    with console.step("Media library"):
        import_library(options=options, console=console)
    with console.step(f"Excerpts ({options.excerpt_seconds:g} s, seed {options.seed})"):
        call_command(
            "sample_excerpts",
            seed=options.seed,
            duration=options.excerpt_seconds,
            avoid_silence=True,
            skip_start=0.0,
            verbosity=console.verbosity,
        )
    with console.step("Rendering every clip x every excerpt (prepare once, then stream-copy mux)"):
        call_command("render", verbosity=console.verbosity)
    with console.step("Static files"):
        call_command("collectstatic", interactive=False, verbosity=0)
    with console.step("Stand-in search features (for the preference test's S items)"):
        features = search_features(paths=result.paths, console=console)
    with console.step("Montages (each music video's song: stand-in S, random R, farthest anti, original G)"):
        result.montages = build_montages(features=features, options=options, console=console)
    with console.step("Experiments (Langlois ratings, 2AFC, VM-NET preference test, montages)"):
        result.studies = design_studies(paths=result.paths, features=features, options=options, console=console)
    with console.step("Invite links"):
        for study in result.studies:
            if study.experiment is not None:
                result.invites[study.slug] = ensure_invite_links(experiment=study.experiment, count=options.invites)
    if options.simulate_crowd:
        with console.step(f"Simulated crowd ({options.simulate_crowd} workers per experiment, marked simulated)"):
            run_crowd(paths=result.paths, features=features, studies=result.studies, options=options, console=console)
    if options.report:
        with console.step("Export and analysis report"):
            result.report = export_report(paths=result.paths, studies=result.studies, console=console)
    result.elapsed_s = time.perf_counter() - started
    return result


PASSWORD_FILE = "demo_password"


def demo_password() -> str:
    """The demo's staff password: ``MVFIT_DEMO_PASSWORD`` when set, else one generated on the first run and
    kept in ``<data dir>/demo_password`` (mode 0600), so the login printed yesterday still works today."""
    if configured := os.environ.get("MVFIT_DEMO_PASSWORD"):
        return configured
    path = Path(settings.DATA_DIR) / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = path.read_text().strip()
        if len(stored) >= MIN_PASSWORD_LENGTH:
            return stored
        raise DemoError(f"{path} holds no usable password: delete it and a new one is made on the next run.") from None
    generated = secrets.token_urlsafe(12)
    with os.fdopen(fd, "w") as handle:
        handle.write(generated + "\n")
    return generated


@transaction.atomic
def ensure_staff_user(*, username: str, password: str):
    """The demo's staff user (a superuser), created once; its password is set on every run."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DemoError(f"MVFIT_DEMO_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters")
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return user


def import_library(*, options: DemoOptions, console: Console) -> None:
    shared = Path(settings.MVFIT_SHARED_MEDIA_DIR)
    synthetic_dir = Path(settings.DATA_DIR) / "synthetic-media"
    if not options.synthetic and (shared / "manifest.csv").is_file():
        console.out(f"    importing the shared media library in place: {shared}")
        call_command("import_media", str(shared / "manifest.csv"), verbosity=console.verbosity)
        console.out(f"    adding {options.music_videos} synthetic music videos (ground-truth pairs)")
        manifest = generate_library(
            synthetic_dir / "music-videos",
            videos=0,
            tracks=0,
            music_videos=options.music_videos,
            duration_s=options.media_seconds,
        )
    else:
        console.out(f"    no shared media at {shared}: generating a synthetic library in {synthetic_dir}")
        manifest = generate_library(
            synthetic_dir / "library",
            videos=options.videos,
            tracks=options.tracks,
            music_videos=options.music_videos,
            duration_s=options.media_seconds,
        )
    call_command("import_media", str(manifest), verbosity=console.verbosity)


def search_features(*, paths: DemoPaths, console: Console) -> StandInFeatures | None:
    # Measured once, when the preference test is designed with them; kept as they were afterwards.
    if paths.features.is_file() and Experiment.objects.filter(slug="demo-preference").exists():
        features = load_stand_in_features(paths.features)
    else:
        try:
            features = compute_stand_in_features(out=paths.features, progress=console.progress)
        except ValueError as exc:
            console.err(f"    skipped: {exc}")
            return None
    write_machine_distances(features, paths.machine_distances)
    console.out(f"    {paths.features}")
    return features


def build_montages(*, features: StandInFeatures | None, options: DemoOptions, console: Console) -> DemoMontages:
    if features is None:
        console.err("    skipped: the stand-in montage model needs the search features")
        return DemoMontages(problem="no search features")
    user = get_user_model().objects.filter(username=options.username).first()
    outcome = ensure_demo_montages(seed=options.seed, user=user)
    if outcome.problem:
        console.err(f"    skipped: {outcome.problem}")
    console.out(f"    {len(outcome.ready)} montages ready, {len(outcome.failed)} failed")
    for montage in outcome.failed:
        console.err(f"    montage {montage.pk} ({montage.kind} of track {montage.song_id}) failed: {montage.error}")
    return outcome


def design_studies(
    *, paths: DemoPaths, features: StandInFeatures | None, options: DemoOptions, console: Console
) -> list[DemoStudy]:
    user = get_user_model().objects.filter(username=options.username).first()
    studies = ensure_demo_studies(
        features=paths.features if features is not None else None, seed=options.seed, created_by=user
    )
    for study in studies:
        if study.experiment is None:
            console.err(f"    {study.slug}: not created ({study.problem})")
            continue
        e = study.experiment
        what = "created" if study.created else "exists"
        line = f"    {e.slug:<18} {what:<8} {e.items.count():>4} items x k={e.judgments_per_item}, "
        line += f"{e.bundles.count()} bundles of <= {e.trials_per_assignment} + 1 check, {e.status}"
        console.out(line + (f" ({study.problem})" if study.problem else ""))
    return studies


def run_crowd(
    *,
    paths: DemoPaths,
    features: StandInFeatures | None,
    studies: list[DemoStudy],
    options: DemoOptions,
    console: Console,
) -> None:
    if features is None:
        console.err("    skipped: the simulated crowd's taste needs the search features")
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
            workers=options.simulate_crowd,
            seed=options.seed,
            progress=console.progress,
        )
        if not outcome.workers:
            console.out(f"    {study.slug:<18} already answered by the simulated crowd (or not open)")
            continue
        outcomes.append(outcome)
        careless = sum(w.careless for w in outcome.workers)
        console.out(
            f"    {study.slug:<18} {outcome.answers:>5} answers in {outcome.assignments} assignments by "
            f"{len(outcome.workers)} workers ({careless} careless); {outcome.replays} re-sent answers stored "
            f"once; {outcome.bundles_left} bundles left for you"
        )
    if outcomes:
        save_crowd_record(paths.crowd, crowd_record(taste=taste, outcomes=outcomes, seed=options.seed))


def export_report(*, paths: DemoPaths, studies: list[DemoStudy], console: Console) -> DemoReport | None:
    experiments = [s.experiment for s in studies if s.experiment is not None]
    if not experiments:
        console.err("    skipped: no experiments")
        return None
    result = export_and_report(experiments=experiments, paths=paths, progress=console.progress)
    if result.refreshed:
        counts = ", ".join(f"{n} {name}" for name, n in result.row_counts.items())
        console.out(f"    export: {result.export_dir} ({counts})")
        console.out(f"    report: {result.html}")
    else:
        console.out(f"    unchanged: {result.note}")
    return result
