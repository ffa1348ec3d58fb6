"""Train/validation/test splits by source video, so no video is seen in two splits.

An item may show more than one video (an M2V choice shows two clips); such videos must land in the
same split, so the unit of assignment is a connected group of videos (union-find over the items).
Groups are shuffled with the seed and dealt out until each split reaches its share of items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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

    def to_dict(self) -> dict:
        return {
            "seed": self.seed,
            "fractions": list(self.fractions),
            "indices": {name: self.indices[name].tolist() for name in SPLIT_NAMES},
            "videos": {name: self.videos[name] for name in SPLIT_NAMES},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        return cls(
            indices={name: np.asarray(data["indices"][name], dtype=np.int64) for name in SPLIT_NAMES},
            videos={name: [int(v) for v in data["videos"][name]] for name in SPLIT_NAMES},
            seed=int(data["seed"]),
            fractions=tuple(data["fractions"]),
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
    """Assign every item to train/val/test so that each video appears in exactly one part."""
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
    roots = sorted(set(group_of_item.tolist()))
    if len(roots) < 3:
        raise TrainingInputError(
            f"only {len(roots)} independent group(s) of videos: a split by video needs at least 3 (one per part)."
        )
    rng = np.random.default_rng(seed)
    order = [roots[i] for i in rng.permutation(len(roots))]
    sizes = {root: int(n) for root, n in zip(*np.unique(group_of_item, return_counts=True), strict=True)}
    total = len(videos_per_item)
    # Every part gets one group first so that none is empty; then groups go to the part that is
    # furthest below its target share.
    assignment = {order[0]: 0, order[1]: 1, order[2]: 2}
    filled = [sizes[order[0]], sizes[order[1]], sizes[order[2]]]
    for root in order[3:]:
        deficits = [fractions[k] * total - filled[k] for k in range(3)]
        part = int(np.argmax(deficits))
        assignment[root] = part
        filled[part] += sizes[root]
    part_of_item = np.array([assignment[g] for g in group_of_item.tolist()], dtype=np.int64)
    video_part: dict[int, int] = {}
    for videos, part in zip(videos_per_item, part_of_item.tolist(), strict=True):
        for video in videos:
            video_part[video] = part
    return Split(
        indices={name: np.flatnonzero(part_of_item == k) for k, name in enumerate(SPLIT_NAMES)},
        videos={name: sorted(v for v, p in video_part.items() if p == k) for k, name in enumerate(SPLIT_NAMES)},
        seed=seed,
        fractions=tuple(float(f) for f in fractions),
    )
