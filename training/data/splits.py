"""Train/validation/test splits by source video, so no video is seen in two splits.

An item may show more than one video (an M2V choice shows two clips); such videos must land in the
same split, so the unit of assignment is a connected group of videos (union-find over the items).
Groups are shuffled with the seed and dealt out until each split reaches its share of items.
(When two-video items chain nearly everything into one group, see ``split_by_video``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from training.errors import TrainingInputError

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Item indices and the videos of each part."""

    indices: dict[str, np.ndarray]
    videos: dict[str, list[int]]
    seed: int
    fractions: tuple[float, float, float]
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def to_dict(self) -> dict:
        return {
            "seed": self.seed,
            "fractions": list(self.fractions),
            "indices": {name: self.indices[name].tolist() for name in SPLIT_NAMES},
            "videos": {name: self.videos[name] for name in SPLIT_NAMES},
            "dropped": self.dropped.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        return cls(
            indices={name: np.asarray(data["indices"][name], dtype=np.int64) for name in SPLIT_NAMES},
            videos={name: [int(v) for v in data["videos"][name]] for name in SPLIT_NAMES},
            seed=int(data["seed"]),
            fractions=tuple(data["fractions"]),
            dropped=np.asarray(data.get("dropped", []), dtype=np.int64),
        )


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def split_by_video(
    item_videos: Sequence[Iterable[int]],
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> Split:
    """Assign items to train/val/test so that each video appears in exactly one part.

    Items that show one video (V2M) are never dropped. Items that show two (M2V) tie their videos
    together; when those ties chain most of the library into one group, no split can keep every
    item, so videos are dealt out individually and the items that would straddle two parts are
    dropped (listed in ``Split.dropped``).
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise TrainingInputError(f"split fractions must be three positive numbers summing to 1, not {fractions}.")
    videos_per_item = [sorted({int(v) for v in videos}) for videos in item_videos]
    if any(not videos for videos in videos_per_item):
        raise TrainingInputError("every item needs at least one source video to split by video.")
    groups = _UnionFind()
    for videos in videos_per_item:
        for other in videos[1:]:
            groups.union(videos[0], other)
    group_of_item = np.array([groups.find(videos[0]) for videos in videos_per_item], dtype=np.int64)
    rng = np.random.default_rng(seed)
    largest_share = np.unique(group_of_item, return_counts=True)[1].max() / len(videos_per_item)
    if largest_share <= max(fractions):
        unit_of_item = group_of_item
        dropped = np.zeros(0, dtype=np.int64)
        part_of_item = _deal(unit_of_item, fractions, rng)
    else:
        # Deal single videos (weighted by how many items show them), then keep the items whose
        # videos all landed in one part.
        all_videos = np.array(sorted({v for videos in videos_per_item for v in videos}), dtype=np.int64)
        weight = dict.fromkeys(all_videos.tolist(), 0)
        for videos in videos_per_item:
            for video in videos:
                weight[video] += 1
        video_part = _deal(all_videos, fractions, rng, weights=weight)
        part_lookup = dict(zip(all_videos.tolist(), video_part.tolist(), strict=True))
        parts = [{part_lookup[v] for v in videos} for videos in videos_per_item]
        part_of_item = np.array([next(iter(p)) if len(p) == 1 else -1 for p in parts], dtype=np.int64)
        dropped = np.flatnonzero(part_of_item < 0)
    video_part_of: dict[int, int] = {}
    for videos, part in zip(videos_per_item, part_of_item.tolist(), strict=True):
        if part >= 0:
            for video in videos:
                video_part_of[video] = part
    indices = {name: np.flatnonzero(part_of_item == k) for k, name in enumerate(SPLIT_NAMES)}
    empty = [name for name in SPLIT_NAMES if len(indices[name]) == 0]
    if empty:
        raise TrainingInputError(
            f"the split by video leaves no items for {', '.join(empty)}: more videos are needed "
            "(or, for M2V, option pairs that do not tie every video together)."
        )
    return Split(
        indices=indices,
        videos={name: sorted(v for v, p in video_part_of.items() if p == k) for k, name in enumerate(SPLIT_NAMES)},
        seed=seed,
        fractions=tuple(float(f) for f in fractions),
        dropped=dropped,
    )


def _deal(units: np.ndarray, fractions, rng: np.random.Generator, *, weights: dict | None = None) -> np.ndarray:
    """Part (0, 1, 2) for each entry of ``units``: whole units are shuffled and dealt so that each
    part's share of the total weight (default: number of entries per unit) approaches its fraction."""
    keys, counts = np.unique(units, return_counts=True)
    size = {int(k): (weights[int(k)] if weights else int(n)) for k, n in zip(keys, counts, strict=True)}
    if len(keys) < 3:
        raise TrainingInputError(
            f"only {len(keys)} independent group(s) of videos: a split by video needs at least 3 (one per part)."
        )
    order = [int(keys[i]) for i in rng.permutation(len(keys))]
    total = sum(size.values())
    # Every part gets one unit first so that none is empty; then units go to the part that is
    # furthest below its target share.
    assignment = {order[0]: 0, order[1]: 1, order[2]: 2}
    filled = [size[order[0]], size[order[1]], size[order[2]]]
    for key in order[3:]:
        deficits = [fractions[k] * total - filled[k] for k in range(3)]
        part = int(np.argmax(deficits))
        assignment[key] = part
        filled[part] += size[key]
    return np.array([assignment[int(u)] for u in units.tolist()], dtype=np.int64)
