"""Fit ratings (Langlois design): every clip x every excerpt, served round by round to fresh worker pools."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.simulate.config import SimulationConfig, pseudonyms
from analysis.simulate.crowd import clip_id, excerpt_id, order_within, pick_workers, timestamps
from analysis.simulate.latent import Latent


def simulate_ratings(
    config: SimulationConfig, latent: Latent, rng: np.random.Generator, *, experiment_id: int = 1
) -> tuple[pd.DataFrame, dict[str, Any]]:
    n_videos, n_songs, k = config.videos, config.songs, config.ratings_per_pairing
    n_pairings = n_videos * n_songs
    per = config.trials_per_assignment
    per_round = -(-n_pairings // per)
    n_assignments = per_round * k
    n_workers = max(2 * k, round(n_assignments / config.assignments_per_worker))
    n_workers -= n_workers % k  # equal pools
    pool_size = n_workers // k
    worker_bias = rng.normal(0, config.worker_bias_sd, size=n_workers)
    worker_scale = np.exp(rng.normal(0, config.worker_scale_sd, size=n_workers))
    careless = rng.random(n_workers) < config.careless_share
    careless_kind = np.where(rng.random(n_workers) < 0.5, "random", "straight")
    favourite = rng.integers(1, 8, size=n_workers)

    # Round r: a permutation of all pairings, cut into assignments served by worker pool r.
    pairing = np.concatenate([rng.permutation(n_pairings) for _ in range(k)])
    round_of_row = np.repeat(np.arange(k), n_pairings)
    assignment = round_of_row * per_round + (np.tile(np.arange(n_pairings), k) // per)
    assignment_round = np.repeat(np.arange(k), per_round)
    assignment_worker = np.empty(n_assignments, dtype=np.int64)
    for r in range(k):
        pool = np.arange(r * pool_size, (r + 1) * pool_size)
        assignment_worker[assignment_round == r] = pick_workers(rng, pool, per_round)

    n_catch = config.catch_per_assignment * n_assignments
    catch_assignment = np.repeat(np.arange(n_assignments), config.catch_per_assignment)
    all_assignment = np.concatenate([assignment, catch_assignment])
    is_catch = np.concatenate([np.zeros(len(assignment), bool), np.ones(n_catch, bool)])
    all_pairing = np.concatenate([pairing, np.full(n_catch, -1)])
    order, trial_index = order_within(rng, all_assignment)
    all_assignment, is_catch, all_pairing = all_assignment[order], is_catch[order], all_pairing[order]
    worker = assignment_worker[all_assignment]
    video = np.where(is_catch, 0, all_pairing // n_songs)
    song = np.where(is_catch, 0, all_pairing % n_songs)
    n = len(all_assignment)

    latent_fit = latent.fit[video, song] + rng.normal(0, config.noise_sd, size=n)
    attentive = np.clip(np.rint(4 + worker_bias[worker] + worker_scale[worker] * latent_fit), 1, 7)
    random_answer = rng.integers(1, 8, size=n)
    straight = np.where(rng.random(n) < 0.95, favourite[worker], random_answer)
    is_careless = careless[worker]
    careless_answer = np.where(careless_kind[worker] == "random", random_answer, straight)
    rating = np.where(is_careless, careless_answer, attentive).astype(np.int64)
    pass_rate = np.where(is_careless, config.catch_pass_careless, config.catch_pass_attentive)
    passed = rng.random(n) < pass_rate
    # Attention check: "please answer 1 (extremely poor fit)".
    rating = np.where(is_catch, np.where(passed, 1, rng.integers(2, 8, size=n)), rating)

    rt = np.where(is_careless, rng.lognormal(np.log(400), 0.6, size=n), rng.lognormal(np.log(2600), 0.5, size=n))
    rt = np.rint(rt).astype(np.int64)
    plays = 1 + rng.poisson(0.15, size=n)
    busy = (5_000 * plays + rt).astype(np.int64)
    presented, answered, received = timestamps(rng, all_assignment, busy, n_assignments)

    worker_ids = pseudonyms(rng, n_workers)
    clip_start = np.round(rng.uniform(0, 20, size=n_videos), 3)
    excerpt_start = np.round(rng.uniform(20, 60, size=n_songs), 3)
    genre_names = np.array(latent.genre_names, dtype=object)
    scene_names = np.array(latent.scene_names, dtype=object)

    def real(values: np.ndarray) -> pd.array:
        return pd.array(np.where(is_catch, None, values), dtype=object)

    ratings = pd.DataFrame(
        {
            "worker_id": worker_ids[worker],
            "assignment_id": all_assignment + 1,
            "experiment_id": experiment_id,
            "trial_index": trial_index,
            "pairing_id": pd.array(np.where(is_catch, pd.NA, all_pairing + 1), dtype="Int64"),
            "video_id": pd.array(np.where(is_catch, pd.NA, video + 1), dtype="Int64"),
            "scene_label": real(scene_names[latent.video_scene[video]]),
            "clip_id": pd.array(np.where(is_catch, pd.NA, clip_id(video)), dtype="Int64"),
            "clip_start_s": np.where(is_catch, np.nan, clip_start[video]),
            "clip_duration_s": np.where(is_catch, np.nan, 5.0),
            "music_id": pd.array(np.where(is_catch, pd.NA, song + 1), dtype="Int64"),
            "genre_label": real(genre_names[latent.song_genre[song]]),
            "excerpt_id": pd.array(np.where(is_catch, pd.NA, excerpt_id(song)), dtype="Int64"),
            "excerpt_start_s": np.where(is_catch, np.nan, excerpt_start[song]),
            "excerpt_duration_s": np.where(is_catch, np.nan, 5.0),
            "rating": rating,
            "rt_ms": rt,
            "play_count": plays,
            "is_catch": is_catch,
            "catch_passed": pd.array(np.where(is_catch, passed, pd.NA), dtype="boolean"),
            "presented_at": presented,
            "answered_at": answered,
            "received_at": received,
        }
    )
    truth = {
        "workers": {
            "worker_id": worker_ids.tolist(),
            "bias": np.round(worker_bias, 4).tolist(),
            "scale": np.round(worker_scale, 4).tolist(),
            "careless": careless.tolist(),
        },
        "clip_start_s": clip_start,
        "excerpt_start_s": excerpt_start,
    }
    return ratings, truth
