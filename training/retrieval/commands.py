"""Subcommands of the retrieval research (registered by :func:`add_commands` in ``training/cli.py``).

retrieval-compare   representation x loss x level x ranking grid over seeds and scenarios
make-planted-av     music videos with a planted segment structure (media + export)
publish-model       a trained retrieval model as the platform's ``model:<name>@<version>`` search source
"""

from __future__ import annotations

import argparse

from training.errors import TrainingInputError


def cmd_retrieval_compare(args: argparse.Namespace) -> int:
    from training.cli_support import default_cache_dir
    from training.retrieval.compare import load_config, run_compare
    from training.runs import torch_threads

    config = load_config(args.config)
    if args.threads < 1:
        raise TrainingInputError("--threads must be positive.")
    with torch_threads(args.threads):
        out = run_compare(config, args.out, cache_dir=args.cache_dir or default_cache_dir(), progress=not args.quiet)
    print((out / "table.md").read_text(encoding="utf-8"))
    return 0


def cmd_make_planted_av(args: argparse.Namespace) -> int:
    from training.retrieval.planted import PlantedConfig, plan, write_planted_export

    config = PlantedConfig(
        groups=args.groups,
        group_size=args.group_size,
        states=args.states,
        segments=tuple(args.segments),
        segment_s=tuple(args.segment_seconds),
        seed=args.seed,
    )
    directory = write_planted_export(args.out, plan(config), progress=not args.quiet)
    print(f"wrote {config.groups * config.group_size} planted music videos (clip + soundtrack) to {directory}")
    return 0


def cmd_publish_model(args: argparse.Namespace) -> int:
    from training.cli_support import default_cache_dir, recorded_streams
    from training.retrieval.publish import publish_model, run_kind
    from training.runs import load_checkpoint

    streams = None
    if run_kind(args.run) == "mvfit-retrieval":
        from pathlib import Path

        payload = load_checkpoint(Path(args.run) / "checkpoint.pt", expected_format="mvfit-retrieval")
        streams = recorded_streams(payload, args)
    target = publish_model(
        args.run,
        name=args.name,
        version=args.version,
        export_dir=args.export,
        models_dir=args.models_dir,
        cache_dir=args.cache_dir or default_cache_dir(),
        media_root=args.media_root,
        streams=streams,
        progress=not args.quiet,
    )
    print(
        f"published {target} — use it in a preference test as "
        f'"search": {{"kind": "model", "name": "{args.name}", "version": "{target.name}"}}'
    )
    return 0


def add_commands(commands) -> None:
    """Register the retrieval subcommands on the ``python -m training`` parser's subparsers."""
    p = commands.add_parser(
        "retrieval-compare", help="compare audio representations, losses, levels and alignments over seeds"
    )
    p.add_argument("--config", required=True, help="JSON configuration (docs/retrieval.md)")
    p.add_argument("--out", required=True, help="new output directory (tables, figures, saved models)")
    p.add_argument("--cache-dir", help="feature cache (default: $MVFIT_DATA_DIR/feature-cache)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_retrieval_compare)

    p = commands.add_parser("make-planted-av", help="music videos with a planted segment structure (known answers)")
    p.add_argument("--out", required=True)
    p.add_argument("--groups", type=int, default=12, help="source videos; each gives --group-size re-edits")
    p.add_argument("--group-size", type=int, default=4)
    p.add_argument("--states", type=int, default=4, help="section states shared by music and picture")
    p.add_argument("--segments", type=int, nargs=2, default=(6, 10), metavar=("MIN", "MAX"))
    p.add_argument("--segment-seconds", type=float, nargs=2, default=(1.5, 3.0), metavar=("MIN", "MAX"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_make_planted_av)

    p = commands.add_parser("publish-model", help="register a retrieval model as the search source model:NAME@VERSION")
    p.add_argument("--run", required=True, help="train-retrieval run, or a model saved by retrieval-compare")
    p.add_argument("--name", required=True)
    p.add_argument("--version", help="default: the first 12 hex digits of the checkpoint's sha256")
    p.add_argument("--export", help="export whose clips and excerpts to rank (default for train-retrieval: its own)")
    p.add_argument("--models-dir", help="model registry (default: $MVFIT_DATA_DIR/models)")
    p.add_argument("--cache-dir")
    p.add_argument("--media-root")
    for flag in ("--resnet50-weights", "--i3d-flow-weights", "--vggish-weights", "--vggish-pca-weights"):
        p.add_argument(flag, help="train-retrieval runs: where the weights are now, if the files moved")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_publish_model)
