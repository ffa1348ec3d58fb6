"""Crowd mechanics shared by every task: presentation order, timestamps, worker productivity, stimulus ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.config import EPOCH


def timestamps(
    rng: np.random.Generator, assignment: np.ndarray, busy_ms: np.ndarray, n_assignments: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """presented/answered/received times for rows sorted by (assignment, trial_index)."""
    start = EPOCH + rng.integers(0, 14 * 24 * 3600 * 1000, size=n_assignments).astype("timedelta64[ms]")
    gap = rng.integers(300, 1500, size=len(assignment))
    step = busy_ms + gap
    cumulative = np.cumsum(step)
    first = np.searchsorted(assignment, assignment, side="left")
    before = cumulative - step
    offset = before - before[first]
    presented = start[assignment] + offset.astype("timedelta64[ms]")
    answered = presented + busy_ms.astype("timedelta64[ms]")
    received = answered + rng.integers(40, 600, size=len(assignment)).astype("timedelta64[ms]")
    return presented, answered, received


def order_within(rng: np.random.Generator, assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A random presentation order inside each assignment: (row order, trial_index per ordered row)."""
    order = np.lexsort((rng.random(len(assignment)), assignment))
    sorted_assignment = assignment[order]
    first = np.searchsorted(sorted_assignment, sorted_assignment, side="left")
    return order, np.arange(len(order)) - first


def pick_workers(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """Assign ``count`` assignments to workers of ``pool`` with heavy-tailed productivity (like MTurk)."""
    weights = rng.pareto(1.5, size=len(pool)) + 1
    return rng.choice(pool, size=count, p=weights / weights.sum())


def clip_id(video: np.ndarray) -> np.ndarray:
    # Distinct id ranges for clips and excerpts make any mix-up of the two visible in tests.
    return 100_000 + np.asarray(video) + 1


def excerpt_id(song: np.ndarray) -> np.ndarray:
    return 200_000 + np.asarray(song) + 1


def order_within_blocks(
    rng: np.random.Generator, subject: np.ndarray, catch_subject: np.ndarray, rows_per_subject: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each subject's questions in their V2M-then-M2V order and insert the checks at random places."""
    position = np.tile(np.arange(rows_per_subject), len(np.unique(subject))).astype(float)
    catch_position = rng.uniform(0, rows_per_subject, size=len(catch_subject))
    key = np.concatenate([position, catch_position])
    block = np.concatenate([subject, catch_subject])
    order = np.lexsort((key, block))
    sorted_block = block[order]
    first = np.searchsorted(sorted_block, sorted_block, side="left")
    return order, np.arange(len(order)) - first


def stimuli_rows(
    kind: str,
    item_ids: np.ndarray,
    source_ids: np.ndarray,
    labels: np.ndarray,
    start: np.ndarray | float,
    *,
    ground_truth: np.ndarray | None = None,
) -> pd.DataFrame:
    folder = "clips" if kind == "clip" else "excerpts"
    source_folder = "videos" if kind == "clip" else "tracks"
    extension = "mp4" if kind == "clip" else "m4a"
    return pd.DataFrame(
        {
            "item_kind": kind,
            "item_id": item_ids,
            "source_id": source_ids,
            "label": labels,
            "start_s": np.broadcast_to(start, len(item_ids)),
            "duration_s": 5.0,
            "seed": item_ids,
            "ground_truth_id": pd.array(ground_truth if ground_truth is not None else [pd.NA] * len(item_ids), "Int64"),
            "file": [f"simulated/{folder}/{kind}_{i}.{extension}" for i in item_ids],
            "source_file": [f"simulated/{source_folder}/{s}.{extension}" for s in source_ids],
        }
    )
