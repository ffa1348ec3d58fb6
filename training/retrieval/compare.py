"""``python -m training retrieval-compare --config FILE --out DIR``: the seeds' comparisons as one grid.

The grid is audio representation x loss x level (clip, or one segmentation) x ranking method
(the clip-level cosine / BCE score, or an alignment of segment sequences), every configuration
trained and evaluated for every seed under every scenario of :mod:`training.retrieval.protocol`.
The configuration file (JSON, documented in docs/retrieval.md) names the library, the grid and the
training settings; relative paths are relative to the working directory.

The output directory gets: ``config.json`` (the normalised configuration, versions and timings),
``results.csv`` (one row per seed x configuration x scenario x direction), ``table.csv`` and
``table.md`` (mean ± sd over the seeds), ``edits.csv`` (every crop and stretch, per seed),
``training.csv`` (epochs and losses of every model), ``figures/recall.png``,
``figures/mean_rank.png``, ``figures/qualitative.png``, and ``models/<name>/`` for each
configuration listed under ``save`` (seed of the first run; ``publish-model`` serves it).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mvfit_common.files import atomic_write_bytes
from training.alignment import METHODS, AlignmentParams
from training.errors import TrainingInputError
from training.representations import build_representation
from training.representations.base import AGGREGATIONS
from training.retrieval.planted import PlantedConfig
from training.retrieval.protocol import (
    CLIP,
    KS,
    SCENARIOS,
    Aggregation,
    PerturbationConfig,
    ProtocolConfig,
    run_protocol,
)
from training.retrieval.trainer import LOSSES, FitConfig
from training.runs import write_json
from training.segmentation import build_segmenter

KEYS = {
    "library",
    "audio",
    "video",
    "backbones",
    "aggregation",
    "losses",
    "levels",
    "alignments",
    "alignment_params",
    "scenarios",
    "perturbation",
    "seeds",
    "split",
    "training",
    "qualitative",
    "save",
}
GROUP = ["representation", "loss", "level", "segmentation", "method", "scenario", "direction"]
METRICS = [*(f"R@{k}" for k in KS), "mean_rank", "median_rank"]


@dataclass(frozen=True)
class CompareConfig:
    library: dict
    audio: tuple  # representation specs (names or objects)
    video: str | dict = "colour"
    backbones: dict = field(default_factory=dict)
    levels: tuple = (CLIP, "foote", "fixed")
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    qualitative: dict = field(default_factory=dict)
    save: tuple = ()
    raw: dict = field(default_factory=dict)


def _label(spec: str | dict) -> str:
    return spec if isinstance(spec, str) else str(spec.get("label") or spec.get("name"))


def _list(config: dict, key: str, default: list) -> list:
    value = config.get(key, default)
    if not isinstance(value, list) or not value:
        raise TrainingInputError(f"'{key}' must be a non-empty list.")
    return value


def parse_config(data: dict) -> CompareConfig:
    """Validate a configuration object; every problem is a :class:`TrainingInputError` naming the key."""
    if not isinstance(data, dict):
        raise TrainingInputError("the configuration must be a JSON object.")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise TrainingInputError(f"unknown configuration key(s) {unknown}; allowed: {sorted(KEYS)}.")
    library = data.get("library")
    if not isinstance(library, dict) or library.get("kind") not in ("export", "planted"):
        raise TrainingInputError('\'library\' must be {"kind": "export", "path": ...} or {"kind": "planted", ...}.')
    if library["kind"] == "export" and not library.get("path"):
        raise TrainingInputError("an export library needs a 'path'.")
    if library["kind"] == "planted":
        _planted_config(library)
    audio = _list(data, "audio", ["handcrafted"])
    labels = [_label(spec) for spec in audio]
    if len(set(labels)) != len(labels):
        raise TrainingInputError(f"audio representations need distinct labels (add a 'label'): {labels}.")
    losses = _list(data, "losses", ["vmnet"])
    if any(loss not in LOSSES for loss in losses):
        raise TrainingInputError(f"'losses' must be drawn from {', '.join(LOSSES)}; got {losses}.")
    levels = _list(data, "levels", [CLIP, "foote", "fixed"])
    level_labels = [_label(level) for level in levels]
    if len(set(level_labels)) != len(level_labels):
        raise TrainingInputError(f"levels need distinct labels (add a 'label'): {level_labels}.")
    for level in levels:
        if level != CLIP:
            build_segmenter(level)  # validates the spec now
    alignments = _list(data, "alignments", ["trace", "best-trace", "nw-dtw", "sw-dtw"])
    if any(a not in METHODS for a in alignments):
        raise TrainingInputError(f"'alignments' must be drawn from {', '.join(METHODS)}; got {alignments}.")
    scenarios = _list(data, "scenarios", list(SCENARIOS))
    if any(s not in SCENARIOS for s in scenarios):
        raise TrainingInputError(f"'scenarios' must be drawn from {', '.join(SCENARIOS)}; got {scenarios}.")
    seeds = _list(data, "seeds", [0, 1, 2])
    if any(not isinstance(s, int) or isinstance(s, bool) for s in seeds) or len(set(seeds)) != len(seeds):
        raise TrainingInputError("'seeds' must be distinct integers.")
    split = data.get("split", [0.5, 0.2, 0.3])
    if (
        not isinstance(split, list)
        or len(split) != 3
        or any(isinstance(x, bool) or not isinstance(x, int | float) or x <= 0 for x in split)
        or abs(sum(split) - 1) > 1e-6
    ):
        raise TrainingInputError(
            f"'split' must be three positive shares (train, validation, test) summing to 1, not {split!r}."
        )
    aggregation = data.get("aggregation", {})
    if not isinstance(aggregation, dict) or any(
        aggregation.get(k, "mean") not in AGGREGATIONS for k in ("clip", "segment")
    ):
        raise TrainingInputError(f'\'aggregation\' is {{"clip": ..., "segment": ...}} with values in {AGGREGATIONS}.')
    try:
        params = AlignmentParams(**data.get("alignment_params", {}))
        perturbation = data.get("perturbation", {})
        perturbation = PerturbationConfig(
            crop=tuple(perturbation.get("crop", (0.5, 0.75))), stretch=tuple(perturbation.get("stretch", (1.25, 1.5)))
        )
    except (TypeError, ValueError) as exc:
        raise TrainingInputError(f"alignment_params / perturbation: {exc}") from None
    protocol = ProtocolConfig(
        losses=tuple(losses),
        levels=tuple(level_labels),
        alignments=tuple(alignments),
        scenarios=tuple(scenarios),
        seeds=tuple(seeds),
        fractions=tuple(float(x) for x in split),
        fit=FitConfig.from_dict(data.get("training", {})),
        aggregation=Aggregation(
            clip=aggregation.get("clip", "mean-var-max"), segment=aggregation.get("segment", "mean")
        ),
        alignment_params=params,
        perturbation=perturbation,
    )
    qualitative = data.get("qualitative", {})
    if not isinstance(qualitative, dict) or set(qualitative) - {"queries", "configuration"}:
        raise TrainingInputError('\'qualitative\' is {"queries": N, "configuration": {...}}.')
    save = data.get("save", [])
    if not isinstance(save, list):
        raise TrainingInputError("'save' must be a list of configurations {audio, loss, level, method}.")
    for selection in [*save, *([qualitative["configuration"]] if "configuration" in qualitative else [])]:
        _check_selection(selection, labels, losses, level_labels, alignments)
    return CompareConfig(
        library=library,
        audio=tuple(audio),
        video=data.get("video", "colour"),
        backbones=dict(data.get("backbones", {})),
        levels=tuple(levels),
        protocol=protocol,
        qualitative=qualitative,
        save=tuple(save),
        raw=data,
    )


def _check_selection(selection, audio, losses, levels, alignments) -> None:
    if not isinstance(selection, dict) or set(selection) != {"audio", "loss", "level", "method"}:
        raise TrainingInputError(f"a configuration is {{audio, loss, level, method}}, not {selection!r}.")
    allowed_methods = [CLIP] if selection["level"] == CLIP else alignments
    for key, allowed in (("audio", audio), ("loss", losses), ("level", levels), ("method", allowed_methods)):
        if selection[key] not in allowed:
            raise TrainingInputError(f"{key} {selection[key]!r} of {selection} is not in the grid ({allowed}).")


def _planted_config(library: dict) -> PlantedConfig:
    options = {k: v for k, v in library.items() if k != "kind"}
    for key in ("segments", "segment_s"):
        if key in options:
            options[key] = tuple(options[key])
    try:
        return PlantedConfig(**options)
    except TypeError as exc:
        raise TrainingInputError(f"planted library: {exc}") from None


def load_config(path: str | Path) -> CompareConfig:
    path = Path(path)
    if not path.is_file():
        raise TrainingInputError(f"configuration file {path} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrainingInputError(f"{path} is not valid JSON: {exc}") from None
    return parse_config(data)


def _backbone_settings(config: CompareConfig):
    from training.features.extractors import BackboneSettings

    try:
        return BackboneSettings.from_env(**config.backbones)
    except TypeError as exc:
        raise TrainingInputError(f"backbones: {exc}") from None


def run_compare(
    config: CompareConfig,
    out: str | Path,
    *,
    cache_dir: str | None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    from training.retrieval.figures import plot_metric, plot_qualitative
    from training.retrieval.library import load_library
    from training.retrieval.planted import plan, write_planted_export

    out = Path(out)
    if (out / "table.csv").exists():
        raise TrainingInputError(f"{out} already holds a comparison; choose a new --out directory.")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    library = config.library
    if library["kind"] == "planted":
        export_dir = out / "library"
        if not (export_dir / "stimuli.csv").exists():
            log(f"writing the planted library to {export_dir}")
            write_planted_export(export_dir, plan(_planted_config(library)), progress=progress)
        media_root = None
    else:
        export_dir, media_root = Path(library["path"]), library.get("media_root")
    settings = _backbone_settings(config)
    audio = {_label(spec): build_representation(spec, modality="audio", settings=settings) for spec in config.audio}
    video = build_representation(config.video, modality="video", settings=settings)
    segmenters = {_label(level): build_segmenter(level) for level in config.levels if level != CLIP}
    if not segmenters:
        segmenters = {"fixed": build_segmenter("fixed")}  # the clip baseline's edits need segments
    items = load_library(
        export_dir,
        audio=audio,
        video=video,
        segmenters=segmenters,
        cache_dir=cache_dir,
        media_root=media_root,
        progress=progress,
        log=log,
    )
    timings["features_and_segments_s"] = time.perf_counter() - started
    first = next(iter(items.values()))
    counts = {label: float(np.mean([len(it.segments[label]) for it in first])) for label in segmenters}
    log("segments per music video: " + ", ".join(f"{k} {v:.1f}" for k, v in counts.items()))
    save = {(s["audio"], s["loss"], s["level"]) for s in config.save}
    tick = time.perf_counter()
    result = run_protocol(
        items,
        config.protocol,
        log=log,
        keep_models=lambda r, loss, level, seed: (r, loss, level) in save and seed == config.protocol.seeds[0],
    )
    timings["training_and_ranking_s"] = time.perf_counter() - tick
    results = pd.DataFrame(result.rows)
    table = summary_table(results)
    _write_csv(out / "results.csv", results)
    _write_csv(out / "table.csv", table)
    _write_csv(out / "edits.csv", pd.DataFrame(result.edits))
    _write_csv(
        out / "training.csv",
        pd.DataFrame(
            [
                {k: h[k] for k in ("seed", "representation", "loss", "level")}
                | {"epochs": len(h["history"]), "best_val_loss": min(e["val_loss"] for e in h["history"])}
                for h in result.histories
            ]
        ),
    )
    atomic_write_bytes(out / "table.md", markdown_table(table, len(first), config).encode("utf-8"))
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    plot_metric(figures / "recall.png", table, "R@10", "R@10 (%)", percent=True)
    plot_metric(figures / "mean_rank.png", table, "mean_rank", "mean rank (lower is better)")
    chosen = _qualitative_choice(config, table)
    if chosen in result.examples:
        costs, test_items = result.examples[chosen]
        plot_qualitative(
            figures / "qualitative.png",
            costs,
            test_items,
            title=" / ".join(chosen) + " — video→music, vanilla, first seed",
            queries=int(config.qualitative.get("queries", 3)),
        )
    for selection in config.save:
        key = (selection["audio"], selection["loss"], selection["level"], config.protocol.seeds[0])
        _save_model(out / "models", selection, result.models[key], config, first, table)
    timings["total_s"] = time.perf_counter() - started
    write_json(
        out / "config.json",
        {
            "configuration": config.raw,
            "library_export": str(export_dir),
            "music_videos": len(first),
            "segments_per_video": counts,
            "timings": timings,
            "torch": str(torch.__version__),
            "python": platform.python_version(),
        },
    )
    log(f"comparison written to {out} in {timings['total_s']:.0f} s")
    return out


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of every metric, one row per configuration x scenario x direction."""
    grouped = results.groupby(GROUP, sort=False)
    table = grouped[METRICS].mean().add_suffix("_mean").join(grouped[METRICS].std(ddof=1).add_suffix("_sd"))
    table["seeds"] = grouped["seed"].nunique()
    table["queries"] = grouped["queries"].first()
    table["candidates"] = grouped["candidates"].first()
    table = table.reset_index()
    ordered = [*GROUP, *(f"{m}_{s}" for m in METRICS for s in ("mean", "sd")), "seeds", "queries", "candidates"]
    return table[ordered]


