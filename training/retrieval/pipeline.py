"""train-retrieval and rank: the VM-NET embedding on cached features, and the rankings file.

A retrieval run directory holds checkpoint.pt, config.json, split.json, metrics.csv,
learning_curve.png, summary.json and report.html (as for the preference model). ``rank`` writes
the rankings file the experiments app reads as a search source (format in docs/training.md).
"""

from __future__ import annotations

import copy
import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from mvfit_common.files import atomic_write, atomic_write_bytes, sha256_of
from training.data.export import Export, read_export
from training.data.items import retrieval_pairs
from training.data.splits import split_by_video
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.features.store import Stream, compute_features, stream_description
from training.retrieval.losses import inter_modal_ranking_loss, soft_intra_modal_structure_loss
from training.retrieval.metrics import format_metrics, retrieval_metrics
from training.retrieval.model import RetrievalConfig, VMNet
from training.runs import (
    MetricsLog,
    load_checkpoint,
    new_run_directory,
    plot_learning_curve,
    save_run,
    seed_everything,
    torch_threads,
    write_report,
)

CHECKPOINT_FORMAT = "mvfit-retrieval"
METRIC_COLUMNS = [
    "epoch",
    "train_loss",
    "val_loss",
    "val_v2m_R@1",
    "val_v2m_R@10",
    "val_m2v_R@1",
    "val_m2v_R@10",
    "epoch_seconds",
]
RANKING_COLUMNS = ["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"]


@dataclass(frozen=True)
class RetrievalRunConfig:
    export: str
    out: str
    variant: str = "two-stream"
    pairs: str = "ground-truth"
    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    pooling: str = "mean"
    video_layers: tuple[int, ...] = (2048, 512)
    music_layers: tuple[int, ...] = (2048, 1024, 512)
    dropout: float = 0.1
    margin: float = 0.1
    top_k: int = 100
    # Loss weights as in the authors' public code (music-anchored ranking 3, video-anchored 1, structure 0.2).
    weight_v2m: float = 1.0
    weight_m2v: float = 3.0
    weight_intra_video: float = 0.2
    weight_intra_music: float = 0.2
    intra_samples: int = 128
    epochs: int = 100
    patience: int = 15
    batch_size: int = 256
    lr: float = 3e-4
    weight_decay: float = 0.0
    threads: int = 1
    cache_dir: str = "data/feature-cache"
    media_root: str | None = None


@dataclass
class PairTensors:
    video: torch.Tensor  # (n_clips, video_dim), one row per distinct clip
    music: torch.Tensor  # (n_excerpts, music_dim)
    clip_ids: np.ndarray
    excerpt_ids: np.ndarray
    pair_video: torch.Tensor  # (n_pairs,) rows into ``video``
    pair_music: torch.Tensor

    def subset(self, indices: np.ndarray) -> PairTensors:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return PairTensors(
            self.video, self.music, self.clip_ids, self.excerpt_ids, self.pair_video[rows], self.pair_music[rows]
        )

    def __len__(self) -> int:
        return int(self.pair_video.shape[0])

    def positive_mask(self, video_rows: torch.Tensor, music_rows: torch.Tensor) -> torch.Tensor:
        """[i, j] = (video_rows[i], music_rows[j]) is one of these pairs."""
        codes = self.pair_video * len(self.music) + self.pair_music
        grid = video_rows[:, None] * len(self.music) + music_rows[None, :]
        return torch.isin(grid, codes)


def _pair_tensors(pairs: pd.DataFrame, store, pooling: str) -> PairTensors:
    clip_ids = np.unique(pairs["clip_id"].to_numpy())
    excerpt_ids = np.unique(pairs["excerpt_id"].to_numpy())
    return PairTensors(
        video=torch.from_numpy(store.matrix("clip", clip_ids, pooling=pooling)),
        music=torch.from_numpy(store.matrix("excerpt", excerpt_ids, pooling=pooling)),
        clip_ids=clip_ids,
        excerpt_ids=excerpt_ids,
        pair_video=torch.as_tensor(np.searchsorted(clip_ids, pairs["clip_id"].to_numpy()), dtype=torch.long),
        pair_music=torch.as_tensor(np.searchsorted(excerpt_ids, pairs["excerpt_id"].to_numpy()), dtype=torch.long),
    )


