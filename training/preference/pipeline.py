"""train-preference and evaluate-preference: export → cached features → head → run directory.

A run directory holds everything needed to audit or reuse the model:

    checkpoint.pt       best weights + model/feature/training config + split + metrics (weights_only-safe)
    config.json         the same configuration, readable
    split.json          item indices and source videos of train / val / test
    items.csv           every item with its split and the model's symmetric P(A) at the best epoch
    metrics.csv         one row per epoch
    learning_curve.png  loss and accuracy per epoch
    summary.json        best epoch, validation and test accuracy with 95 % CI
    report.html         the table and the learning curve
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mvfit_common.files import atomic_write
from training.data.export import read_export
from training.data.items import preference_items
from training.data.splits import Split, split_by_video
from training.device import describe, resolve_device
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.features.extractors import VARIANT_LABELS
from training.features.store import FeatureStore, Stream, compute_features, stream_description
from training.preference.data import PreferenceTensors, build_tensors
from training.preference.fit import FitSettings, evaluate, fit
from training.preference.model import PreferenceConfig, PreferenceNet
from training.runs import (
    MetricsLog,
    load_checkpoint,
    new_run_directory,
    plot_learning_curve,
    read_json,
    save_run,
    seed_everything,
    torch_threads,
    write_report,
)
from training.stats import Accuracy, accuracy, format_table

CHECKPOINT_FORMAT = "mvfit-preference"
METRIC_COLUMNS = ["epoch", "train_loss", "train_sym_loss", "train_acc", "val_loss", "val_acc", "epoch_seconds"]


@dataclass(frozen=True)
class PreferenceRunConfig:
    export: str
    out: str
    variant: str = "two-stream"
    direction: str = "V2M"
    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    embed_dim: int = 128
    hidden_dim: int = 128
    dropout: float = 0.3
    epochs: int = 60
    patience: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    threads: int = 1
    cache_dir: str = "data/feature-cache"
    media_root: str | None = None
    device: str = "auto"  # where the head trains (features are cached on the CPU side)


def _features(config: PreferenceRunConfig, export, items: pd.DataFrame, streams: list[Stream], progress: bool):
    needed = {
        items["query_kind"].iloc[0]: items["query_id"],
        items["option_kind"].iloc[0]: pd.concat([items["a_id"], items["b_id"]]),
    }
    return compute_features(
        export,
        needed,
        streams,
        FeatureCache(config.cache_dir),
        media_root=Path(config.media_root) if config.media_root else None,
        progress=progress,
    )


def train_preference(
    config: PreferenceRunConfig, *, streams: list[Stream], progress: bool = True, log=print, record: dict | None = None
) -> dict:
    """Train the head on cached frozen features and write the run directory; returns the summary."""
    if config.variant not in VARIANT_LABELS:
        raise TrainingInputError(f"--variant must be one of {sorted(VARIANT_LABELS)}, not {config.variant!r}.")
    out = new_run_directory(config.out)
    generator = seed_everything(config.seed)

    export = read_export(config.export)
    items = preference_items(export, direction=config.direction)
    split = split_by_video(items["videos"], seed=config.seed, fractions=config.fractions)
    log(
        f"{len(items)} {config.direction} items ({export.dropped_catch_trials} catch trials dropped); "
        f"split by video: "
        + ", ".join(f"{k} {len(split.indices[k])} items / {len(split.videos[k])} videos" for k in split.indices)
    )
    if len(split.dropped):
        log(f"{len(split.dropped)} items left out: their two videos fell into different parts of the split.")
    device = resolve_device(config.device)
    log(f"Backbones are frozen: features are extracted once into the cache and only the head is trained ({device}).")
    store = _features(config, export, items, streams, progress)
    data = build_tensors(items, store)
    parts = {name: data.subset(split.indices[name]).to(device) for name in split.indices}

    model = PreferenceNet(
        PreferenceConfig(
            query_dim=data.queries.shape[1],
            option_dim=data.options.shape[1],
            embed_dim=config.embed_dim,
            hidden_dim=config.hidden_dim,
            dropout=config.dropout,
        )
    )
    model.set_normalisation(**{k: v.cpu() for k, v in parts["train"].normalisation().items()})
    model.to(device)
    metrics = MetricsLog(out / "metrics.csv", METRIC_COLUMNS)
    settings = FitSettings(
        epochs=config.epochs,
        patience=config.patience,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
    )
    started = time.perf_counter()
    with torch_threads(config.threads):
        result = fit(
            model,
            parts["train"],
            parts["val"],
            settings,
            generator=generator,
            on_epoch=metrics.append,
            progress=progress,
        )
        model.load_state_dict(result.best_state)
        scores = {name: evaluate(model, part) for name, part in parts.items()}
    model.cpu()
    test = accuracy(scores["test"].correct, scores["test"].n)
    summary = {
        "variant": config.variant,
        "direction": config.direction,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "train_seconds": time.perf_counter() - started,
        "train_accuracy": scores["train"].accuracy,
        "val_accuracy": scores["val"].accuracy,
        "val_loss": scores["val"].loss,
        "test": test.to_dict(),
    }
    save_run(
        out,
        checkpoint_format=CHECKPOINT_FORMAT,
        run=config,
        model=model,
        streams=stream_description(streams),
        record=record,
        export_manifest=export.manifest,
        split=split.to_dict(),
        history=result.history,
        summary=summary,
        device=describe(device, "fp32") + " (frozen backbones, cached features)",
    )
    _write_items(out / "items.csv", items, split, model, data)
    plot_learning_curve(
        out / "learning_curve.png",
        result.history,
        panels=[("loss (BCE)", ["train_loss", "val_loss"]), ("accuracy (symmetric)", ["train_acc", "val_acc"])],
        title=f"Preference model ({VARIANT_LABELS[config.variant]}, {config.direction})",
    )
    table = format_table([(VARIANT_LABELS[config.variant], test)])
    write_report(
        out / "report.html",
        title=f"Preference model: {out.name}",
        sections=[("Test accuracy (Langlois Table 1 format)", table), ("Summary", _summary_text(summary))],
        image="learning_curve.png",
    )
    log(f"Best epoch {result.best_epoch} of {len(result.history)}; run written to {out}")
    log(table)
    return summary


def _write_items(path: Path, items: pd.DataFrame, split: Split, model: PreferenceNet, data: PreferenceTensors) -> None:
    part = np.full(len(items), "dropped", dtype=object)  # M2V items whose videos straddle two parts
    for name, indices in split.indices.items():
        part[indices] = name
    with torch.no_grad():
        model.eval()
        query, a, b, _ = data.batch(torch.arange(len(data)))
        probability = model.symmetric_probability(query, a, b).numpy()
    table = items.drop(columns=["videos"]).assign(
        videos=[" ".join(str(v) for v in sorted(videos)) for videos in items["videos"]],
        split=part,
        p_a=np.round(probability, 6),
    )
    with atomic_write(path) as tmp:
        table.to_csv(tmp, index=False)


def _summary_text(summary: dict) -> str:
    return "\n".join(f"{key}: {value}" for key, value in summary.items())


def read_payload(run_dir: str | Path) -> dict:
    """A preference run's checkpoint (frozen or fine-tuned), unpacked on the CPU."""
    return load_checkpoint(Path(run_dir) / "checkpoint.pt", expected_format=CHECKPOINT_FORMAT)


