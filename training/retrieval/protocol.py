"""The evaluation protocol of the seeds: train on held-out splits, rank, perturb, measure, over seeds.

Items are music videos (:class:`AVItem`): the frame-level features of their soundtrack and picture,
with their segments for each segmentation. For every seed the items are split by source video
(train / validation / test, ``training.data.splits``), and for every configuration — audio
representation x loss x level (clip, or one segmentation) — a model is trained on the training
items and early-stopped on the validation items. The test items are then ranked in both directions
(V2M: each video against every soundtrack; M2V the other way round) in each scenario:

``vanilla``          query and targets as they are (Seg-VM-Net §V-D);
``crop-query``       each query keeps a contiguous run of ``crop`` (50-75 %) of its segments;
``stretch-targets``  each target is lengthened by a factor in ``stretch`` (1.25-1.5): that many of
                     its segments, chosen at random, are repeated in place — what a slowed-down track
                     looks like to a segmenter with a fixed time scale;
``crop-stretch``     both (Seg-VM-Net §V-E, Table IV).

Edits are drawn per (seed, scenario, direction, segmentation, item) from a seeded generator, so every
model and ranking method meets exactly the same edited media; each edit is recorded. A clip-level
model sees the same edits as frames: its feature is aggregated over the kept (or repeated) segments.

Metrics (per query, then averaged over the test queries): R@K for K in 1, 5, 10, 25 (the query's own
partner among the K best candidates), mean and median rank (1 = best; ties count against the query).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from training.alignment import AlignmentParams, Sequences, alignment_costs
from training.data.splits import split_by_video
from training.errors import TrainingInputError
from training.representations.base import aggregate, aggregate_spans, frames_of_spans
from training.retrieval.trainer import FitConfig, PairSet, fit_pairs

SCENARIOS = ("vanilla", "crop-query", "stretch-targets", "crop-stretch")
DIRECTIONS = ("v2m", "m2v")
KS = (1, 5, 10, 25)
CLIP = "clip"


@dataclass
class AVItem:
    """One music video: aligned soundtrack and picture features, and its segments per segmentation."""

    clip_id: int
    excerpt_id: int
    source: int  # source video: the unit of the train / validation / test split
    duration_s: float
    music: np.ndarray  # (T_music, D_music) frame features
    music_hop_s: float
    video: np.ndarray  # (T_video, D_video)
    video_hop_s: float
    segments: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    keyframe: np.ndarray | None = None  # (h, w, 3) uint8 picture of the item, for the qualitative figure
    label: str = ""
    video_path: Path | None = None  # its clip, where the key frame can be read when ``keyframe`` is None


@dataclass(frozen=True)
class PerturbationConfig:
    crop: tuple[float, float] = (0.5, 0.75)
    stretch: tuple[float, float] = (1.25, 1.5)

    def __post_init__(self) -> None:
        if not 0 < self.crop[0] <= self.crop[1] <= 1:
            raise TrainingInputError("crop must be two shares with 0 < low <= high <= 1.")
        if not 1 <= self.stretch[0] <= self.stretch[1]:
            raise TrainingInputError("stretch must be two factors with 1 <= low <= high.")


@dataclass(frozen=True)
class Edit:
    indices: tuple[int, ...]  # the item's segments, in the order the edited item shows them
    factor: float  # share kept (crop) or length factor (stretch); 1 for no edit


def crop_edit(n: int, rng: np.random.Generator, config: PerturbationConfig) -> Edit:
    share = float(rng.uniform(*config.crop))
    keep = int(np.clip(round(share * n), 1, n))
    start = int(rng.integers(0, n - keep + 1))
    return Edit(tuple(range(start, start + keep)), share)


def stretch_edit(m: int, rng: np.random.Generator, config: PerturbationConfig) -> Edit:
    factor = float(rng.uniform(*config.stretch))
    extra = int(np.clip(round((factor - 1) * m), 0, m))
    repeated = set(rng.choice(m, size=extra, replace=False).tolist()) if extra else set()
    return Edit(tuple(i for j in range(m) for i in ([j, j] if j in repeated else [j])), factor)


def identity_edit(n: int) -> Edit:
    return Edit(tuple(range(n)), 1.0)


def edit_generator(seed: int, scenario: str, direction: str, segmentation: str) -> np.random.Generator:
    key = [seed, SCENARIOS.index(scenario), DIRECTIONS.index(direction), zlib.crc32(segmentation.encode())]
    return np.random.default_rng(key)


def scenario_edits(
    items: list[AVItem], segmentation: str, scenario: str, direction: str, seed: int, config: PerturbationConfig
) -> tuple[list[Edit], list[Edit]]:
    """(query edits, target edits), one per item, for the segments of ``segmentation``."""
    rng = edit_generator(seed, scenario, direction, segmentation)
    queries, targets = [], []
    for item in items:
        n = len(item.segments[segmentation])
        crop = scenario in ("crop-query", "crop-stretch")
        stretch = scenario in ("stretch-targets", "crop-stretch")
        # Draw both for every item, so each edit depends only on the item's place, not on the scenario's other half.
        query, target = crop_edit(n, rng, config), stretch_edit(n, rng, config)
        queries.append(query if crop else identity_edit(n))
        targets.append(target if stretch else identity_edit(n))
    return queries, targets


# --- features at each level -------------------------------------------------------------------


@dataclass(frozen=True)
class Aggregation:
    clip: str = "mean-var-max"
    segment: str = "mean"


def segment_rows(item: AVItem, segmentation: str, how: str) -> tuple[np.ndarray, np.ndarray]:
    """(music, video) aggregated features of each segment: (n, D_music'), (n, D_video')."""
    spans = item.segments[segmentation]
    return (
        aggregate_spans(item.music, item.music_hop_s, spans, how),
        aggregate_spans(item.video, item.video_hop_s, spans, how),
    )


def clip_rows(item: AVItem, segmentation: str | None, edit: Edit | None, how: str, modality: str) -> np.ndarray:
    frames, hop = (item.music, item.music_hop_s) if modality == "music" else (item.video, item.video_hop_s)
    if edit is None or segmentation is None:
        return aggregate(frames, how)
    spans = item.segments[segmentation]
    return aggregate(frames_of_spans(frames, hop, [spans[i] for i in edit.indices]), how)


def training_pairs(items: list[AVItem], level: str, aggregation: Aggregation) -> PairSet:
    if level == CLIP:
        return PairSet(
            video=np.stack([aggregate(it.video, aggregation.clip) for it in items]),
            music=np.stack([aggregate(it.music, aggregation.clip) for it in items]),
            groups=np.arange(len(items)),
        )
    music, video, groups = [], [], []
    for k, item in enumerate(items):
        m, v = segment_rows(item, level, aggregation.segment)
        music.append(m)
        video.append(v)
        groups.append(np.full(len(m), k))
    return PairSet(video=np.concatenate(video), music=np.concatenate(music), groups=np.concatenate(groups))


# --- ranking ---------------------------------------------------------------------------------


def ranks_from_costs(costs: np.ndarray) -> np.ndarray:
    """1-based rank of candidate i for query row i (square matrix; ties count against the query)."""
    own = np.diag(costs)
    ahead = (costs <= own[:, None]).sum(axis=1) - 1
    return ahead + 1


def summarise(ranks: np.ndarray, candidates: int) -> dict:
    out = {f"R@{k}": float(np.mean(ranks <= k)) for k in KS}
    out.update(
        {
            "mean_rank": float(np.mean(ranks)),
            "median_rank": float(np.median(ranks)),
            "queries": len(ranks),
            "candidates": candidates,
        }
    )
    return out


class Embedder:
    """A trained model applied to raw rows; similarities for the alignment code (video rows x music rows)."""

    def __init__(self, model) -> None:
        self.model = model

    @torch.no_grad()
    def video(self, rows: np.ndarray) -> np.ndarray:
        return self.model.embed_video(torch.as_tensor(rows, dtype=torch.float32)).double().numpy()

    @torch.no_grad()
    def music(self, rows: np.ndarray) -> np.ndarray:
        return self.model.embed_music(torch.as_tensor(rows, dtype=torch.float32)).double().numpy()

    def similarity(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
        if self.model.head is None:
            return None

        @torch.no_grad()
        def similarity(video: np.ndarray, music: np.ndarray) -> np.ndarray:
            v = torch.as_tensor(video, dtype=torch.float32)
            m = torch.as_tensor(music, dtype=torch.float32)
            return self.model.similarity(v, m).double().numpy()

        return similarity


def level_costs(
    embedder: Embedder,
    items: list[AVItem],
    level: str,
    segmentation: str,
    video_edits: list[Edit],
    music_edits: list[Edit],
    methods: tuple[str, ...],
    aggregation: Aggregation,
    params: AlignmentParams,
) -> dict[str, np.ndarray]:
    """{method: (video items x music items) costs} of the edited items (one method, ``clip``, at the clip level)."""
    if level == CLIP:
        video = embedder.video(
            np.stack(
                [
                    clip_rows(it, segmentation, e, aggregation.clip, "video")
                    for it, e in zip(items, video_edits, strict=True)
                ]
            )
        )
        music = embedder.music(
            np.stack(
                [
                    clip_rows(it, segmentation, e, aggregation.clip, "music")
                    for it, e in zip(items, music_edits, strict=True)
                ]
            )
        )
        rows, cols = Sequences.from_list(list(video[:, None])), Sequences.from_list(list(music[:, None]))
        return {CLIP: alignment_costs(rows, cols, "trace", params, similarity=embedder.similarity())}
    video_seqs, music_seqs = [], []
    for item, v_edit, m_edit in zip(items, video_edits, music_edits, strict=True):
        m_rows, v_rows = segment_rows(item, level, aggregation.segment)
        video_seqs.append(embedder.video(v_rows)[list(v_edit.indices)])
        music_seqs.append(embedder.music(m_rows)[list(m_edit.indices)])
    rows, cols = Sequences.from_list(video_seqs), Sequences.from_list(music_seqs)
    similarity = embedder.similarity()
    return {method: alignment_costs(rows, cols, method, params, similarity=similarity) for method in methods}


# --- the whole protocol ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolConfig:
    losses: tuple[str, ...] = ("vmnet",)
    levels: tuple[str, ...] = (CLIP,)  # "clip" and/or segmentation names present in every item
    alignments: tuple[str, ...] = ("trace", "best-trace", "nw-dtw", "sw-dtw")
    scenarios: tuple[str, ...] = SCENARIOS
    seeds: tuple[int, ...] = (0, 1, 2)
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    fit: FitConfig = field(default_factory=FitConfig)
    aggregation: Aggregation = field(default_factory=Aggregation)
    alignment_params: AlignmentParams = field(default_factory=AlignmentParams)
    perturbation: PerturbationConfig = field(default_factory=PerturbationConfig)

    def __post_init__(self) -> None:
        bad = [s for s in self.scenarios if s not in SCENARIOS]
        if bad:
            raise TrainingInputError(f"scenarios must be drawn from {', '.join(SCENARIOS)}; got {bad}.")
        if len(self.seeds) < 1:
            raise TrainingInputError("the protocol needs at least one seed (the seeds' tables use >= 3).")

    @property
    def segmentations(self) -> tuple[str, ...]:
        return tuple(level for level in self.levels if level != CLIP)


@dataclass
class ProtocolResult:
    rows: list[dict]
    edits: list[dict]
    # For the qualitative figure: (representation, loss, level, method) → (V2M costs, test items) of the
    # first seed, vanilla scenario.
    examples: dict[tuple[str, str, str, str], tuple[np.ndarray, list[AVItem]]]
    histories: list[dict]
    models: dict[tuple[str, str, str, int], object]


def run_protocol(
    items_by_representation: dict[str, list[AVItem]],
    config: ProtocolConfig,
    *,
    log: Callable[[str], None] = print,
    keep_models: Callable[[str, str, str, int], bool] | None = None,
) -> ProtocolResult:
    """Train and evaluate every configuration for every seed (see the module docstring)."""
    representations = list(items_by_representation)
    reference = items_by_representation[representations[0]]
    for name, items in items_by_representation.items():
        if [it.clip_id for it in items] != [it.clip_id for it in reference]:
            raise ValueError(f"representation {name} lists different items.")
    for level in config.segmentations:
        missing = [it.clip_id for it in reference if level not in it.segments]
        if missing:
            raise TrainingInputError(f"segmentation {level!r} is missing for clip(s) {missing[:5]}.")
    result = ProtocolResult(rows=[], edits=[], examples={}, histories=[], models={})
    # The clip-level baseline meets the edits of every segmentation being compared (or of its own windows).
    edit_segmentations = config.segmentations or ("fixed",)
    if any(s not in reference[0].segments for s in edit_segmentations):
        raise TrainingInputError(
            f"the scenarios edit segments: the items need the segmentation(s) {list(edit_segmentations)}."
        )
    for seed in config.seeds:
        split = split_by_video([[it.source] for it in reference], seed=seed, fractions=config.fractions)
        parts = {name: [int(i) for i in split.indices[name]] for name in split.indices}
        log(
            f"seed {seed}: split by source video: "
            + ", ".join(f"{name} {len(parts[name])} videos" for name in ("train", "val", "test"))
        )
        edits = _edits(reference, parts["test"], config, seed, edit_segmentations)
        for record in _edit_records(reference, parts["test"], edits, seed):
            result.edits.append(record)
        for representation in representations:
            items = items_by_representation[representation]
            train, val, test = ([items[i] for i in parts[name]] for name in ("train", "val", "test"))
            for loss in config.losses:
                fit = FitConfig.from_dict({**config.fit.to_dict(), "loss": loss})
                for level in config.levels:
                    model, history = fit_pairs(
                        training_pairs(train, level, config.aggregation),
                        training_pairs(val, level, config.aggregation),
                        fit,
                        seed=seed,
                    )
                    log(f"  {representation} / {loss} / {level}: {len(history)} epochs")
                    result.histories.append(
                        {
                            "seed": seed,
                            "representation": representation,
                            "loss": loss,
                            "level": level,
                            "history": history,
                        }
                    )
                    if keep_models is not None and keep_models(representation, loss, level, seed):
                        result.models[(representation, loss, level, seed)] = model
                    embedder = Embedder(model)
                    segmentations = edit_segmentations if level == CLIP else (level,)
                    for segmentation in segmentations:
                        for scenario in config.scenarios:
                            for direction in DIRECTIONS:
                                query, target = edits[(segmentation, scenario, direction)]
                                # Costs are always (video rows x music columns); the query side gets the crop.
                                video_edits, music_edits = (query, target) if direction == "v2m" else (target, query)
                                costs = level_costs(
                                    embedder,
                                    test,
                                    level,
                                    segmentation,
                                    video_edits,
                                    music_edits,
                                    tuple(config.alignments),
                                    config.aggregation,
                                    config.alignment_params,
                                )
                                for method, matrix in costs.items():
                                    oriented = matrix if direction == "v2m" else matrix.T
                                    row = {
                                        "seed": seed,
                                        "representation": representation,
                                        "loss": loss,
                                        "level": level,
                                        "segmentation": segmentation,
                                        "method": method,
                                        "scenario": scenario,
                                        "direction": direction,
                                        **summarise(ranks_from_costs(oriented), oriented.shape[1]),
                                    }
                                    result.rows.append(row)
                                    if seed == config.seeds[0] and scenario == "vanilla" and direction == "v2m":
                                        key = (representation, loss, level if level != CLIP else CLIP, method)
                                        result.examples.setdefault(key, (matrix, test))
    return result


def _edits(items, test_index, config, seed, segmentations):
    test = [items[i] for i in test_index]
    return {
        (segmentation, scenario, direction): scenario_edits(
            test, segmentation, scenario, direction, seed, config.perturbation
        )
        for segmentation in segmentations
        for scenario in config.scenarios
        for direction in DIRECTIONS
    }


def _edit_records(items, test_index, edits, seed):
    for (segmentation, scenario, direction), (queries, targets) in edits.items():
        if scenario == "vanilla":
            continue
        for k, i in enumerate(test_index):
            for role, edit in (("query", queries[k]), ("target", targets[k])):
                if edit.factor == 1.0 and len(edit.indices) == len(items[i].segments[segmentation]):
                    continue
                yield {
                    "seed": seed,
                    "segmentation": segmentation,
                    "scenario": scenario,
                    "direction": direction,
                    "role": role,
                    "modality": ("video" if (role == "query") == (direction == "v2m") else "music"),
                    "clip_id": items[i].clip_id,
                    "excerpt_id": items[i].excerpt_id,
                    "segments": len(items[i].segments[segmentation]),
                    "factor": round(edit.factor, 4),
                    "indices": " ".join(str(x) for x in edit.indices),
                }
