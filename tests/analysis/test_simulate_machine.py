"""The simulated model's distance file (issue 13, finding 3): S is the model's nearest neighbour.

Every option shown with a query is a (clip, excerpt) pair with one distance in the file; S must be the
closest of all options of its query in *both* directions, also where a pair (the ground-truth G
pair above all) is shown with a clip query in V2M and with an excerpt query in M2V.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.cleaning import clean
from analysis.preference import machine_share_table, preference_trials
from analysis.simulate import SimulationConfig, simulate


def _shown_options(choices: pd.DataFrame, distances: pd.DataFrame) -> pd.DataFrame:
    """One row per (direction, query, option) shown in a preference trial, with the pair's distance."""
    trials = choices[~choices["is_catch"]]
    v2m = (trials["direction"] == "V2M").to_numpy()
    rows = [
        pd.DataFrame(
            {
                "direction": trials["direction"].to_numpy(),
                "query_id": trials["query_id"].to_numpy(),
                "kind": trials[f"{side}_kind"].astype(str).to_numpy(),
                "clip_id": np.where(v2m, trials["query_id"], trials[f"{side}_id"]),
                "excerpt_id": np.where(v2m, trials[f"{side}_id"], trials["query_id"]),
            }
        )
        for side in ("left", "right")
    ]
    shown = pd.concat(rows).drop_duplicates()
    return shown.merge(distances, on=["clip_id", "excerpt_id"], how="left", validate="many_to_one")


def _config(seed: int, **overrides) -> SimulationConfig:
    base = {"videos": 3, "songs": 3, "genres": 3, "ratings_per_pairing": 1, "afc_trials": 0, "seed": seed}
    return SimulationConfig(**(base | overrides))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), items=st.integers(15, 80), subjects=st.integers(2, 30))
def test_s_is_the_nearest_option_of_every_query_in_both_directions(seed, items, subjects):
    simulation = simulate(_config(seed, pref_items=items, pref_subjects=subjects, pref_questions=30))
    shown = _shown_options(simulation.choices, simulation.machine_distances)
    assert shown["distance"].notna().all()  # every shown pair has a distance
    assert not simulation.machine_distances.duplicated(["clip_id", "excerpt_id"]).any()
    for (direction, query), group in shown.groupby(["direction", "query_id"]):
        search = group.loc[group["kind"] == "S", "distance"]
        others = group.loc[group["kind"] != "S", "distance"]
        if len(search) and len(others):
            assert search.max() < others.min(), (direction, query)


def test_the_machine_gs_share_is_zero_and_sr_is_one_at_the_default_design():
    simulation = simulate(_config(7, pref_subjects=53))
    trials = preference_trials(clean(simulation.ratings, simulation.choices).choices)
    machine, notes = machine_share_table(trials, simulation.machine_distances.assign(model="simulated"))
    total = machine.set_index(["condition", "direction"])["share"].xs("total", level="direction")
    assert total["GS"] == 0.0  # main: 0.11-0.14
    assert total["SR"] == 1.0
    assert total["GR"] == pytest.approx(0.78, abs=0.1)
    assert not notes
