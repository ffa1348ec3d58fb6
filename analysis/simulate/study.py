"""A whole simulated study: every task drawn from one generator, the stimuli table and the export writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.simulate.config import Simulation, SimulationConfig
from analysis.simulate.crowd import clip_id, excerpt_id, stimuli_rows
from analysis.simulate.latent import draw_latent
from analysis.simulate.montage import MontageConfig, simulate_montage_study
from analysis.simulate.preference import simulate_preference
from analysis.simulate.ratings import simulate_ratings
from analysis.simulate.twoafc import simulate_afc
from exportformat import empty_table, schema, write_export
from mvfit_common.files import atomic_write


def simulate(config: SimulationConfig, *, ratings: bool = True, montage: MontageConfig | None = None) -> Simulation:
    """Draw a complete synthetic study from ``config`` (deterministic given ``config.seed``).

    ``montage`` adds a montage study (:mod:`analysis.simulate.montage`): the ``montages``,
    ``montage_choices`` and ``montage_ratings`` tables, its retrieval library in ``stimuli`` and its
    planted truth under ``truth["montage"]``.
    """
    rng = np.random.default_rng(config.seed)
    latent = draw_latent(config, rng)
    experiments: list[dict[str, Any]] = []
    truth: dict[str, Any] = {
        "video_clusters": {
            "video_id": (np.arange(config.videos) + 1).tolist(),
            "cluster": (latent.video_cluster + 1).tolist(),
        },
        "genre_clusters": {
            "genre_label": latent.genre_names,
            "cluster": (latent.genre_cluster + 1).tolist(),
        },
        "cluster_affinity": {
            "genre_label": latent.genre_names,
            "matrix": np.round(latent.affinity, 4).tolist(),
        },
    }
    frames = []
    next_assignment = 1
    if ratings:
        rating_rows, rating_truth = simulate_ratings(config, latent, rng, experiment_id=1)
        clip_start, excerpt_start = rating_truth.pop("clip_start_s"), rating_truth.pop("excerpt_start_s")
        truth["ratings"] = rating_truth
        next_assignment = int(rating_rows["assignment_id"].max()) + 1
        experiments.append(
            {
                "id": 1,
                "slug": "simulated-fit-ratings",
                "kind": "rating",
                "seed": config.seed,
                "config": {"ratings_per_pairing": config.ratings_per_pairing, "scale": [1, 7]},
            }
        )
    else:
        rating_rows = None
        clip_start = np.zeros(config.videos)
        excerpt_start = np.zeros(config.songs)
    stimuli = [
        stimuli_rows(
            "clip",
            clip_id(np.arange(config.videos)),
            np.arange(config.videos) + 1,
            np.array(latent.scene_names)[latent.video_scene],
            clip_start,
        ),
        stimuli_rows(
            "excerpt",
            excerpt_id(np.arange(config.songs)),
            np.arange(config.songs) + 1,
            np.array(latent.genre_names)[latent.song_genre],
            excerpt_start,
        ),
    ]
    distances = pd.DataFrame(columns=["clip_id", "excerpt_id", "distance"])
    if config.pref_subjects:
        pref, pref_stimuli, distances, pref_truth = simulate_preference(
            config, latent, rng, experiment_id=2, first_assignment=next_assignment
        )
        frames.append(pref)
        stimuli.append(pref_stimuli)
        truth["preference"] = pref_truth
        next_assignment = int(pref["assignment_id"].max()) + 1
        experiments.append(
            {
                "id": 2,
                "slug": "simulated-preference-test",
                "kind": "preference",
                "seed": config.seed,
                "config": {"questions": config.pref_questions, "conditions": list(schema.CONDITIONS)},
            }
        )
    if config.afc_trials:
        afc, afc_truth = simulate_afc(config, latent, rng, experiment_id=3, first_assignment=next_assignment)
        frames.append(afc)
        truth["afc"] = afc_truth
        experiments.append(
            {"id": 3, "slug": "simulated-2afc", "kind": "2afc", "seed": config.seed, "config": {"options": 2}}
        )
    montage_tables: dict[str, pd.DataFrame] = {}
    if montage is not None:
        montage_tables, truth["montage"] = simulate_montage_study(
            montage, rng, experiment_id=4, first_assignment=next_assignment + 100_000
        )
        stimuli.append(montage_tables.pop("stimuli"))
        experiments.append(
            {
                "id": 4,
                "slug": "simulated-montage-preference",
                "kind": "montage",
                "seed": config.seed,
                "config": {"systems": list(montage.systems), "pairs_per_worker": montage.pairs_per_worker},
            }
        )
    choices = pd.concat(frames, ignore_index=True) if frames else empty_table("choices")
    if rating_rows is None:
        rating_rows = empty_table("ratings")
    return Simulation(
        ratings=rating_rows,
        choices=choices,
        stimuli=pd.concat(stimuli, ignore_index=True),
        machine_distances=distances,
        truth=_jsonable(truth),
        config=config,
        experiments=experiments,
        montage_tables=montage_tables,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_simulation(
    simulation: Simulation, out: str | Path, *, parquet: bool = False, machine_distances: bool = False
) -> Path:
    """Write the export (all four files); optionally also ``machine_distances.csv`` next to it."""
    root = write_export(
        out,
        tables={
            "ratings": simulation.ratings,
            "choices": simulation.choices,
            "stimuli": simulation.stimuli,
            **simulation.montage_tables,
        },
        provenance=simulation.provenance(),
        parquet=parquet,
    ).directory
    if machine_distances and not simulation.machine_distances.empty:
        with atomic_write(root / "machine_distances.csv") as tmp:
            simulation.machine_distances.to_csv(tmp, index=False, lineterminator="\n")
    return root
