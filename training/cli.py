"""``python -m training <command>``: thin argument parsing around the pipelines.

Commands
    train-preference      Langlois preference model from a choices export (frozen features + head,
                          or --fine-tune the backbones with it, on any device, under torchrun too)
    evaluate-preference   test accuracy of one or more preference runs, Table 1 format
    table1                Langlois Table 1 protocol: every variant over several seeds, paired tests
    extract-features      fill the feature cache in idempotent per-video jobs (sharded, torchrun, Celery)
    weights               verify the public checkpoint files (hash in the file name, strict load)
    train-retrieval       VM-NET embedding from ground-truth (or chosen) clip-excerpt pairs
    rank                  rankings file of a retrieval run (the experiments app's search source)
    make-synthetic-export planted-rule media + export for smoke tests and the walkthrough
    simulate-choices      simulated choices on the stimuli (real media) of another export
    retrieval-compare, make-planted-av, publish-model   the seeds' retrieval research (training/retrieval/commands.py)
    montage, supervise    a music video for a whole song; top-N tracks for a video (training/montage/commands.py)

Bad input ends with one ``error: ...`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from training.cli_support import default_cache_dir, recorded_streams
from training.errors import TrainingInputError


def _add_device_flags(parser: argparse.ArgumentParser) -> None:
    from training.device import DEVICES, PRECISIONS

    group = parser.add_argument_group("device")
    group.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when present, else MPS, else CPU")
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto: fp16 (+ loss scaling) to train on CUDA, bf16 to extract where the hardware has it, else fp32",
    )


def _add_backbone_flags(parser: argparse.ArgumentParser, *, variant: bool = True) -> None:
    from training.features.extractors import FLOW_ENCODINGS, VARIANTS

    group = parser.add_argument_group("backbones (feature extractors)")
    if variant:
        group.add_argument(
            "--variant",
            choices=VARIANTS,
            default="two-stream",
            help="two-stream: RGB + flow ResNet-50; i3d: I3D flow only (the seed's); rgb-i3d: RGB ResNet-50 + I3D flow",
        )
    group.add_argument("--resnet50-weights", help="torchvision resnet50 state dict (default: $MVFIT_RESNET50_WEIGHTS)")
    group.add_argument("--i3d-flow-weights", help="pytorch-i3d flow_imagenet.pt (default: $MVFIT_I3D_FLOW_WEIGHTS)")
    group.add_argument("--vggish-weights", help="torchvggish vggish-10086976.pth (default: $MVFIT_VGGISH_WEIGHTS)")
    group.add_argument("--vggish-pca-weights", help="torchvggish PCA file (default: $MVFIT_VGGISH_PCA_WEIGHTS)")
    group.add_argument(
        "--random-init",
        action="store_true",
        help="allow randomly initialised backbones where no weights are configured (smoke tests only)",
    )
    group.add_argument("--frame-size", type=int, default=224, help="square frame size for all visual streams")
    group.add_argument("--rgb-fps", type=float, default=1.0, help="RGB frames sampled per second (mean-pooled)")
    group.add_argument("--flow-fps", type=float, default=25.0, help="frame rate the optical flow is computed at")
    group.add_argument("--flow-stacks", type=int, default=1, help="10-pair flow stacks per clip (two-stream)")
    group.add_argument("--flow-method", choices=["auto", "tvl1", "farneback"], default="auto")
    group.add_argument(
        "--flow-encoding",
        choices=FLOW_ENCODINGS,
        default=None,
        help="flow ResNet input: xym = (x, y, magnitude) images through the RGB network (frozen default); "
        "stack = 20 channels through the replicated stem (the seed's; fine-tuning default)",
    )
    group.add_argument("--i3d-frames", type=int, default=32, help="frames of the centred I3D flow window")
    group.add_argument(
        "--extract-threads",
        type=int,
        default=1,
        help="torch threads for extraction (0: all cores; 1 suits shared machines)",
    )
    group.add_argument("--cache-dir", default=None, help="feature cache (default: $MVFIT_DATA_DIR/feature-cache)")
    group.add_argument("--media-root", help="prefix for stimuli.csv `file` values that are storage keys")
    _add_device_flags(parser)


def _backbone_settings(args: argparse.Namespace, *, fine_tune: bool = False):
    from training.features.extractors import BackboneSettings

    return BackboneSettings.from_env(
        resnet50=args.resnet50_weights,
        i3d_flow=args.i3d_flow_weights,
        vggish=args.vggish_weights,
        vggish_pca=args.vggish_pca_weights,
        random_init=args.random_init,
        frame_size=args.frame_size,
        rgb_fps=args.rgb_fps,
        flow_fps=args.flow_fps,
        flow_stacks=args.flow_stacks,
        flow_method=args.flow_method,
        flow_encoding=args.flow_encoding or ("stack" if fine_tune else "xym"),
        i3d_frames=args.i3d_frames,
        threads=args.extract_threads,
        device=args.device,
        precision=args.precision,
    )


def _add_training_flags(parser: argparse.ArgumentParser, *, epochs: int, patience: int, lr: float) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--seed", type=int, default=0, help="seeds the split, initialisation and batch order")
    group.add_argument("--epochs", type=int, default=epochs)
    group.add_argument("--patience", type=int, default=patience, help="early stopping: epochs without val improvement")
    group.add_argument("--batch-size", type=int, default=256)
    group.add_argument("--lr", type=float, default=lr)
    group.add_argument("--weight-decay", type=float, default=None)
    group.add_argument("--fractions", type=float, nargs=3, default=(0.7, 0.15, 0.15), metavar=("TRAIN", "VAL", "TEST"))
    group.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU torch threads for training (1 is fastest on a shared machine; 0: all cores)",
    )
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_fine_tune_flags(parser: argparse.ArgumentParser) -> None:
    from training.backbones.stages import STAGES

    group = parser.add_argument_group("fine-tuning (backbones trained with the head; torchrun for several GPUs)")
    group.add_argument("--fine-tune", action="store_true", help="train the visual backbones too (from --train-from)")
    group.add_argument(
        "--train-from",
        choices=STAGES,
        default=None,
        help="first trainable stage (implies --fine-tune; default conv1 = end to end; head = backbones frozen)",
    )
    group.add_argument(
        "--backbone-lr", type=float, default=1e-4, help="SGD (momentum 0.9) learning rate of the backbone stages"
    )
    group.add_argument("--accumulate", type=int, default=1, help="micro-batches per --batch-size batch")
    group.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    group.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT/train_state.pt")


def _positive(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) <= 0:
            raise TrainingInputError(f"--{name.replace('_', '-')} must be positive.")


def cmd_train_preference(args: argparse.Namespace) -> int:
    from training.features.extractors import build_streams
    from training.preference.pipeline import PreferenceRunConfig, train_preference

    fine_tune = args.fine_tune or args.train_from is not None
    _positive(args, "epochs", "patience", "batch_size", "lr", "accumulate")
    settings = _backbone_settings(args, fine_tune=fine_tune)
    streams = build_streams(args.variant, settings)
    config = PreferenceRunConfig(
        export=args.export,
        out=args.out,
        variant=args.variant,
        direction=args.direction,
        seed=args.seed,
        fractions=tuple(args.fractions),
        embed_dim=args.embed_dim,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=1e-4 if args.weight_decay is None else args.weight_decay,
        threads=args.threads,
        cache_dir=args.cache_dir or default_cache_dir(),
        media_root=args.media_root,
        device=args.device,
        labels=args.labels,
    )
    record = {"backbones": settings.to_dict()}
    if not fine_tune:
        if args.resume:
            raise TrainingInputError("--resume continues a fine-tuning run; frozen-feature runs take seconds to redo.")
        train_preference(config, streams=streams, progress=not args.quiet, record=record)
        return 0
    from training import distributed
    from training.device import resolve_precision
    from training.finetune.pipeline import fine_tune_preference
    from training.finetune.trainer import FineTuneSettings

    context = distributed.setup(args.device)
    try:
        tuning = FineTuneSettings(
            epochs=args.epochs,
            patience=args.patience,
            batch_size=args.batch_size,
            lr=args.lr,
            backbone_lr=args.backbone_lr,
            weight_decay=config.weight_decay,
            accumulate=args.accumulate,
            workers=args.workers,
            precision=resolve_precision(args.precision, context.device, training=True),
            seed=args.seed,
        )
        fine_tune_preference(
            config,
            streams=streams,
            train_from=args.train_from or "conv1",
            settings=tuning,
            context=context,
            resume=args.resume,
            progress=not args.quiet,
            record=record,
        )
    finally:
        distributed.teardown(context)
    return 0


def cmd_table1(args: argparse.Namespace) -> int:
    from training.features.extractors import build_streams
    from training.preference.pipeline import PreferenceRunConfig
    from training.preference.table1 import format_table1, run_table1

    _positive(args, "epochs", "patience", "batch_size", "lr", "seeds")
    settings = _backbone_settings(args)
    streams = {variant: build_streams(variant, settings) for variant in args.variants}
    base = PreferenceRunConfig(
        export=args.export,
        out=args.out,
        direction=args.direction,
        fractions=tuple(args.fractions),
        embed_dim=args.embed_dim,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=1e-4 if args.weight_decay is None else args.weight_decay,
        threads=args.threads,
        cache_dir=args.cache_dir or default_cache_dir(),
        media_root=args.media_root,
        device=args.device,
        labels=args.labels,
    )
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    table = run_table1(
        base,
        variants=args.variants,
        seeds=seeds,
        streams=streams,
        progress=not args.quiet,
        human_ceiling=args.human_ceiling,
    )
    print(format_table1(table))
    return 0


def cmd_extract_features(args: argparse.Namespace) -> int:
    from training import distributed
    from training.data.export import read_export
    from training.features.cache import FeatureCache
    from training.features.extractors import build_streams
    from training.features.jobs import plan_jobs, run_jobs, shard

    rank, world, local_rank = distributed.torchrun_shard()
    if world > 1:
        import torch

        if args.shard:
            raise TrainingInputError("--shard and torchrun both split the jobs; use one of them.")
        if args.device in ("auto", "cuda") and torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
        index, count = rank, world
    elif args.shard:
        try:
            index, count = (int(part) for part in args.shard.split("/"))
        except ValueError:
            raise TrainingInputError(f"--shard takes K/N, e.g. 0/4, not {args.shard!r}.") from None
    else:
        index, count = 0, 1
    settings = _backbone_settings(args)
    cache_dir = args.cache_dir or default_cache_dir()
    export = read_export(args.export)
    jobs = plan_jobs(
        export,
        variant=args.variant,
        settings=settings.to_dict(),
        cache_dir=cache_dir,
        kinds=tuple(args.kinds),
        media_root=Path(args.media_root) if args.media_root else None,
    )
    mine = shard(jobs, index, count)
    if args.enqueue:
        from training.features.jobs import enqueue

        broker = os.environ.get("CELERY_BROKER_URL", "").strip()
        if not broker:
            raise TrainingInputError("--enqueue sends jobs to the Celery broker: set CELERY_BROKER_URL.")
        sent = enqueue(mine, broker_url=broker, queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "mvfit"))
        print(f"enqueued {sent} extraction jobs for the project's Celery workers (celery -A webapp worker)")
        return 0
    streams = build_streams(args.variant, settings)
    done, computed = run_jobs(mine, streams, FeatureCache(cache_dir), progress=not args.quiet)
    print(f"shard {index}/{count}: {done} media files, {computed} new cache entries in {cache_dir}")
    return 0


def cmd_weights_verify(args: argparse.Namespace) -> int:
    from training.weights import PUBLISHED_CHECKPOINTS, verify_weights

    results = verify_weights(
        {
            "resnet50": args.resnet50_weights,
            "i3d_flow": args.i3d_flow_weights,
            "vggish": args.vggish_weights,
            "vggish_pca": args.vggish_pca_weights,
        }
    )
    for result in results:
        print(f"{result.role}: {result.path or 'not configured'}")
        if result.sha256:
            print(f"  sha256 {result.sha256}")
        for what, passed in result.checks:
            mark = {True: "ok  ", False: "FAIL", None: "-   "}[passed]
            print(f"  {mark} {what}")
        if result.path is None:
            for name, what, url in PUBLISHED_CHECKPOINTS[result.role]:
                print(f"       {name}: {what} <{url}>")
    configured = [r for r in results if r.path is not None]
    if not configured:
        raise TrainingInputError("no weights file is configured: set MVFIT_*_WEIGHTS or pass the weights flags.")
    failed = [r.role for r in configured if not r.ok]
    if failed:
        print(f"error: {', '.join(failed)} failed verification", file=sys.stderr)
        return 2
    print(f"{len(configured)} weights file(s) verified")
    return 0


def cmd_evaluate_preference(args: argparse.Namespace) -> int:
    from training.preference.pipeline import evaluate_run, format_table, read_payload

    rows = []
    for run in args.run:
        payload = read_payload(run)
        streams = recorded_streams(payload, args)
        rows.append(evaluate_run(run, streams=streams, progress=not args.quiet))
    print(format_table(rows))
    return 0


def cmd_train_retrieval(args: argparse.Namespace) -> int:
    from training.features.extractors import build_streams
    from training.retrieval.pipeline import RetrievalRunConfig, train_retrieval

    _positive(args, "epochs", "patience", "batch_size", "lr", "top_k")
    settings = _backbone_settings(args)
    streams = build_streams(args.variant, settings)
    config = RetrievalRunConfig(
        export=args.export,
        out=args.out,
        variant=args.variant,
        pairs=args.pairs,
        seed=args.seed,
        fractions=tuple(args.fractions),
        pooling=args.pooling,
        video_layers=tuple(args.video_layers),
        music_layers=tuple(args.music_layers),
        dropout=args.dropout,
        margin=args.margin,
        top_k=args.top_k,
        weight_v2m=args.weight_v2m,
        weight_m2v=args.weight_m2v,
        weight_intra_video=args.weight_intra_video,
        weight_intra_music=args.weight_intra_music,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=0.0 if args.weight_decay is None else args.weight_decay,
        threads=args.threads,
        cache_dir=args.cache_dir or default_cache_dir(),
        media_root=args.media_root,
    )
    if config.video_layers[-1] != config.music_layers[-1]:
        raise TrainingInputError("--video-layers and --music-layers must end in the same embedding size.")
    train_retrieval(config, streams=streams, progress=not args.quiet, record={"backbones": settings.to_dict()})
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    from training.retrieval.pipeline import load_retrieval_run, write_rankings

    payload, _ = load_retrieval_run(args.run)
    streams = recorded_streams(payload, args)
    rows = write_rankings(
        args.run,
        args.out,
        streams=streams,
        export_dir=args.export,
        top=args.top,
        media_root=args.media_root,
        vectors_out=args.vectors,
        progress=not args.quiet,
    )
    print(
        f"wrote {rows} ranked candidates to {args.out}"
        + (f" and the embeddings to {args.vectors}" if args.vectors else "")
    )
    return 0


def cmd_make_synthetic_export(args: argparse.Namespace) -> int:
    from training.synthetic import PlantedRule, make_planted_export

    rule = PlantedRule(
        n_videos=args.videos,
        n_tracks=args.tracks,
        trials_per_video=args.trials,
        p_rule=args.p_rule,
        seed=args.seed,
        size=args.size,
    )
    directory = make_planted_export(args.out, rule, progress=not args.quiet)
    print(f"wrote a planted-rule export ({args.videos} clips, {args.tracks} excerpts) to {directory}")
    return 0


def cmd_simulate_choices(args: argparse.Namespace) -> int:
    from training.simulate import SimulatedRater, simulate_choices

    _positive(args, "trials_per_clip")
    rater = SimulatedRater(trials_per_clip=args.trials_per_clip, sensitivity=args.sensitivity, seed=args.seed)
    media_root = Path(args.media_root) if args.media_root else None
    out = simulate_choices(args.export, args.out, rater, media_root=media_root, progress=not args.quiet)
    print(f"wrote simulated choices on the stimuli of {args.export} to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train-preference", help="train the Langlois preference model on an export")
    p.add_argument("--export", required=True, help="export directory (choices.csv, stimuli.csv)")
    p.add_argument("--out", required=True, help="new run directory")
    p.add_argument("--direction", choices=["V2M", "M2V"], default="V2M", help="V2M: video query, two tracks")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument(
        "--labels",
        help="train on inferred labels with confidences (CSV of `python -m analysis truth`) instead of raw answers",
    )
    _add_backbone_flags(p)
    _add_training_flags(p, epochs=60, patience=10, lr=1e-3)
    _add_fine_tune_flags(p)
    p.set_defaults(func=cmd_train_preference)

    p = commands.add_parser("evaluate-preference", help="test accuracy with a 95 %% CI, next to chance")
    p.add_argument("--run", required=True, action="append", help="run directory (repeat for a table of runs)")
    p.add_argument("--resnet50-weights")
    p.add_argument("--i3d-flow-weights")
    p.add_argument("--vggish-weights")
    p.add_argument("--vggish-pca-weights")
    p.add_argument("--quiet", action="store_true")
    _add_device_flags(p)
    p.set_defaults(func=cmd_evaluate_preference)

    p = commands.add_parser("weights", help="the public backbone checkpoints")
    weights = p.add_subparsers(dest="weights_command", required=True)
    p = weights.add_parser("verify", help="check each configured file: hash in its name, strict load")
    p.add_argument("--resnet50-weights")
    p.add_argument("--i3d-flow-weights")
    p.add_argument("--vggish-weights")
    p.add_argument("--vggish-pca-weights")
    p.set_defaults(func=cmd_weights_verify)

    p = commands.add_parser("extract-features", help="fill the feature cache in idempotent per-video jobs")
    p.add_argument("--export", required=True)
    p.add_argument("--kinds", nargs="+", choices=["clip", "excerpt"], default=["clip", "excerpt"])
    p.add_argument("--shard", help="K/N: run the K-th of N disjoint shards of the jobs (torchrun sets it itself)")
    p.add_argument("--enqueue", action="store_true", help="send one Celery task per job to CELERY_BROKER_URL")
    p.add_argument("--quiet", action="store_true")
    _add_backbone_flags(p)
    p.set_defaults(func=cmd_extract_features)

    from training.features.extractors import VARIANTS

    p = commands.add_parser("table1", help="Langlois Table 1 protocol: variants x seeds, mean ± sd, Wilson CI, McNemar")
    p.add_argument("--export", required=True)
    p.add_argument("--out", required=True, help="directory for the runs (OUT/<variant>-seed<k>) and table1.txt/json")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=["two-stream", "i3d"])
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (splits); the protocol asks for >= 5")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--direction", choices=["V2M", "M2V"], default="V2M")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--labels", help="train every run on inferred labels (CSV of `python -m analysis truth`)")
    p.add_argument("--human-ceiling", help="JSON of `python -m analysis agreement --out DIR` (DIR/human_ceiling.json)")
    _add_backbone_flags(p, variant=False)
    group = p.add_argument_group("head training (frozen features)")
    group.add_argument("--epochs", type=int, default=60)
    group.add_argument("--patience", type=int, default=10)
    group.add_argument("--batch-size", type=int, default=256)
    group.add_argument("--lr", type=float, default=1e-3)
    group.add_argument("--weight-decay", type=float, default=None)
    group.add_argument("--fractions", type=float, nargs=3, default=(0.7, 0.15, 0.15), metavar=("TRAIN", "VAL", "TEST"))
    group.add_argument("--threads", type=int, default=1)
    group.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_table1)

    p = commands.add_parser("train-retrieval", help="train the VM-NET retrieval model")
    p.add_argument("--export", required=True)
    p.add_argument("--out", required=True)
    p.add_argument(
        "--pairs",
        choices=["ground-truth", "chosen"],
        default="ground-truth",
        help="ground-truth: music-video soundtracks (VM-NET); chosen: query + the option raters chose",
    )
    p.add_argument("--pooling", choices=["mean", "mean-std"], default="mean")
    p.add_argument("--video-layers", type=int, nargs="+", default=[2048, 512])
    p.add_argument("--music-layers", type=int, nargs="+", default=[2048, 1024, 512])
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--margin", type=float, default=0.1)
    p.add_argument("--top-k", type=int, default=100, help="most violating negatives per anchor")
    p.add_argument("--weight-v2m", type=float, default=1.0)
    p.add_argument("--weight-m2v", type=float, default=3.0)
    p.add_argument("--weight-intra-video", type=float, default=0.2)
    p.add_argument("--weight-intra-music", type=float, default=0.2)
    _add_backbone_flags(p)
    _add_training_flags(p, epochs=100, patience=15, lr=3e-4)
    p.set_defaults(func=cmd_train_retrieval)

    p = commands.add_parser("rank", help="write the rankings file of a retrieval run")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True, help="rankings CSV to write")
    p.add_argument("--export", help="rank the stimuli of this export (default: the training export)")
    p.add_argument("--top", type=int, default=50, help="candidates per query (0: all)")
    p.add_argument("--vectors", help="also write the joint-space embeddings (.npz, the 'features' search source)")
    p.add_argument("--media-root")
    p.add_argument("--resnet50-weights")
    p.add_argument("--i3d-flow-weights")
    p.add_argument("--vggish-weights")
    p.add_argument("--vggish-pca-weights")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_rank)

    p = commands.add_parser("make-synthetic-export", help="tiny planted-rule media + export (motion <-> tempo/pitch)")
    p.add_argument("--out", required=True)
    p.add_argument("--videos", type=int, default=40)
    p.add_argument("--tracks", type=int, default=12)
    p.add_argument("--trials", type=int, default=6, help="2AFC trials per video")
    p.add_argument("--p-rule", type=float, default=0.95, help="probability the simulated rater follows the rule")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=96, help="frame size of the clips in pixels")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_make_synthetic_export)

    p = commands.add_parser(
        "simulate-choices", help="simulated 2AFC choices (content-based rater) on the stimuli of a real export"
    )
    p.add_argument("--export", required=True, help="export whose stimuli.csv lists the library's clips and excerpts")
    p.add_argument("--out", required=True, help="new export directory")
    p.add_argument("--trials-per-clip", type=int, default=12)
    p.add_argument("--sensitivity", type=float, default=6.0, help="how consistently the rater follows its taste")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--media-root")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_simulate_choices)

    from training.retrieval.commands import add_commands as add_retrieval_research_commands

    add_retrieval_research_commands(commands)

    from training.montage.commands import add_commands as add_montage_commands

    add_montage_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training.weights import CheckpointMismatchError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except TrainingInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, CheckpointMismatchError) as exc:
        # A weights path that does not exist, or a file that is not the checkpoint the backbone expects.
        print(f"error: {exc}", file=sys.stderr)
        return 2
