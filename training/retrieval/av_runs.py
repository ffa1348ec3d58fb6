"""Saved retrieval models of ``retrieval-compare`` (clip or segment level), and ranking an export with one.

A run directory holds ``checkpoint.pt`` (format ``mvfit-av-retrieval``: weights, the audio and video
representation specs, backbone settings, aggregation, level — ``clip`` or the segmenter spec —,
ranking method and alignment parameters), ``config.json`` (the same, readable) and ``summary.json``
(the configuration's metrics in the comparison). Everything needed to rank new media is recorded,
so ``publish-model`` rebuilds exactly the representations and segmenter the model was trained with.

Ranking an export's stimuli: every clip is a video query against every excerpt, and every excerpt a
music query against every clip. Clips and excerpts of a library are separate media, so each item is
segmented on its own: with a segmenter of its modality (``shots`` for clips; ``foote``/``flux`` for
excerpts) or ``fixed`` windows; an item the model's segmenter cannot read (a clip under a music
segmenter, an excerpt under ``shots``) gets fixed windows of the median segment duration seen in
training, which the run records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mvfit_common.files import sha256_of
from training.alignment import AlignmentParams, Sequences, alignment_costs
from training.data.export import read_export
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.representations import build_representation
from training.representations.base import aggregate, aggregate_spans
from training.retrieval.model import RetrievalConfig
from training.retrieval.protocol import CLIP, Aggregation, Embedder
from training.retrieval.trainer import RetrievalModel
from training.runs import load_checkpoint, read_json, save_checkpoint, write_json
from training.segmentation import FixedWindows, build_segmenter, spans
from training.segmentation.base import from_cache_array

CHECKPOINT_FORMAT = "mvfit-av-retrieval"


def save_av_run(
    directory: Path,
    *,
    model: RetrievalModel,
    audio,
    video,
    backbones: dict,
    level,
    method: str,
    aggregation: Aggregation,
    alignment_params: AlignmentParams,
    median_segment_s: float | None,
    metrics: list[dict],
) -> Path:
    directory = Path(directory)
    if (directory / "checkpoint.pt").exists():
        raise TrainingInputError(f"{directory} already holds a saved model.")
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "model": model.net.config.to_dict(),
        "loss": model.loss,
        "bce_hidden": list(model.bce_hidden) if model.head is not None else None,
        "audio": audio,
        "video": video,
        "backbones": backbones,
        "level": level,
        "method": method,
        "aggregation": {"clip": aggregation.clip, "segment": aggregation.segment},
        "alignment_params": alignment_params.to_dict(),
        "median_segment_s": median_segment_s,
    }
    save_checkpoint(
        directory / "checkpoint.pt",
        {"format": CHECKPOINT_FORMAT, "format_version": 1, "state_dict": model.state_dict(), "config": config},
    )
    write_json(directory / "config.json", config)
    write_json(directory / "summary.json", {"metrics": metrics})
    return directory


def load_av_run(directory: str | Path) -> tuple[dict, RetrievalModel]:
    payload = load_checkpoint(Path(directory) / "checkpoint.pt", expected_format=CHECKPOINT_FORMAT)
    config = payload["config"]
    hidden = tuple(config["bce_hidden"]) if config.get("bce_hidden") else (1024, 128)
    model = RetrievalModel(RetrievalConfig.from_dict(config["model"]), loss=config["loss"], bce_hidden=hidden)
    model.load_state_dict(payload["state_dict"])
    return payload, model.eval()


def av_model_version(directory: str | Path) -> str:
    """``seg-vmnet:<run name>@<sha12>`` (segment level) or ``vmnet:…`` (clip level); ``-bce`` for the BCE head."""
    directory = Path(directory)
    config = read_json(directory / "config.json")
    kind = "vmnet" if config["level"] == CLIP else "seg-vmnet"
    if config["loss"] == "bce":
        kind += "-bce"
    return f"{kind}:{directory.resolve().name}@{sha256_of(directory / 'checkpoint.pt')[:12]}"


def _item_spans(segmenter, modality: str, path: Path, duration: float, cache, fallback_s: float | None):
    if isinstance(segmenter, FixedWindows):
        return spans(segmenter.change_points_for(duration), duration, min_segment_s=segmenter.min_segment_s)
    if segmenter.modality == modality:
        from training.retrieval.library import load_frames

        points = from_cache_array(load_frames(segmenter, path, cache))
        return spans(points, duration, min_segment_s=segmenter.min_segment_s)
    windows = FixedWindows(window_s=fallback_s or 2.0)
    return spans(windows.change_points_for(duration), duration, min_segment_s=windows.min_segment_s)


def rank_export_items(
    run_dir: str | Path,
    export_dir: str | Path,
    *,
    cache_dir: str | Path | None,
    media_root: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Rankings (``query_kind,query_id,candidate_id,rank,score,model_version``) of every clip and excerpt."""
    from tqdm.auto import tqdm

    from training.features.extractors import BackboneSettings
    from training.retrieval.library import load_frames

    payload, model = load_av_run(run_dir)
    config = payload["config"]
    settings = BackboneSettings(**config["backbones"])
    audio = build_representation(config["audio"], modality="audio", settings=settings)
    video = build_representation(config["video"], modality="video", settings=settings)
    aggregation = Aggregation(**config["aggregation"])
    level = config["level"]
    segmenter = None if level == CLIP else build_segmenter(level)
    export = read_export(export_dir)
    root = Path(media_root) if media_root else None
    cache = FeatureCache(cache_dir) if cache_dir else None
    ids = {kind: sorted(int(i) for k, i in export.stimuli.index if k == kind) for kind in ("clip", "excerpt")}
    if not ids["clip"] or not ids["excerpt"]:
        raise TrainingInputError(f"{export.directory / 'stimuli.csv'} needs both clips and excerpts to rank.")
    embedder = Embedder(model)
    sequences = {}
    for kind, representation, modality in (("clip", video, "video"), ("excerpt", audio, "audio")):
        rows = []
        for item_id in tqdm(ids[kind], desc=f"{kind}s", unit=kind, disable=not progress):
            path = export.media_path(kind, item_id, media_root=root)
            if not path.is_file():
                raise TrainingInputError(f"{kind} {item_id}: media file {path} does not exist.")
            frames = load_frames(representation, path, cache)
            if segmenter is None:
                features = aggregate(frames, aggregation.clip)[None, :]
            else:
                duration = len(frames) * representation.hop_s
                item_spans = _item_spans(segmenter, modality, path, duration, cache, config["median_segment_s"])
                features = aggregate_spans(frames, representation.hop_s, item_spans, aggregation.segment)
            rows.append(embedder.video(features) if kind == "clip" else embedder.music(features))
        sequences[kind] = Sequences.from_list(rows)
    method = "trace" if level == CLIP else config["method"]
    costs = alignment_costs(
        sequences["clip"],
        sequences["excerpt"],
        method,
        AlignmentParams(**config["alignment_params"]),
        similarity=embedder.similarity(),
    )
    version = av_model_version(run_dir)
    records = []
    for kind, query_ids, candidate_ids, matrix in (
        ("clip", ids["clip"], ids["excerpt"], costs),
        ("excerpt", ids["excerpt"], ids["clip"], costs.T),
    ):
        candidates = np.asarray(candidate_ids)
        for query, row in zip(query_ids, matrix, strict=True):
            order = np.lexsort((candidates, row))  # ties: the smaller candidate id first
            for rank, column in enumerate(order, start=1):
                records.append((kind, query, int(candidates[column]), rank, -float(row[column]), version))
    return pd.DataFrame(records, columns=["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
