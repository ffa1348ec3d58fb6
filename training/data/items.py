"""Training items built from an export.

A preference item is one two-alternative choice: a query (clip for V2M, excerpt for M2V), the
option shown on the left (A) and on the right (B), and ``label = 1`` when A was chosen. Each item
also carries the set of source videos it shows, which is what the split by video keys on.

A retrieval pair is a (clip, excerpt) pair that belongs together: either the ground-truth pairs of
``stimuli.csv`` (an excerpt cut from a music video's soundtrack and the clip of the same span, as in
VM-NET) or, for libraries without music videos, each query with the option the rater chose.
"""

from __future__ import annotations

import pandas as pd

from training.data.export import OPTION_KIND, QUERY_KIND, Export
from training.errors import TrainingInputError

PREFERENCE_COLUMNS = [
    "direction",
    "query_kind",
    "query_id",
    "option_kind",
    "a_id",
    "b_id",
    "label",
    "videos",
    "worker_id",
    "experiment_id",
]


def preference_items(export: Export, *, direction: str = "V2M") -> pd.DataFrame:
    """One row per non-catch choice in ``direction``: query, options A (left) / B (right), label."""
    if direction not in QUERY_KIND:
        raise TrainingInputError(f"direction must be V2M or M2V, not {direction!r}.")
    rows = export.choices[export.choices["direction"] == direction]
    if rows.empty:
        present = sorted(export.choices["direction"].unique())
        raise TrainingInputError(
            f"{export.directory} has no non-catch {direction} choices (directions present: {present or 'none'})."
        )
    if direction == "V2M":
        # The clip's source video is the only video on screen.
        videos = [frozenset([int(v)]) for v in rows["query_source_id"]]
    else:
        videos = [
            frozenset([int(a), int(b)]) for a, b in zip(rows["left_source_id"], rows["right_source_id"], strict=True)
        ]
    items = pd.DataFrame(
        {
            "direction": direction,
            "query_kind": QUERY_KIND[direction],
            "query_id": rows["query_id"].astype(int).to_numpy(),
            "option_kind": OPTION_KIND[direction],
            "a_id": rows["left_id"].astype(int).to_numpy(),
            "b_id": rows["right_id"].astype(int).to_numpy(),
            "label": (rows["chosen_side"] == "left").astype(int).to_numpy(),
            "videos": videos,
            "worker_id": rows["worker_id"].to_numpy(),
            "experiment_id": rows["experiment_id"].astype(int).to_numpy(),
        }
    )
    return items[PREFERENCE_COLUMNS]


def retrieval_pairs(export: Export, *, source: str = "ground-truth") -> pd.DataFrame:
    """Unique (clip_id, excerpt_id, video) pairs that belong together, for the VM-NET model."""
    if source == "ground-truth":
        excerpts = export.stimuli.xs("excerpt", level="item_kind")
        linked = excerpts[excerpts["ground_truth_id"].notna()]
        clips = export.stimuli.xs("clip", level="item_kind")
        linked = linked[linked["ground_truth_id"].astype(int).isin(clips.index)]
        if linked.empty:
            raise TrainingInputError(
                f"{export.directory / 'stimuli.csv'} has no excerpt with a ground_truth_id clip (no music videos in "
                "the library): use --pairs chosen to learn from the raters' choices instead."
            )
        clip_ids = linked["ground_truth_id"].astype(int).to_numpy()
        pairs = pd.DataFrame(
            {
                "clip_id": clip_ids,
                "excerpt_id": linked.index.to_numpy().astype(int),
                "video": clips.loc[clip_ids, "source_id"].astype(int).to_numpy(),
            }
        )
    elif source == "chosen":
        choices = export.choices
        if choices.empty:
            raise TrainingInputError(f"{export.directory / 'choices.csv'} has no non-catch choices.")
        v2m = choices["direction"] == "V2M"
        clip_ids = choices["query_id"].where(v2m, choices["chosen_id"]).astype(int)
        excerpt_ids = choices["chosen_id"].where(v2m, choices["query_id"]).astype(int)
        chosen_video = choices["left_source_id"].where(choices["chosen_side"] == "left", choices["right_source_id"])
        videos = choices["query_source_id"].where(v2m, chosen_video).astype(int)
        pairs = pd.DataFrame({"clip_id": clip_ids, "excerpt_id": excerpt_ids, "video": videos})
    else:
        raise TrainingInputError(f"--pairs must be 'ground-truth' or 'chosen', not {source!r}.")
    pairs = pairs.drop_duplicates(["clip_id", "excerpt_id"]).sort_values(["clip_id", "excerpt_id"])
    return pairs.reset_index(drop=True)
