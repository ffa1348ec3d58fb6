"""``python -m training montage`` and ``python -m training supervise`` (registered by training/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.cli_support import default_cache_dir
from training.errors import TrainingInputError


def _scorer(args: argparse.Namespace, kind: str):
    from training.montage.scoring import EmbeddingScorer, ModelScorer

    if bool(args.model) == bool(args.embeddings):
        raise TrainingInputError("name exactly one of --model NAME@VERSION and --embeddings FILE.npz.")
    if args.model:
        return ModelScorer(args.model, models_dir=args.models_dir, cache_dir=args.cache_dir)
    try:
        with np.load(args.embeddings) as data:
            items = data[kind]
            version = (
                str(data["model_version"]) if "model_version" in data else f"embeddings:{Path(args.embeddings).name}"
            )
            if "frames" in data:
                return EmbeddingScorer(
                    items=items, frames=data["frames"], hop_s=float(data["hop_s"]), model_version=version
                )
            return EmbeddingScorer(items=items, queries=data["queries"], model_version=version)
    except (OSError, EOFError, KeyError, ValueError) as exc:
        raise TrainingInputError(
            f"--embeddings {args.embeddings}: need an .npz with '{kind}' and either 'frames' + 'hop_s' or "
            f"'queries' (docs/montage.md): {exc}"
        ) from None


def cmd_montage(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from training.montage.library import read_library
    from training.montage.montage import make_montage, provenance_path
    from training.montage.plan import Constraints
    from training.montage.segments import Segmentation

    segmentation = Segmentation.parse(args.segments, min_segment_s=args.min_segment, max_segment_s=args.max_segment)
    clips = read_library(args.library, "clip", media_root=args.media_root)
    scorer = _scorer(args, "clips")
    bar = tqdm(total=1, unit="step", disable=args.quiet)
    current = {"stage": None}

    def progress(stage: str, done: int, total: int) -> None:
        if (stage, total) != (current["stage"], bar.total):
            current["stage"] = stage
            bar.reset(total=total)
            bar.set_description(stage, refresh=False)
        bar.n = done
        bar.refresh()

    try:
        record = make_montage(
            args.song,
            clips,
            scorer=scorer,
            out=args.out,
            segmentation=segmentation,
            constraints=Constraints(
                no_reuse=not args.allow_reuse, no_same_source=args.no_same_source, continuity_bonus=args.continuity
            ),
            strategy=args.strategy,
            seed=args.seed,
            fps=args.fps,
            render=args.render,
            normalised_dir=args.normalised_dir,
            model=args.model,
            progress=progress,
            verbose=not args.quiet,
        )
    finally:
        bar.close()
    if not args.quiet:
        print(
            f"{args.out}: {len(record['segments'])} segments, {record['video']['duration_s']:.2f} s "
            f"(song {record['song']['duration_s']:.2f} s); provenance {provenance_path(args.out)}"
        )
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    from training.montage.library import read_library
    from training.montage.montage import supervise

    excerpts = read_library(args.library, "excerpt", media_root=args.media_root)
    rows = supervise(args.video, excerpts, scorer=_scorer(args, "excerpts"), top=args.top)
    json.dump(rows, sys.stdout, indent=2)
    print()
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, help="export directory whose stimuli.csv lists the library")
    p.add_argument("--model", help="published retrieval model NAME@VERSION (publish-model)")
    p.add_argument("--embeddings", help="instead of --model: .npz of precomputed embeddings (docs/montage.md)")
    p.add_argument("--models-dir", help="model registry (default: $MVFIT_DATA_DIR/models)")
    p.add_argument("--cache-dir", default=default_cache_dir(), help="feature cache for the model's representations")
    p.add_argument("--media-root", help="where relative file keys of stimuli.csv resolve")


def add_commands(commands) -> None:
    from training.montage.montage import RENDERS
    from training.montage.plan import STRATEGIES

    p = commands.add_parser("montage", help="a music video for a whole song from the library's clips (seed 004)")
    p.add_argument("song", help="audio file (anything ffmpeg decodes)")
    _common(p)
    p.add_argument("--out", required=True, help="MP4 to write; OUT.provenance.json is written beside it")
    p.add_argument(
        "--segments",
        default="beats:4",
        help="beats:N (every N beats), fixed:SECONDS, or foote / flux (section boundaries)",
    )
    p.add_argument("--min-segment", type=float, default=0.5, help="seconds; shorter segments are merged")
    p.add_argument("--max-segment", type=float, default=4.0, help="seconds; longer segments are split")
    p.add_argument("--strategy", choices=STRATEGIES, default="nearest", help="farthest: anti; random: R baseline")
    p.add_argument("--allow-reuse", action="store_true", help="a clip may fill more than one segment")
    p.add_argument("--no-same-source", action="store_true", help="no two consecutive clips from one source video")
    p.add_argument("--continuity", type=float, default=0.0, help="distance bonus for the next clip of the same video")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--render", choices=RENDERS, default="copy", help="reencode: encode every segment (slow)")
    p.add_argument("--normalised-dir", help="cache of clips normalised for stream copy (default: OUT's folder)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_montage)

    p = commands.add_parser("supervise", help="music supervision: the top-N tracks for a video, with distances")
    p.add_argument("video")
    _common(p)
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(func=cmd_supervise)