def load_run(run_dir: str | Path) -> tuple[dict, PreferenceNet]:
    payload = load_checkpoint(Path(run_dir) / "checkpoint.pt", expected_format=CHECKPOINT_FORMAT)
    model = PreferenceNet(PreferenceConfig(**payload["config"]["model"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return payload, model


def evaluate_run(run_dir: str | Path, *, streams: list[Stream], progress: bool = True) -> tuple[str, Accuracy]:
    """Re-score the test items of a run from its checkpoint (features come from the cache)."""
    run_dir = Path(run_dir)
    payload = read_payload(run_dir)
    run = payload["config"]["run"]
    recorded = payload["config"]["streams"]
    current = stream_description(streams)
    if [(s["name"], s["extractor"], s["config"]) for s in recorded] != [
        (s["name"], s["extractor"], s["config"]) for s in current
    ]:
        raise TrainingInputError(
            f"the feature extractors configured now differ from those {run_dir} was trained with "
            "(weights files or sampling settings changed); evaluate with the training configuration."
        )
    split = Split.from_dict(payload["split"])
    export = read_export(run["export"])
    items = preference_items(export, direction=run["direction"])
    if len(items) != sum(len(v) for v in split.indices.values()) + len(split.dropped):
        raise TrainingInputError(f"{run['export']} no longer has the items {run_dir} was trained on.")
    test_items = items.iloc[split.indices["test"]].reset_index(drop=True)
    label = VARIANT_LABELS.get(run["variant"], run["variant"])
    if payload["config"].get("fine_tune"):
        from training.finetune.pipeline import evaluate_fine_tuned

        correct, n = evaluate_fine_tuned(
            payload,
            streams,
            test_items=test_items,
            export=export,
            cache_dir=run["cache_dir"],
            media_root=run["media_root"],
            progress=progress,
        )
        return f"{label} (fine-tuned)", accuracy(correct, n)
    _, model = load_run(run_dir)
    config = PreferenceRunConfig(**{**run, "fractions": tuple(run["fractions"])})
    store: FeatureStore = _features(config, export, test_items, streams, progress)
    score = evaluate(model, build_tensors(test_items, store))
    return label, accuracy(score.correct, score.n)


def read_summary(run_dir: str | Path) -> dict:
    return read_json(Path(run_dir) / "summary.json")
