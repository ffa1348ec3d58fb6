"""``train-preference --fine-tune``: export → decoded inputs → backbones + head trained together → run directory.

The run directory has the frozen path's files (checkpoint.pt, config.json, split.json, items.csv,
metrics.csv, learning_curve.png, summary.json, report.html) plus ``train_state.pt``, the state that
``--resume`` continues from. ``checkpoint.pt`` holds the whole network (backbones and head), so
``evaluate-preference`` needs only the decoded inputs, which it re-creates from the media if the
input cache was cleared.

Under ``torchrun`` every process runs this function; decoding is shared out (process k decodes clips
k, k + N, ...), rank 0 writes every file, and the others wait at barriers.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from training import distributed
from training.data.export import Export, read_export
from training.data.items import preference_items
from training.data.splits import Split, split_by_video
from training.device import autocast, describe, threads
from training.errors import TrainingInputError
from training.features.cache import FeatureCache, InputCache
from training.features.extractors import VARIANT_LABELS
from training.features.store import Stream, compute_features, stream_description
from training.finetune.data import ClipSource, PreferenceInputs
from training.finetune.model import FineTuneNet
from training.finetune.trainer import FineTuneSettings, evaluate, fit
from training.preference.model import PreferenceConfig, PreferenceNet
from training.runs import MetricsLog, new_run_directory, plot_learning_curve, save_run, seed_everything, write_report
from training.stats import accuracy, format_table

METRIC_COLUMNS = ["epoch", "train_loss", "val_loss", "val_acc", "epoch_seconds"]


def decode_inputs(
    export: Export,
    clip_ids: list[int],
    streams: list[Stream],
    cache: InputCache,
    *,
    media_root: Path | None,
    context: distributed.Context,
    progress: bool,
) -> ClipSource:
    """Decode every clip's input for every visual stream into the input cache (shared out over processes)."""
    paths = {clip_id: export.media_path("clip", clip_id, media_root=media_root) for clip_id in clip_ids}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise TrainingInputError(f"{len(missing)} clip file(s) listed in stimuli.csv do not exist, e.g. {missing[0]}")
    mine = clip_ids[context.rank :: context.world_size]
    for stream in streams:
        bar = tqdm(mine, desc=f"decode {stream.extractor.input_name}", unit="clip", disable=not progress)
        for clip_id in bar:
            try:
                cache.get(stream.extractor, paths[clip_id])
            except TrainingInputError:
                raise
            except (OSError, RuntimeError, ValueError) as exc:
                raise TrainingInputError(f"could not decode clip {clip_id} ({paths[clip_id]}): {exc}") from exc
    distributed.barrier(context)
    return ClipSource(
        {
            stream.name: {clip_id: cache.entry(stream.extractor, paths[clip_id]) for clip_id in clip_ids}
            for stream in streams
        }
    )


def build_model(
    streams: list[Stream], *, train_from: str, direction: str, embed_dim: int, hidden_dim: int, dropout: float
) -> FineTuneNet:
    visual = [s for s in streams if s.item_kind == "clip"]
    audio_dim = sum(s.extractor.dim for s in streams if s.item_kind == "excerpt")
    visual_dim = sum(s.extractor.dim for s in visual)
    query_dim, option_dim = (visual_dim, audio_dim) if direction == "V2M" else (audio_dim, visual_dim)
    head = PreferenceNet(
        PreferenceConfig(
            query_dim=query_dim, option_dim=option_dim, embed_dim=embed_dim, hidden_dim=hidden_dim, dropout=dropout
        )
    )
    # Channels-last memory for the 2-D backbones: the layout oneDNN and cuDNN convolve fastest (the inputs
    # are converted in the streams' rows()); I3D's 5-D tensors keep the default layout.
    return FineTuneNet(
        backbones={s.name: _channels_last(s.extractor.build()) for s in visual},
        extractors={s.name: s.extractor for s in visual},
        head=head,
        train_from=train_from,
        direction=direction,
    )


def _channels_last(backbone: torch.nn.Module) -> torch.nn.Module:
    from training.backbones.resnet import ResNet

    return backbone.to(memory_format=torch.channels_last) if isinstance(backbone, ResNet) else backbone


@torch.no_grad()
def clip_feature_matrix(
    model: FineTuneNet,
    source: ClipSource,
    clip_ids: list[int],
    *,
    device: torch.device,
    precision: str,
    batch: int = 16,
) -> torch.Tensor:
    """``(len(clip_ids), visual dim)`` features of the current (eval-mode) backbones."""
    model.eval()
    rows = []
    for start in range(0, len(clip_ids), batch):
        loaded = [source.load(clip_id) for clip_id in clip_ids[start : start + batch]]
        inputs = {name: [x[name].to(device) for x in loaded] for name in source.entries}
        with autocast(device, precision):
            rows.append(model.clip_features(inputs).float().cpu())
    return torch.cat(rows)