def batch_loss(
    model: VMNet, data: PairTensors, rows: torch.Tensor, config: RetrievalRunConfig
) -> dict[str, torch.Tensor]:
    video_rows, music_rows = data.pair_video[rows], data.pair_music[rows]
    video_raw, music_raw = data.video[video_rows], data.music[music_rows]
    video, music = model(video_raw, music_raw)
    mask = data.positive_mask(video_rows, music_rows)
    loss_v2m, loss_m2v = inter_modal_ranking_loss(
        video, music, margin=config.margin, top_k=config.top_k, positive_mask=mask
    )
    # The structure loss costs O(n³); a random batch's first rows are a random sample of it.
    m = min(len(rows), config.intra_samples)
    intra_video = soft_intra_modal_structure_loss(video[:m], (video_raw[:m] - model.video.mean) / model.video.std)
    intra_music = soft_intra_modal_structure_loss(music[:m], (music_raw[:m] - model.music.mean) / model.music.std)
    total = (
        config.weight_v2m * loss_v2m
        + config.weight_m2v * loss_m2v
        + config.weight_intra_video * intra_video
        + config.weight_intra_music * intra_music
    )
    return {"loss": total, "v2m": loss_v2m, "m2v": loss_m2v, "intra_video": intra_video, "intra_music": intra_music}


@torch.no_grad()
def evaluate_pairs(model: VMNet, data: PairTensors, config: RetrievalRunConfig) -> dict:
    """Loss on all pairs at once and Recall@K / ranks over this split's distinct clips and excerpts."""
    model.eval()
    losses = batch_loss(model, data, torch.arange(len(data)), config) if len(data) > 1 else {}
    video_rows = torch.unique(data.pair_video)
    music_rows = torch.unique(data.pair_music)
    video, music = model(data.video[video_rows], data.music[music_rows])
    positives = data.positive_mask(video_rows, music_rows)
    metrics = retrieval_metrics(video @ music.T, positives)
    metrics.update({key: float(value) for key, value in losses.items()})
    return metrics


def _features(config: RetrievalRunConfig, export: Export, clips, excerpts, streams, progress):
    return compute_features(
        export,
        {"clip": clips, "excerpt": excerpts},
        streams,
        FeatureCache(config.cache_dir),
        media_root=Path(config.media_root) if config.media_root else None,
        progress=progress,
    )


