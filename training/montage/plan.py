"""Choosing one clip per segment under the montage's constraints.

Segments are filled in song order, greedily: for segment ``i`` every allowed clip gets a score and the
lowest wins. Scores by strategy: ``nearest`` — the model's distance (the montage of seed 004);
``farthest`` — minus the distance (the *anti* montage); ``random`` — a seeded random draw (the *R*
baseline, same constraints). Allowed: long enough for the segment; not used before (``no_reuse``);
not from the previous segment's source video (``no_same_source``, which wins over continuity). The
continuity bonus (``continuity_bonus`` > 0) lowers the score of the clip that continues the previous
segment's clip in its source video (same source, starting where that clip's span ends, within
``CONTINUITY_TOLERANCE_S``), so a run of a music video's own shots can survive when the model barely
prefers another clip. Ties are broken by a seeded random order, so a plan depends only on its inputs
and the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from training.errors import TrainingInputError
from training.montage.library import LibraryItem
from training.montage.segments import Segment

STRATEGIES = ("nearest", "farthest", "random")
CONTINUITY_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Constraints:
    no_reuse: bool = True
    no_same_source: bool = False
    continuity_bonus: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Choice:
    segment: Segment
    clip: LibraryItem
    distance: float
    rank: int  # 1 = the clip nearest to this segment among all clips (before constraints)
    continues_previous: bool


def plan_montage(
    segments: Sequence[Segment],
    clips: Sequence[LibraryItem],
    distances: np.ndarray,
    *,
    constraints: Constraints,
    strategy: str = "nearest",
    seed: int = 0,
) -> list[Choice]:
    if strategy not in STRATEGIES:
        raise TrainingInputError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    distances = np.asarray(distances, dtype=np.float64)
    if distances.shape != (len(segments), len(clips)):
        raise TrainingInputError(f"distances have shape {distances.shape}, need ({len(segments)}, {len(clips)}).")
    if constraints.no_reuse and len(clips) < len(segments):
        raise TrainingInputError(
            f"the song has {len(segments)} segments but the library only {len(clips)} clips: "
            "allow reuse or use longer segments."
        )
    rng = np.random.default_rng(seed)
    tie_break = rng.permutation(len(clips)).astype(np.float64)
    random_scores = rng.random((len(segments), len(clips))) if strategy == "random" else None
    durations = np.array([clip.duration_s for clip in clips])
    sources = np.array([clip.source_id for clip in clips])
    starts = np.array([clip.start_s for clip in clips])
    ranks = np.argsort(np.argsort(distances, axis=1, kind="stable"), axis=1, kind="stable") + 1
    used = np.zeros(len(clips), dtype=bool)
    plan: list[Choice] = []
    for i, segment in enumerate(segments):
        score = {"nearest": distances[i], "farthest": -distances[i], "random": random_scores}[strategy]
        score = np.array(score[i] if strategy == "random" else score, dtype=np.float64)
        allowed = durations + 0.5 / segment.fps >= segment.duration_s
        if constraints.no_reuse:
            allowed &= ~used
        continuation = np.zeros(len(clips), dtype=bool)
        if plan:
            previous = plan[-1].clip
            if constraints.no_same_source:
                allowed &= sources != previous.source_id
            continuation = (sources == previous.source_id) & (
                np.abs(starts - (previous.start_s + previous.duration_s)) <= CONTINUITY_TOLERANCE_S
            )
            score = score - constraints.continuity_bonus * continuation
        if not allowed.any():
            raise TrainingInputError(
                f"no clip can fill segment {segment.index} ({segment.duration_s:.2f} s) under the constraints: "
                "the library's clips are too short or all used; lower --max-segment or allow reuse."
            )
        candidates = np.flatnonzero(allowed)
        best = candidates[np.lexsort((tie_break[candidates], score[candidates]))[0]]
        used[best] = True
        plan.append(
            Choice(
                segment=segment,
                clip=clips[best],
                distance=float(distances[i, best]),
                rank=int(ranks[i, best]),
                continues_previous=bool(continuation[best]),
            )
        )
    return plan