def set_head_normalisation(
    model: FineTuneNet,
    train_items: pd.DataFrame,
    source: ClipSource,
    audio: dict[int, np.ndarray],
    *,
    context,
    precision,
) -> None:
    """Standardise the head's inputs with the training stimuli's initial features (each stimulus once)."""
    clips = sorted(set(_ids(train_items, "clip")))
    clip_features = clip_feature_matrix(model, source, clips, device=context.device, precision=precision)
    audio_features = torch.from_numpy(np.stack([audio[i] for i in sorted(set(_ids(train_items, "excerpt")))]))

    def stats(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        std = matrix.std(0, unbiased=False) if len(matrix) > 1 else torch.ones(matrix.shape[1])
        return matrix.mean(0), std

    query, option = (clip_features, audio_features) if model.direction == "V2M" else (audio_features, clip_features)
    (query_mean, query_std), (option_mean, option_std) = stats(query), stats(option)
    model.head.set_normalisation(
        query_mean=query_mean, query_std=query_std, option_mean=option_mean, option_std=option_std
    )


def _ids(items: pd.DataFrame, kind: str) -> list[int]:
    ids: list[int] = []
    if items["query_kind"].iloc[0] == kind:
        ids += items["query_id"].astype(int).tolist()
    if items["option_kind"].iloc[0] == kind:
        ids += items["a_id"].astype(int).tolist() + items["b_id"].astype(int).tolist()
    return ids


def fine_tune_preference(
    config,
    *,
    streams: list[Stream],
    train_from: str,
    settings: FineTuneSettings,
    context: distributed.Context,
    resume: bool = False,
    progress: bool = True,
    log=print,
    record: dict | None = None,
) -> dict:
    """Fine-tune the backbones from ``train_from`` with the head and write the run directory; returns the summary.

    ``config`` is a :class:`training.preference.pipeline.PreferenceRunConfig`.
    """
    with threads(config.threads) if context.device.type == "cpu" else contextlib.nullcontext():
        return _fine_tune(
            config,
            streams=streams,
            train_from=train_from,
            settings=settings,
            context=context,
            resume=resume,
            progress=progress,
            log=log,
            record=record,
        )


def _fine_tune(config, *, streams, train_from, settings, context, resume, progress, log, record) -> dict:
    out = Path(config.out)
    if context.is_main:
        new_run_directory(out)
    distributed.barrier(context)
    seed_everything(config.seed)
    show = progress and context.is_main
    say = log if context.is_main else (lambda *_: None)

    export = read_export(config.export)
    items = preference_items(export, direction=config.direction)
    split = split_by_video(items["videos"], seed=config.seed, fractions=config.fractions)
    say(
        f"{len(items)} {config.direction} items; split by video: "
        + ", ".join(f"{k} {len(split.indices[k])} items / {len(split.videos[k])} videos" for k in split.indices)
    )
    say(
        f"Fine-tuning from {train_from} on {describe(context.device, settings.precision)}, "
        f"{context.world_size} process(es), global batch {settings.batch_size}"
        + (f" in {settings.accumulate} micro-batches" if settings.accumulate > 1 else "")
        + "; VGGish embeddings stay frozen (cached)."
    )
    media_root = Path(config.media_root) if config.media_root else None
    visual = [s for s in streams if s.item_kind == "clip"]
    audio_streams = [s for s in streams if s.item_kind == "excerpt"]
    kept = np.concatenate([split.indices[name] for name in split.indices])
    used = items.iloc[np.sort(kept)]
    # Frozen audio embeddings: rank 0 extracts (cached), the others then read the cache.
    excerpt_ids = sorted(set(_ids(used, "excerpt")))
    if context.is_main:
        compute_features(
            export,
            {"excerpt": excerpt_ids},
            audio_streams,
            FeatureCache(config.cache_dir),
            media_root=media_root,
            progress=show,
        )
    distributed.barrier(context)
    store = compute_features(
        export,
        {"excerpt": excerpt_ids},
        audio_streams,
        FeatureCache(config.cache_dir),
        media_root=media_root,
        progress=False,
    )
    audio = {i: store.matrix("excerpt", [i])[0] for i in excerpt_ids}
    source = decode_inputs(
        export,
        sorted(set(_ids(used, "clip"))),
        visual,
        InputCache(config.cache_dir),
        media_root=media_root,
        context=context,
        progress=show,
    )

    torch.manual_seed(config.seed)
    model = build_model(
        streams,
        train_from=train_from,
        direction=config.direction,
        embed_dim=config.embed_dim,
        hidden_dim=config.hidden_dim,
        dropout=config.dropout,
    ).to(context.device)
    parts = {name: items.iloc[split.indices[name]] for name in split.indices}
    set_head_normalisation(model, parts["train"], source, audio, context=context, precision=settings.precision)
    datasets = {name: PreferenceInputs(part, source, audio) for name, part in parts.items()}
    metrics = MetricsLog(out / "metrics.csv", METRIC_COLUMNS) if context.is_main and not resume else None
    started = time.perf_counter()
    result = fit(
        model,
        datasets["train"],
        datasets["val"],
        settings,
        context=context,
        state_path=out / "train_state.pt",
        resume=resume,
        on_epoch=metrics.append if metrics else None,
        progress=show,
    )
    if result.resumed_from:
        say(f"resumed after epoch {result.resumed_from} from {out / 'train_state.pt'}")
    model.load_state_dict(result.best_state)
    scores = {
        name: evaluate(model, data, context=context, precision=settings.precision, batch_size=settings.batch_size)
        for name, data in datasets.items()
    }
    _, test_correct, test_n, _ = scores["test"]
    test = accuracy(test_correct, test_n)
    summary = {
        "variant": config.variant,
        "direction": config.direction,
        "fine_tune": {"train_from": train_from, **settings.to_dict()},
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "train_seconds": time.perf_counter() - started,
        "train_accuracy": scores["train"][1] / max(scores["train"][2], 1),
        "val_accuracy": scores["val"][1] / max(scores["val"][2], 1),
        "val_loss": scores["val"][0],
        "test": test.to_dict(),
    }
    if context.is_main:
        if resume:
            # The metrics of the epochs before the interruption come from the training state.
            metrics = MetricsLog(out / "metrics.csv", METRIC_COLUMNS)
            for row in result.history:
                metrics.append(row)
        save_run(
            out,
            checkpoint_format="mvfit-preference",
            run=config,
            model=model,
            streams=stream_description(streams),
            record={**(record or {}), "fine_tune": {"train_from": train_from, **settings.to_dict()}},
            export_manifest=export.manifest,
            split=split.to_dict(),
            history=result.history,
            summary=summary,
            device=describe(context.device, settings.precision) + f", {context.world_size} process(es), fine-tuned",
        )
        _write_items(out / "items.csv", items, split, {name: scores[name][3] for name in scores})
        plot_learning_curve(
            out / "learning_curve.png",
            result.history,
            panels=[("loss (BCE)", ["train_loss", "val_loss"]), ("accuracy (symmetric)", ["val_acc"])],
            title=f"Preference model, fine-tuned from {train_from} ({VARIANT_LABELS[config.variant]}, {config.direction})",
        )
        table = format_table([(VARIANT_LABELS[config.variant] + " (fine-tuned)", test)])
        write_report(
            out / "report.html",
            title=f"Preference model: {out.name}",
            sections=[("Test accuracy (Langlois Table 1 format)", table), ("Summary", _text(summary))],
            image="learning_curve.png",
        )
        say(f"Best epoch {result.best_epoch} of {len(result.history)}; run written to {out}")
        say(table)
    distributed.barrier(context)
    return summary


def _text(summary: dict) -> str:
    return "\n".join(f"{key}: {value}" for key, value in summary.items())


def _write_items(path: Path, items: pd.DataFrame, split: Split, probabilities: dict[str, torch.Tensor]) -> None:
    part = np.full(len(items), "dropped", dtype=object)
    p_a = np.full(len(items), np.nan)
    for name, indices in split.indices.items():
        part[indices] = name
        p_a[indices] = probabilities[name].numpy()
    table = items.drop(columns=["videos"]).assign(
        videos=[" ".join(str(v) for v in sorted(videos)) for videos in items["videos"]],
        split=part,
        p_a=np.round(p_a, 6),
    )
    tmp = path.with_name(f".{path.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)


def load_fine_tuned(payload: dict, streams: list[Stream]) -> FineTuneNet:
    """The fine-tuned network of a run's checkpoint, on the CPU in eval mode."""
    run, model_config = payload["config"]["run"], payload["config"]["model"]
    model = build_model(
        streams,
        train_from=payload["config"]["fine_tune"]["train_from"],
        direction=run["direction"],
        embed_dim=model_config["embed_dim"],
        hidden_dim=model_config["hidden_dim"],
        dropout=model_config["dropout"],
    )
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def evaluate_fine_tuned(
    payload: dict,
    streams: list[Stream],
    *,
    test_items: pd.DataFrame,
    export: Export,
    cache_dir: str,
    media_root,
    progress: bool,
):
    """Correct count and n of a fine-tuned run on its test items (inputs decoded again if not cached)."""
    model = load_fine_tuned(payload, streams)
    context = distributed.Context(device=streams[0].extractor.settings.torch_device)
    model.to(context.device)
    visual = [s for s in streams if s.item_kind == "clip"]
    audio_streams = [s for s in streams if s.item_kind == "excerpt"]
    root = Path(media_root) if media_root else None
    excerpt_ids = sorted(set(_ids(test_items, "excerpt")))
    store = compute_features(
        export, {"excerpt": excerpt_ids}, audio_streams, FeatureCache(cache_dir), media_root=root, progress=progress
    )
    audio = {i: store.matrix("excerpt", [i])[0] for i in excerpt_ids}
    source = decode_inputs(
        export,
        sorted(set(_ids(test_items, "clip"))),
        visual,
        InputCache(cache_dir),
        media_root=root,
        context=context,
        progress=progress,
    )
    precision = payload["config"]["fine_tune"]["precision"]
    if context.device.type == "cpu" and precision == "fp16":
        precision = "fp32"
    _, correct, n, _ = evaluate(
        model, PreferenceInputs(test_items, source, audio), context=context, precision=precision
    )
    return correct, n
