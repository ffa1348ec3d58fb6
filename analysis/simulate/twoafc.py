"""Plain 2AFC (Langlois' second experiment): a clip and two excerpts, P(left) from the fit difference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.simulate.config import SimulationConfig, pseudonyms
from analysis.simulate.crowd import clip_id, excerpt_id, order_within, pick_workers, timestamps
from analysis.simulate.latent import Latent
from exportformat import schema


def simulate_afc(
    config: SimulationConfig,
    latent: Latent,
    rng: np.random.Generator,
    *,
    experiment_id: int,
    first_assignment: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Plain 2AFC: which of two excerpts fits the clip better (condition ``none``)."""
    per = config.afc_trials_per_assignment
    n_assignments = -(-config.afc_trials // per)
    n_workers = max(2, round(n_assignments / config.assignments_per_worker))
    careless = rng.random(n_workers) < config.careless_share
    assignment_worker = pick_workers(rng, np.arange(n_workers), n_assignments)
    real_assignment = np.arange(config.afc_trials) // per
    catch_assignment = np.repeat(np.arange(n_assignments), config.catch_per_assignment)
    assignment = np.concatenate([real_assignment, catch_assignment])
    is_catch = np.concatenate([np.zeros(len(real_assignment), bool), np.ones(len(catch_assignment), bool)])
    n = len(assignment)
    video = rng.integers(0, config.videos, size=n)
    left = rng.integers(0, config.songs, size=n)
    right = (left + rng.integers(1, config.songs, size=n)) % config.songs
    worker = assignment_worker[assignment]
    # The platform never shows a worker the same question twice: drop the rare random repeats.
    key = pd.DataFrame({"w": worker, "v": video, "a": np.minimum(left, right), "b": np.maximum(left, right)})
    unique = ~key.duplicated().to_numpy() | is_catch
    assignment, is_catch, video, left, right, worker = (
        a[unique] for a in (assignment, is_catch, video, left, right, worker)
    )
    n = len(assignment)
    p_left = expit(config.afc_sensitivity * (latent.fit[video, left] - latent.fit[video, right]))
    p_left = np.where(careless[worker], 0.5, p_left)
    chose_left = rng.random(n) < p_left
    # Attention check: one option is silent; choosing the other (left here) passes.
    pass_rate = np.where(careless[worker], config.catch_pass_careless, config.catch_pass_attentive)
    passed = rng.random(n) < pass_rate
    chose_left = np.where(is_catch, passed, chose_left)
    order, trial_index = order_within(rng, assignment)
    video, left, right, chose_left, assignment, worker, is_catch, passed = (
        a[order] for a in (video, left, right, chose_left, assignment, worker, is_catch, passed)
    )
    rt = np.rint(rng.lognormal(np.log(3000), 0.5, size=n)).astype(np.int64)
    plays = 2 + rng.poisson(0.2, size=n)
    presented, answered, received = timestamps(rng, assignment, 10_000 + rt, n_assignments)
    worker_ids = pseudonyms(rng, n_workers)
    genre = np.array(latent.genre_names, dtype=object)[latent.song_genre]
    scene = np.array(latent.scene_names, dtype=object)[latent.video_scene]

    def option(song: np.ndarray) -> dict[str, object]:
        return {
            "id": excerpt_id(song),
            "label": genre[song],
            "source_id": song + 1,
            "kind": None,
            "pairing_id": video * config.songs + song + 1,
        }

    lo, ro = option(left), option(right)
    choices = pd.DataFrame(
        {
            "worker_id": worker_ids[worker],
            "assignment_id": first_assignment + assignment,
            "experiment_id": experiment_id,
            "trial_index": trial_index,
            "direction": "V2M",
            "condition": schema.PLAIN_CONDITION,
            "query_id": clip_id(video),
            "query_label": scene[video],
            "query_source_id": video + 1,
            **{f"left_{key}": value for key, value in lo.items()},
            **{f"right_{key}": value for key, value in ro.items()},
            "search_source": None,
            "search_rank": pd.array([pd.NA] * n, dtype="Int64"),
            "chosen_side": np.where(chose_left, "left", "right"),
            "chosen_id": np.where(chose_left, lo["id"], ro["id"]),
            "chosen_kind": None,
            "first_preferred": pd.array([pd.NA] * n, dtype="boolean"),
            "rt_ms": rt,
            "play_count": plays,
            "is_catch": is_catch,
            "catch_passed": pd.array(np.where(is_catch, passed, pd.NA), dtype="boolean"),
            "presented_at": presented,
            "answered_at": answered,
            "received_at": received,
        }
    )[list(schema.CHOICES)]
    # Planted per-scene genre appeal: mean latent fit of each genre with the scene's videos.
    appeal = {}
    for s, name in enumerate(latent.scene_names):
        videos = np.flatnonzero(latent.video_scene == s)
        if len(videos) == 0:
            continue
        by_genre = pd.Series(latent.fit[videos].mean(axis=0)).groupby(latent.song_genre).mean()
        appeal[name] = {latent.genre_names[g]: round(float(v), 4) for g, v in by_genre.items()}
    song_appeal = latent.fit.mean(axis=0)
    truth = {
        "afc_sensitivity": config.afc_sensitivity,
        "workers": {"worker_id": worker_ids.tolist(), "careless": careless.tolist()},
        "genre_appeal_by_scene": appeal,
        "excerpt_appeal": {int(excerpt_id(s)): round(float(v), 4) for s, v in enumerate(song_appeal)},
    }
    return choices, truth