def markdown_table(table: pd.DataFrame, videos: int, config: CompareConfig) -> str:
    """One table per direction: R@1 / R@10 (%) and mean rank ± sd over seeds, per scenario."""
    scenarios = [s for s in SCENARIOS if s in set(table["scenario"])]
    candidates = int(table["candidates"].iloc[0])
    lines = [
        f"{videos} music videos; test split {candidates} per seed; {int(table['seeds'].max())} seeds "
        f"({', '.join(str(s) for s in config.protocol.seeds)}). Cells: R@1 / R@10 in %, mean rank ± sd over seeds. "
        f"Chance: R@1 {100 / candidates:.1f} %, R@10 {100 * min(1, 10 / candidates):.0f} %, mean rank {(candidates + 1) / 2:.1f}.",
        "",
    ]
    # The clip baseline is shown once (under its first segmentation's edits).
    first_segmentation = (
        table[table["level"] == CLIP]["segmentation"].iloc[0] if (table["level"] == CLIP).any() else None
    )
    shown = table[(table["level"] != CLIP) | (table["segmentation"] == first_segmentation)]
    for direction, heading in (("v2m", "Video → music"), ("m2v", "Music → video")):
        rows = shown[shown["direction"] == direction]
        lines += [f"**{heading}**", ""]
        lines.append("| audio | loss | level | ranking | " + " | ".join(scenarios) + " |")
        lines.append("|---|---|---|---|" + "---|" * len(scenarios))
        for key, group in rows.groupby(["representation", "loss", "level", "method"], sort=False):
            cells = []
            for scenario in scenarios:
                r = group[group["scenario"] == scenario]
                if r.empty:
                    cells.append("")
                    continue
                r = r.iloc[0]
                sd = "" if pd.isna(r["mean_rank_sd"]) else f" ± {r['mean_rank_sd']:.1f}"
                cells.append(f"{100 * r['R@1_mean']:.0f} / {100 * r['R@10_mean']:.0f} / {r['mean_rank_mean']:.1f}{sd}")
            lines.append("| " + " | ".join(key) + " | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _qualitative_choice(config: CompareConfig, table: pd.DataFrame) -> tuple[str, str, str, str]:
    chosen = config.qualitative.get("configuration")
    if chosen:
        return (chosen["audio"], chosen["loss"], chosen["level"], chosen["method"])
    vanilla = table[(table["scenario"] == "vanilla") & (table["direction"] == "v2m")]
    best = vanilla.sort_values(["R@10_mean", "mean_rank_mean"], ascending=[False, True], kind="stable").iloc[0]
    return (best["representation"], best["loss"], best["level"], best["method"])


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode("utf-8"))


def _save_model(root: Path, selection: dict, model, config: CompareConfig, items, table: pd.DataFrame) -> None:
    from training.retrieval.av_runs import save_av_run

    name = "-".join(str(selection[k]) for k in ("audio", "loss", "level", "method"))
    audio_spec = next(spec for spec in config.audio if _label(spec) == selection["audio"])
    level_spec = next((lv for lv in config.levels if _label(lv) == selection["level"]), CLIP)
    level = selection["level"]
    durations = [e - s for it in items for s, e in it.segments[level]] if level != CLIP else []
    metrics = table[
        (table["representation"] == selection["audio"])
        & (table["loss"] == selection["loss"])
        & (table["level"] == level)
        & (table["method"] == selection["method"])
    ]
    save_av_run(
        root / name,
        model=model,
        audio=audio_spec,
        video=config.video,
        backbones=_backbone_settings(config).to_dict(),
        level=level_spec,
        method=selection["method"],
        aggregation=config.protocol.aggregation,
        alignment_params=config.protocol.alignment_params,
        median_segment_s=float(np.median(durations)) if durations else None,
        metrics=metrics.to_dict(orient="records"),
    )