def train_retrieval(
    config: RetrievalRunConfig, *, streams: list[Stream], progress: bool = True, log=print, record: dict | None = None
) -> dict:
    out = new_run_directory(config.out)
    generator = seed_everything(config.seed)
    export = read_export(config.export)
    pairs = retrieval_pairs(export, source=config.pairs)
    split = split_by_video([[v] for v in pairs["video"]], seed=config.seed, fractions=config.fractions)
    log(
        f"{len(pairs)} clip-excerpt pairs ({config.pairs}); split by video: "
        + ", ".join(f"{k} {len(split.indices[k])} pairs / {len(split.videos[k])} videos" for k in split.indices)
    )
    log("Backbones are frozen: features come from the cache and only the embedding branches are trained (CPU).")
    store = _features(config, export, pairs["clip_id"], pairs["excerpt_id"], streams, progress)
    data = _pair_tensors(pairs, store, config.pooling)
    parts = {name: data.subset(split.indices[name]) for name in split.indices}
    train = parts["train"]
    model = VMNet(
        RetrievalConfig(
            video_dim=data.video.shape[1],
            music_dim=data.music.shape[1],
            video_layers=tuple(config.video_layers),
            music_layers=tuple(config.music_layers),
            dropout=config.dropout,
        )
    )
    model.set_normalisation(
        video=data.video[torch.unique(train.pair_video)], music=data.music[torch.unique(train.pair_music)]
    )
    log_file = MetricsLog(out / "metrics.csv", METRIC_COLUMNS)
    started = time.perf_counter()
    with torch_threads(config.threads):
        best_epoch, stopped_early = _fit(model, train, parts["val"], config, generator, log_file, progress)
        results = {name: evaluate_pairs(model, part, config) for name, part in parts.items()}
    summary = {
        "best_epoch": best_epoch,
        "epochs_run": len(log_file.rows),
        "stopped_early": stopped_early,
        "train_seconds": time.perf_counter() - started,
        "val": results["val"],
        "test": results["test"],
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
        history=log_file.rows,
        summary=summary,
    )
    plot_learning_curve(
        out / "learning_curve.png",
        log_file.rows,
        panels=[("loss", ["train_loss", "val_loss"]), ("validation recall", ["val_v2m_R@10", "val_m2v_R@10"])],
        title="VM-NET retrieval model",
    )
    table = format_metrics(results["test"])
    write_report(
        out / "report.html",
        title=f"Retrieval model: {out.name}",
        sections=[("Test retrieval (held-out videos)", table), ("Validation", format_metrics(results["val"]))],
        image="learning_curve.png",
    )
    log(f"Best epoch {best_epoch} of {len(log_file.rows)}; run written to {out}")
    log(table)
    return summary


def _fit(
    model: VMNet,
    train: PairTensors,
    val: PairTensors,
    config: RetrievalRunConfig,
    generator: torch.Generator,
    log_file: MetricsLog,
    progress: bool,
) -> tuple[int, bool]:
    """Adam on random batches of pairs; keeps (and finally loads) the weights of the best validation loss."""
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_loss, best_epoch, best_state, stopped_early = math.inf, 0, copy.deepcopy(model.state_dict()), False
    batch_size = max(2, config.batch_size)
    bar = tqdm(range(1, config.epochs + 1), desc="epochs", unit="epoch", disable=not progress)
    for epoch in bar:
        tick = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(train), batch_size):
            rows = order[start : start + batch_size]
            if len(rows) < 2:  # batch norm needs two rows; the leftover pair joins the next epoch
                continue
            loss = batch_loss(model, train, rows, config)["loss"]
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(rows)
            seen += len(rows)
        scores = evaluate_pairs(model, val, config)
        row = {
            "epoch": epoch,
            "train_loss": total / max(seen, 1),
            "val_loss": scores.get("loss"),
            "val_v2m_R@1": scores["v2m_R@1"],
            "val_v2m_R@10": scores["v2m_R@10"],
            "val_m2v_R@1": scores["m2v_R@1"],
            "val_m2v_R@10": scores["m2v_R@10"],
            "epoch_seconds": time.perf_counter() - tick,
        }
        log_file.append(row)
        bar.set_postfix(val_loss="-" if row["val_loss"] is None else f"{row['val_loss']:.4f}")
        # A one-pair validation set has no loss (no negatives); fall back to its recall.
        monitored = row["val_loss"] if row["val_loss"] is not None else -(scores["v2m_R@10"] + scores["m2v_R@10"])
        if monitored < best_loss - 1e-6:
            best_loss, best_epoch, best_state = monitored, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            stopped_early = True
            break
    model.load_state_dict(best_state)
    return best_epoch, stopped_early


