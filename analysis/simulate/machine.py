"""The machine distance file of a simulated embedding model (the preference table's Machine row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.simulate.config import SimulationConfig


def draw_machine_distances(config: SimulationConfig, rng: np.random.Generator, choices: pd.DataFrame) -> pd.DataFrame:
    """Embedding distances of a simulated model: G closer than R with probability ``machine_gr``;
    the search result S is the model's nearest neighbour, so it is the closest option of its query."""
    trials = choices[~choices["is_catch"]]
    v2m = trials["direction"] == "V2M"
    rows = []
    for side in ("left", "right"):
        rows.append(
            pd.DataFrame(
                {
                    "clip_id": np.where(v2m, trials["query_id"], trials[f"{side}_id"]),
                    "excerpt_id": np.where(v2m, trials[f"{side}_id"], trials["query_id"]),
                    "query_id": trials["query_id"].to_numpy(),
                    "kind": trials[f"{side}_kind"].to_numpy(),
                }
            )
        )
    pairs = pd.concat(rows).drop_duplicates(["clip_id", "excerpt_id"]).reset_index(drop=True)
    shift = np.sqrt(2) * float(norm.ppf(config.machine_gr))  # P(N(0,1) < N(shift,1)) = machine_gr
    distance = rng.normal(0, 1, size=len(pairs)) + np.where(pairs["kind"] == "R", shift, 0.0)
    pairs["distance"] = distance
    closest = pairs.groupby("query_id")["distance"].transform("min")
    is_search = (pairs["kind"] == "S").to_numpy()
    pairs.loc[is_search, "distance"] = closest[is_search] - rng.exponential(0.1, size=is_search.sum())
    pairs["distance"] = pairs["distance"] + 10  # distances are positive in an embedding space
    return pairs[["clip_id", "excerpt_id", "distance"]].round(6)
