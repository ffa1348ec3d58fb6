"""Turn a retrieval model's rankings file into the preference report's machine distance file.

``python -m training rank`` writes, per query, its best candidates of the other modality with the
cosine similarity in the joint embedding space (docs/training.md, "The rankings file")::

    query_kind,query_id,candidate_id,rank,score,model_version
    clip,1,7,1,0.240606,vmnet:vmnet@005371d15fce

The report's Machine row reads ``model,clip_id,excerpt_id,distance`` (docs/analysis.md, machine
file): the machine prefers the option closer to the query. :func:`rankings_to_distances` maps a
``clip`` query row to (clip = query, excerpt = candidate) and an ``excerpt`` query row to
(clip = candidate, excerpt = query), with distance = 1 - score (cosine distance). A pair ranked from
both sides appears once; its two scores must agree (they are the same cosine, written with six
decimals). The model is named by ``model_version`` unless ``model`` renames it.

A rankings file written with ``--top N`` only holds each query's N best candidates; questions whose
options lie outside them are skipped by the report with a note (``rank --top 0`` ranks everything).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mvfit_common.files import atomic_write

# The columns of ``training.retrieval.pipeline.RANKING_COLUMNS`` (pinned equal by
# tests/analysis/test_machine.py; importing training here would pull in torch).
RANKING_COLUMNS = ("query_kind", "query_id", "candidate_id", "rank", "score", "model_version")
QUERY_KINDS = ("clip", "excerpt")
MACHINE_FILE_COLUMNS = ("model", "clip_id", "excerpt_id", "distance")
# Scores are written with six decimals, so the two sides of a pair can differ by one rounding step.
SCORE_TOLERANCE = 2e-6


@dataclass
class MachineDistances:
    """The machine distance table and what the conversion noticed."""

    distances: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def read_rankings(path: str | Path, *, score_range: tuple[float, float] | None = (-1.0, 1.0)) -> pd.DataFrame:
    """Read and check a rankings file; errors name the file, the column and the offending value.

    ``score_range``: the scores must be cosines by default; ``None`` accepts any finite number (the
    model registry's rankings hold minus a cost, docs/retrieval.md).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: rankings file not found")
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [column for column in RANKING_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{file}: missing column(s) {', '.join(missing)}; a rankings file has {','.join(RANKING_COLUMNS)} "
            "(python -m training rank)"
        )
    if frame.empty:
        raise ValueError(f"{file}: no rankings")
    kinds = ~frame["query_kind"].isin(QUERY_KINDS)
    if kinds.any():
        raise ValueError(
            f"{file}: line {int(np.argmax(kinds.to_numpy())) + 2}: query_kind {frame['query_kind'][kinds].iloc[0]!r} "
            f"is not one of {', '.join(QUERY_KINDS)}"
        )
    out = frame[list(RANKING_COLUMNS)].copy()
    expected = {
        "query_id": "a whole number >= 0",
        "candidate_id": "a whole number >= 0",
        "rank": "a whole number >= 1",
        "score": "a cosine similarity in [-1, 1]" if score_range is not None else "a finite number",
    }
    for column, text in expected.items():
        converted = pd.to_numeric(frame[column], errors="coerce")
        if column == "score" and score_range is not None:
            bad = ~converted.between(score_range[0] - SCORE_TOLERANCE, score_range[1] + SCORE_TOLERANCE)
        elif column == "score":
            bad = ~np.isfinite(converted)
        else:
            bad = (converted != converted.round()) | (converted < (1 if column == "rank" else 0))
        bad |= converted.isna()
        if bad.any():
            line = int(np.argmax(bad.to_numpy()))
            raise ValueError(f"{file}: line {line + 2}: {column} {frame[column].iloc[line]!r} is not {text}")
        out[column] = converted.astype(float if column == "score" else "int64")
    if (frame["model_version"] == "").any():
        raise ValueError(
            f"{file}: line {int(np.argmax((frame['model_version'] == '').to_numpy())) + 2}: empty model_version"
        )
    return out


def rankings_to_distances(path: str | Path, *, model: str | None = None) -> MachineDistances:
    """The machine distance table (``model, clip_id, excerpt_id, distance``) of a rankings file."""
    rankings = read_rankings(path)
    clip_query = rankings["query_kind"] == "clip"
    pairs = pd.DataFrame(
        {
            "model": rankings["model_version"] if model is None else model,
            "clip_id": np.where(clip_query, rankings["query_id"], rankings["candidate_id"]),
            "excerpt_id": np.where(clip_query, rankings["candidate_id"], rankings["query_id"]),
            "distance": 1.0 - rankings["score"].to_numpy(dtype=float),
        }
    )
    key = ["model", "clip_id", "excerpt_id"]
    spread = pairs.groupby(key, sort=False)["distance"].agg(lambda d: d.max() - d.min())
    conflicting = spread[spread > SCORE_TOLERANCE]
    if len(conflicting):
        name, clip, excerpt = conflicting.index[0]
        raise ValueError(
            f"{path}: {len(conflicting)} clip/excerpt pair(s) have different scores from the clip and the excerpt "
            f"side, e.g. clip {clip}, excerpt {excerpt} of {name}; was the file assembled from different runs?"
        )
    distances = pairs.groupby(key, sort=True, as_index=False)["distance"].mean()
    notes = []
    for name, table in distances.groupby("model", sort=True):
        clips, excerpts = table["clip_id"].nunique(), table["excerpt_id"].nunique()
        coverage = len(table) / (clips * excerpts)
        notes.append(
            f"{name}: {len(table):,} clip/excerpt distances ({clips:,} clips x {excerpts:,} excerpts, "
            f"{coverage:.0%} of all pairs)"
            + ("" if coverage == 1 else "; questions with an unranked option will be skipped (rank --top 0 ranks all)")
        )
    return MachineDistances(distances=distances[list(MACHINE_FILE_COLUMNS)], notes=notes)


def write_machine_distances(distances: pd.DataFrame, out: str | Path) -> Path:
    """Write the machine distance file atomically (CSV, ``\\n`` line ends, distances to 6 decimals)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MACHINE_FILE_COLUMNS)
        for row in distances[list(MACHINE_FILE_COLUMNS)].itertuples(index=False):
            writer.writerow([row.model, int(row.clip_id), int(row.excerpt_id), f"{row.distance:.6f}"])
    return out
