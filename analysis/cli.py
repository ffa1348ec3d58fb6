"""Command line: ``python -m analysis {report,simulate,power,machine,agreement,truth,montage} ...`` (docs/analysis.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis import crowd_cli, montage_cli
from analysis.cli_rules import _k, _optional_number, add_rule_arguments, rules_from
from exportformat import ExportError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser("report", help="write the HTML report of an export directory")
    report.add_argument("export_dir", type=Path)
    report.add_argument("--out", type=Path, required=True, help="output directory (report.html, figures/, tables/)")
    report.add_argument("--format", dest="file_format", choices=["auto", "csv", "parquet"], default="auto")
    report.add_argument("--machine-distances", type=Path, help="CSV clip_id,excerpt_id,distance[,model]")
    report.add_argument("--models-dir", type=Path, help="model registry for the Montages section's retrieval metrics")
    report.add_argument("--profile-value", choices=["z", "rating"], default="z")
    report.add_argument("--linkage", choices=["average", "complete", "single", "weighted", "ward"], default="average")
    report.add_argument("--video-clusters", type=_k, default=None, help="number of video clusters or 'auto'")
    report.add_argument("--genre-clusters", type=_k, default=None, help="number of genre clusters or 'auto'")
    report.add_argument("--max-k", type=int, default=10, help="largest cluster count tried by 'auto'")
    report.add_argument("--clustermap-max-videos", type=int, default=100)
    report.add_argument("--mixed-max-rows", type=_optional_number(int), default=20_000)
    report.add_argument("--item-effects", action="store_true", help="add crossed video and music random effects")
    report.add_argument("--item-max-rows", type=int, default=3_000)
    report.add_argument("--splits", type=int, default=200, help="random rater splits for split-half reliability")
    report.add_argument(
        "--bt-ridge", type=float, default=0.1, help="ridge used when a Bradley-Terry MLE does not exist"
    )
    report.add_argument("--seed", type=int, default=0)
    report.add_argument("--quiet", action="store_true", help="no progress bars")
    add_rule_arguments(report)

    sim = commands.add_parser("simulate", help="write a synthetic export from the latent crowd model")
    sim.add_argument("--out", type=Path, required=True)
    sim.add_argument("--videos", type=int, default=60)
    sim.add_argument("--songs", type=int, default=30)
    sim.add_argument("--ratings-per-pairing", type=int, default=3)
    sim.add_argument("--genres", type=int, default=10, help="genres (songs are spread evenly over them)")
    sim.add_argument("--scenes", type=int, default=8)
    sim.add_argument("--video-clusters", type=int, default=3)
    sim.add_argument("--genre-clusters", type=int, default=3)
    sim.add_argument("--affinity-sd", type=float, default=1.0, help="spread of the clusters' genre preferences")
    sim.add_argument("--video-sd", type=float, default=0.3, help="each video's own deviation from its cluster")
    sim.add_argument("--noise-sd", type=float, default=1.0, help="rating noise (before worker scale)")
    sim.add_argument("--careless-share", type=float, default=0.05)
    sim.add_argument("--trials-per-assignment", type=int, default=50)
    sim.add_argument("--catch-per-assignment", type=int, default=2)
    sim.add_argument(
        "--subjects", dest="pref_subjects", type=int, default=53, help="preference-test subjects (0: none)"
    )
    sim.add_argument("--questions", dest="pref_questions", type=int, default=120)
    sim.add_argument("--p-gr", type=float, default=0.82)
    sim.add_argument("--p-gs", type=float, default=0.65)
    sim.add_argument("--p-sr", type=float, default=0.73)
    sim.add_argument("--subject-sd", type=float, default=0.5)
    sim.add_argument("--machine-gr", type=float, default=0.78)
    sim.add_argument("--afc-trials", type=int, default=2_000, help="plain 2AFC trials (0: none)")
    sim.add_argument("--no-ratings", action="store_true", help="write only choices (and stimuli)")
    sim.add_argument("--parquet", action="store_true", help="also write the Parquet copies")
    sim.add_argument(
        "--machine-distances", action="store_true", help="also write machine_distances.csv for the report's Machine row"
    )
    sim.add_argument(
        "--montage-workers", type=int, default=0, help="add a montage study with this many workers (0: none)"
    )
    sim.add_argument("--montage-songs", type=int, default=12)
    sim.add_argument("--montage-pairs", type=int, default=30, help="montage pairs judged per worker")
    sim.add_argument(
        "--montage-models",
        type=_montage_model,
        nargs="+",
        help="the simulated models as NAME@VERSION=STRENGTH:RECALL (planted BT strength; R@1), "
        "default seg-vmnet@1=0.6:0.5 vmnet@1=0.2:0.2 (G 1.0, R 0, anti -0.6)",
    )
    sim.add_argument(
        "--montage-models-dir", type=Path, help="also publish the simulated models' rankings into this model registry"
    )
    sim.add_argument("--seed", type=int, default=0)

    machine = commands.add_parser(
        "machine", help="turn a rankings file (python -m training rank) into the report's machine distance file"
    )
    machine.add_argument("rankings", type=Path, help="rankings CSV written by python -m training rank")
    machine.add_argument("--out", type=Path, required=True, help="machine distance CSV to write")
    machine.add_argument("--model", help="name of the Machine row (default: the file's model_version)")

    power = commands.add_parser("power", help="how many ratings / subjects does a study need?")
    which = power.add_subparsers(dest="question", required=True)
    clusters = which.add_parser("clusters", help="ratings per pairing needed to recover the genre clusters")
    clusters.add_argument("--ratings-per-pairing", type=int, nargs="+", default=[1, 2, 3, 5, 9])
    clusters.add_argument("--videos", type=int, default=100)
    clusters.add_argument("--songs", type=int, default=75)
    clusters.add_argument("--genres", type=int, default=25)
    clusters.add_argument("--video-clusters", type=int, default=3)
    clusters.add_argument("--genre-clusters", type=int, default=3)
    clusters.add_argument(
        "--affinity-sd", type=float, default=0.3, help="spread of the clusters' genre preferences (the effect size)"
    )
    clusters.add_argument("--video-sd", type=float, default=0.3, help="each video's own deviation from its cluster")
    clusters.add_argument("--noise-sd", type=float, default=1.0, help="rating noise (before worker scale)")
    clusters.add_argument("--careless-share", type=float, default=0.05)
    clusters.add_argument("--reps", type=int, default=10)
    clusters.add_argument("--linkage", default="average")
    clusters.add_argument("--target", type=float, default=0.9, help="ARI regarded as recovered")
    clusters.add_argument("--seed", type=int, default=0)
    clusters.add_argument("--out", type=Path, help="directory for the CSV and PNG")
    clusters.add_argument("--quiet", action="store_true")
    pref = which.add_parser("preference", help="subjects needed to detect a preference")
    pref.add_argument("--p-first", type=float, default=0.6, help="true share preferring the first option (GS: 0.6)")
    pref.add_argument("--subjects", type=int, nargs="+", default=[5, 10, 15, 20, 30, 40, 53, 80])
    pref.add_argument("--questions", type=int, default=40, help="answers per subject in the tested condition")
    pref.add_argument("--subject-sd", type=float, default=0.5, help="SD of subjects' preference (log-odds)")
    pref.add_argument("--reps", type=int, default=2_000)
    pref.add_argument("--alpha", type=float, default=0.05)
    pref.add_argument("--target", type=float, default=0.8, help="power wanted")
    pref.add_argument("--seed", type=int, default=0)
    pref.add_argument("--out", type=Path)
    pref.add_argument("--quiet", action="store_true")
    crowd_cli.add_commands(commands)
    montage_cli.add_commands(commands)
    return parser


def _montage_model(text: str) -> tuple[str, float, float]:
    """``NAME@VERSION=STRENGTH:RECALL`` of ``simulate --montage-models``."""
    try:
        model, rest = text.split("=")
        strength, recall = rest.split(":")
        return model, float(strength), float(recall)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME@VERSION=STRENGTH:RECALL, e.g. seg-vmnet@1=0.6:0.5"
        ) from None


def run_report(args: argparse.Namespace) -> int:
    from analysis.report import ReportOptions, build_report

    options = ReportOptions(
        rules=rules_from(args),
        profile_value=args.profile_value,
        linkage=args.linkage,
        video_clusters=args.video_clusters,
        genre_clusters=args.genre_clusters,
        max_k=args.max_k,
        clustermap_max_videos=args.clustermap_max_videos,
        mixed_max_rows=args.mixed_max_rows,
        item_effects=args.item_effects,
        item_max_rows=args.item_max_rows,
        split_half_splits=args.splits,
        machine_distances=args.machine_distances,
        models_dir=args.models_dir,
        bt_ridge=args.bt_ridge,
        seed=args.seed,
        file_format=args.file_format,
        progress=not args.quiet,
    )
    started = time.perf_counter()
    result = build_report(args.export_dir, args.out, options)
    print(f"report: {result.html}  ({time.perf_counter() - started:.1f} s)")
    print(f"figures: {len(result.figures)} PNG in {args.out / 'figures'}; tables: {args.out / 'tables'}")
    for step, reason in result.skipped.items():
        print(f"  note: {step}: {reason}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from analysis.simulate import MontageConfig, SimulationConfig, simulate, write_model_registry, write_simulation

    config = SimulationConfig(
        videos=args.videos,
        songs=args.songs,
        ratings_per_pairing=args.ratings_per_pairing,
        genres=args.genres,
        scenes=args.scenes,
        video_clusters=args.video_clusters,
        genre_clusters=args.genre_clusters,
        affinity_sd=args.affinity_sd,
        video_sd=args.video_sd,
        noise_sd=args.noise_sd,
        careless_share=args.careless_share,
        trials_per_assignment=args.trials_per_assignment,
        catch_per_assignment=args.catch_per_assignment,
        pref_subjects=args.pref_subjects,
        pref_questions=args.pref_questions,
        pref_items=max(200, args.pref_questions),
        p_gr=args.p_gr,
        p_gs=args.p_gs,
        p_sr=args.p_sr,
        subject_sd=args.subject_sd,
        machine_gr=args.machine_gr,
        afc_trials=args.afc_trials,
        seed=args.seed,
    )
    started = time.perf_counter()
    montage = None
    if args.montage_workers:
        models = {}
        if args.montage_models:
            models = {
                "models": tuple(m[0] for m in args.montage_models),
                "model_strengths": tuple(m[1] for m in args.montage_models),
                "model_recall": tuple(m[2] for m in args.montage_models),
            }
        montage = MontageConfig(
            workers=args.montage_workers, songs=args.montage_songs, pairs_per_worker=args.montage_pairs, **models
        )
    simulation = simulate(config, ratings=not args.no_ratings, montage=montage)
    root = write_simulation(simulation, args.out, parquet=args.parquet, machine_distances=args.machine_distances)
    if montage is not None and args.montage_models_dir:
        written = write_model_registry(args.montage_models_dir, montage, simulation.stimuli, seed=args.seed)
        print(f"published {len(written)} simulated model(s) into {args.montage_models_dir}")
    print(
        f"wrote {root}: {len(simulation.ratings):,} ratings, {len(simulation.choices):,} choices, "
        f"{len(simulation.stimuli):,} stimuli in {time.perf_counter() - started:.1f} s"
        + (
            f"; montage study: {len(simulation.montage_tables['montage_choices']):,} choices, "
            f"{len(simulation.montage_tables['montage_ratings']):,} ratings"
            if montage is not None
            else ""
        )
    )
    return 0


def run_machine(args: argparse.Namespace) -> int:
    from analysis.machine import rankings_to_distances, write_machine_distances

    result = rankings_to_distances(args.rankings, model=args.model)
    write_machine_distances(result.distances, args.out)
    print(f"wrote {args.out}")
    for note in result.notes:
        print(f"  {note}")
    return 0


def run_power(args: argparse.Namespace) -> int:
    from analysis import figures, power

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    if args.question == "clusters":
        from analysis.simulate import SimulationConfig

        base = SimulationConfig(
            videos=args.videos,
            songs=args.songs,
            genres=args.genres,
            affinity_sd=args.affinity_sd,
            video_sd=args.video_sd,
            video_clusters=args.video_clusters,
            genre_clusters=args.genre_clusters,
            noise_sd=args.noise_sd,
            careless_share=args.careless_share,
            seed=args.seed,
        )
        runs = power.cluster_recovery(
            base, args.ratings_per_pairing, reps=args.reps, linkage=args.linkage, progress=not args.quiet
        )
        table = power.summarise_recovery(runs, threshold=args.target)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        answer = power.smallest_reaching(table, "mean_video_ari", args.target, "ratings_per_pairing")
        print(
            f"\n{args.videos} videos x {args.songs} songs, {args.video_clusters} planted clusters: "
            + (
                f"{answer} rating(s) per pairing recover the video clusters with mean ARI >= {args.target:g}."
                if answer
                else f"no tested size reaches mean ARI {args.target:g}; try more ratings per pairing."
            )
        )
        if args.out:
            runs.to_csv(args.out / "cluster_recovery_runs.csv", index=False)
            table.to_csv(args.out / "cluster_recovery.csv", index=False)
            fig = figures.power_curve(
                table,
                x="ratings_per_pairing",
                ys={"mean_video_ari": "video clusters (mean ARI)", "mean_genre_ari": "genre clusters (mean ARI)"},
                target=args.target,
                xlabel="ratings per pairing",
                ylabel="adjusted Rand index",
            )
            fig.savefig(args.out / "cluster_recovery.png", dpi=110, bbox_inches="tight")
    else:
        table = power.preference_power(
            p_first=args.p_first,
            subjects=args.subjects,
            questions=args.questions,
            subject_sd=args.subject_sd,
            reps=args.reps,
            alpha=args.alpha,
            seed=args.seed,
            progress=not args.quiet,
        )
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for column, name in (("power_subject_t", "subject-level t-test"), ("power_binomial", "pooled binomial test")):
            answer = power.smallest_reaching(table, column, args.target, "subjects")
            print(
                f"{name}: "
                + (
                    f"{answer} subjects x {args.questions} answers detect p={args.p_first:g} with power >= {args.target:g}"
                    if answer
                    else f"no tested size reaches power {args.target:g}"
                )
            )
        if args.out:
            table.to_csv(args.out / "preference_power.csv", index=False)
            fig = figures.power_curve(
                table,
                x="subjects",
                ys={"power_subject_t": "subject-level t-test", "power_binomial": "pooled binomial test"},
                target=args.target,
                xlabel="subjects",
                ylabel=f"power (alpha {args.alpha:g})",
            )
            fig.savefig(args.out / "preference_power.png", dpi=110, bbox_inches="tight")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "handler"):
            return args.handler(args)
        if args.command == "report":
            return run_report(args)
        if args.command == "simulate":
            return run_simulate(args)
        if args.command == "machine":
            return run_machine(args)
        return run_power(args)
    except (ExportError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
