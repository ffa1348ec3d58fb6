"""The machine distance file of a simulated embedding model (the preference table's Machine row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.simulate.config import SimulationConfig


def draw_machine_distances(config: SimulationConfig, rng: np.random.Generator, choices: pd.DataFrame) -> pd.DataFrame:
    """Embedding distances of a simulated model: G closer than R with probability ``machine_gr``;
    the search result S is the model's nearest neighbour, so it is the closest option of its query.

    A (clip, excerpt) pair has one distance, but it can be an option of two queries: the ground-truth
    pair is G for the clip's V2M question and for the excerpt's M2V question, and a pair that is one
    query's S can be another query's R. So "closest of its query" is checked against every option the
    query is shown with, in either direction, and S distances are lowered until that holds for all
    queries at once (a few passes: lowering one S can only require lowering another S further).
    """
    shown = _shown_pairs(choices)
    pairs = shown.drop_duplicates(["clip_id", "excerpt_id"])[["clip_id", "excerpt_id"]].reset_index(drop=True)
    is_r = shown.groupby(["clip_id", "excerpt_id"], sort=False)["kind"].agg(lambda k: (k == "R").all())
    shift = np.sqrt(2) * float(norm.ppf(config.machine_gr))  # P(N(0,1) < N(shift,1)) = machine_gr
    relevance = np.where(is_r.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(), shift, 0.0)
    distance = rng.normal(0, 1, size=len(pairs)) + relevance
    # Each shown option knows its pair's row; each query's S gets its own margin below the query's others.
    pair_index = pd.Series(np.arange(len(pairs)), index=pd.MultiIndex.from_frame(pairs))
    row = pair_index.reindex(pd.MultiIndex.from_frame(shown[["clip_id", "excerpt_id"]])).to_numpy()
    query = shown.groupby(["direction", "query_id"], sort=False).ngroup().to_numpy()
    search = (shown["kind"] == "S").to_numpy()
    margin = rng.exponential(0.1, size=query.max() + 1 if len(query) else 0)
    for _ in range(len(pairs) + 1):
        other = np.where(search, np.inf, distance[row])
        nearest_other = pd.Series(other).groupby(query).transform("min").to_numpy()
        target = np.full(len(pairs), np.inf)
        np.minimum.at(target, row[search], nearest_other[search] - margin[query[search]])
        lowered = target < distance
        if not lowered.any():
            break
        distance = np.minimum(distance, target)
    else:  # pragma: no cover - needs a cycle of S pairs that no distances can order
        raise RuntimeError("no distances make every S the nearest option of its query")
    pairs["distance"] = distance + 10 - min(0.0, distance.min())  # distances are positive in an embedding space
    return pairs[["clip_id", "excerpt_id", "distance"]].round(6)


def _shown_pairs(choices: pd.DataFrame) -> pd.DataFrame:
    """Every (direction, query, option kind, clip, excerpt) shown in a preference question."""
    trials = choices[~choices["is_catch"]]
    v2m = (trials["direction"] == "V2M").to_numpy()
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "direction": trials["direction"].to_numpy(),
                    "query_id": trials["query_id"].to_numpy(),
                    "kind": trials[f"{side}_kind"].to_numpy(),
                    "clip_id": np.where(v2m, trials["query_id"], trials[f"{side}_id"]),
                    "excerpt_id": np.where(v2m, trials[f"{side}_id"], trials["query_id"]),
                }
            )
            for side in ("left", "right")
        ]
    ).drop_duplicates(ignore_index=True)