def load_retrieval_run(run_dir: str | Path) -> tuple[dict, VMNet]:
    payload = load_checkpoint(Path(run_dir) / "checkpoint.pt", expected_format=CHECKPOINT_FORMAT)
    model = VMNet(RetrievalConfig.from_dict(payload["config"]["model"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return payload, model


def model_version(run_dir: str | Path) -> str:
    """``vmnet:<run name>@<first 12 hex digits of the checkpoint's sha256>``: names the exact weights."""
    run_dir = Path(run_dir)
    return f"vmnet:{run_dir.resolve().name}@{sha256_of(run_dir / 'checkpoint.pt')[:12]}"


def write_rankings(
    run_dir: str | Path,
    out_csv: str | Path,
    *,
    streams: list[Stream],
    export_dir: str | Path | None = None,
    top: int = 50,
    media_root: str | None = None,
    vectors_out: str | Path | None = None,
    progress: bool = True,
) -> int:
    """Rank every excerpt for every clip and every clip for every excerpt of an export; returns rows written.

    With ``vectors_out`` the joint-space embeddings are also saved as an ``.npz`` (``clip_ids``,
    ``clip_vectors``, ``excerpt_ids``, ``excerpt_vectors``, ``model_version``): the experiments app's
    "features" search source, which ranks on the fly instead of reading a fixed top-N.
    """
    if top < 0:
        raise TrainingInputError("--top must be 0 (all candidates) or a positive number.")
    payload, model = load_retrieval_run(run_dir)
    run = payload["config"]["run"]
    recorded = [(s["name"], s["extractor"], s["config"]) for s in payload["config"]["streams"]]
    if recorded != [(s["name"], s["extractor"], s["config"]) for s in stream_description(streams)]:
        raise TrainingInputError(
            f"the feature extractors configured now differ from those {run_dir} was trained with; "
            "rank with the training configuration (same weights and variant)."
        )
    config = RetrievalRunConfig(
        **{
            **run,
            "fractions": tuple(run["fractions"]),
            "video_layers": tuple(run["video_layers"]),
            "music_layers": tuple(run["music_layers"]),
            "media_root": media_root if media_root is not None else run["media_root"],
        }
    )
    export = read_export(export_dir or run["export"])
    clip_ids = np.array(sorted(i for kind, i in export.stimuli.index if kind == "clip"), dtype=np.int64)
    excerpt_ids = np.array(sorted(i for kind, i in export.stimuli.index if kind == "excerpt"), dtype=np.int64)
    if len(clip_ids) == 0 or len(excerpt_ids) == 0:
        raise TrainingInputError(f"{export.directory / 'stimuli.csv'} needs both clips and excerpts to rank.")
    store = _features(config, export, clip_ids, excerpt_ids, streams, progress)
    with torch.no_grad():
        video, music = model(
            torch.from_numpy(store.matrix("clip", clip_ids, pooling=config.pooling)),
            torch.from_numpy(store.matrix("excerpt", excerpt_ids, pooling=config.pooling)),
        )
    similarity = (video @ music.T).numpy()
    version = model_version(run_dir)
    if vectors_out is not None:
        _write_vectors(Path(vectors_out), clip_ids, video.numpy(), excerpt_ids, music.numpy(), version)
    out_csv = Path(out_csv)
    rows = 0
    with atomic_write(out_csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(RANKING_COLUMNS)
        for kind, query_ids, candidate_ids, scores in (
            ("clip", clip_ids, excerpt_ids, similarity),
            ("excerpt", excerpt_ids, clip_ids, similarity.T),
        ):
            limit = len(candidate_ids) if top == 0 else min(top, len(candidate_ids))
            for query, row in zip(query_ids, scores, strict=True):
                # Stable sort on (-score, candidate id) so that ties rank reproducibly.
                order = np.lexsort((candidate_ids, -row))[:limit]
                for rank, column in enumerate(order, start=1):
                    writer.writerow([kind, int(query), int(candidate_ids[column]), rank, f"{row[column]:.6f}", version])
                    rows += 1
    return rows


def _write_vectors(path: Path, clip_ids, clip_vectors, excerpt_ids, excerpt_vectors, version: str) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(
        buffer,
        clip_ids=clip_ids,
        clip_vectors=clip_vectors.astype(np.float32),
        excerpt_ids=excerpt_ids,
        excerpt_vectors=excerpt_vectors.astype(np.float32),
        model_version=np.array(version),
    )
    atomic_write_bytes(path, buffer.getvalue())
