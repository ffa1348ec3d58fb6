"""The VM-NET preference test: subjects choose between G/R/S options; heterogeneous subjects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from analysis.simulate.config import SimulationConfig, pseudonyms
from analysis.simulate.crowd import order_within_blocks, stimuli_rows, timestamps
from analysis.simulate.latent import Latent
from analysis.simulate.machine import draw_machine_distances
from exportformat import schema


def expected_pooled_share(p_median: float, subject_sd: float) -> float:
    """E[expit(logit(p) + u)], u ~ N(0, sd): the pooled share the subjects' median preference implies."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    return float((expit(logit(p_median) + subject_sd * nodes) * weights).sum() / weights.sum())


def draw_subject_probabilities(
    rng: np.random.Generator, p_median: float, subject_sd: float, size: int | tuple[int, ...]
) -> np.ndarray:
    """Per-subject probabilities of preferring the first option (the power analysis uses the same draw)."""
    return expit(logit(p_median) + rng.normal(0, subject_sd, size=size))


def simulate_preference(
    config: SimulationConfig,
    latent: Latent,
    rng: np.random.Generator,
    *,
    experiment_id: int,
    first_assignment: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """VM-NET preference test over a pool of music videos (each gives a clip and its true excerpt)."""
    m, subjects = config.pref_items, config.pref_subjects
    mv_scene = rng.integers(0, config.scenes, size=m)
    mv_genre = rng.integers(0, config.n_genres, size=m)
    clip_ids = 150_000 + np.arange(m) + 1
    excerpt_ids = 250_000 + np.arange(m) + 1
    video_sources = config.videos + np.arange(m) + 1
    music_sources = config.songs + np.arange(m) + 1
    # The simulated model's top search result for music video j is music video search[j] != j.
    search = (np.arange(m) + rng.integers(1, m, size=m)) % m

    q_v2m = config.pref_questions // 2
    q_m2v = config.pref_questions - q_v2m
    rows_per_subject = config.pref_questions
    direction = np.tile(np.r_[np.zeros(q_v2m, int), np.ones(q_m2v, int)], subjects)
    condition = np.concatenate(
        [
            np.concatenate([rng.permutation(np.arange(q_v2m) % 3), rng.permutation(np.arange(q_m2v) % 3)])
            for _ in range(subjects)
        ]
    )
    subject = np.repeat(np.arange(subjects), rows_per_subject)
    n = len(subject)
    # Distinct queries per subject and direction, so no subject answers the same question twice.
    query = np.concatenate(
        [np.concatenate([rng.permutation(m)[:q_v2m], rng.permutation(m)[:q_m2v]]) for _ in range(subjects)]
    )
    random_item = (query + rng.integers(1, m, size=n)) % m
    random_item = np.where(random_item == search[query], (random_item + 1) % m, random_item)
    random_item = np.where(random_item == query, (random_item + 1) % m, random_item)
    kinds = np.array(["GR", "GS", "SR"])[condition]
    item_of = {"G": query, "S": search[query], "R": random_item}
    first_item = np.where(kinds == "SR", item_of["S"], item_of["G"])
    second_item = np.where(kinds == "GS", item_of["S"], item_of["R"])
    first_left = rng.random(n) < 0.5

    subject_offset = rng.normal(0, config.subject_sd, size=subjects)
    p_first = expit(logit(np.array([config.preference[c] for c in kinds])) + subject_offset[subject])
    first_chosen = rng.random(n) < p_first

    # Two attention checks per subject: V2M trials whose expected answer is the ground truth.
    catch_subject = np.repeat(np.arange(subjects), 2)
    catch_query = rng.integers(0, m, size=len(catch_subject))
    catch_other = (catch_query + rng.integers(1, m, size=len(catch_subject))) % m
    catch_passed = rng.random(len(catch_subject)) < config.catch_pass_attentive
    assignment = np.concatenate([subject, catch_subject])
    order, trial_index = order_within_blocks(rng, subject, catch_subject, rows_per_subject)
    is_catch = np.concatenate([np.zeros(n, bool), np.ones(len(catch_subject), bool)])
    dir_all = np.concatenate([direction, np.zeros(len(catch_subject), int)])
    query_all = np.concatenate([query, catch_query])
    first_all = np.concatenate([first_item, catch_query])
    second_all = np.concatenate([second_item, catch_other])
    first_left_all = np.concatenate([first_left, rng.random(len(catch_subject)) < 0.5])
    first_chosen_all = np.concatenate([first_chosen, catch_passed])
    kinds_all = np.concatenate([kinds, np.full(len(catch_subject), "none")])

    left_item = np.where(first_left_all, first_all, second_all)[order]
    right_item = np.where(first_left_all, second_all, first_all)[order]
    first_left_all, first_chosen_all = first_left_all[order], first_chosen_all[order]
    assignment, is_catch, dir_all, query_all, kinds_all = (
        assignment[order],
        is_catch[order],
        dir_all[order],
        query_all[order],
        kinds_all[order],
    )
    chose_left = first_left_all == first_chosen_all
    v2m = dir_all == 0
    preference = ~is_catch

    def kind_of(item: np.ndarray) -> np.ndarray:
        q = query_all
        kind = np.where(item == q, "G", np.where(item == search[q], "S", "R"))
        return np.where(preference, kind, None)

    left_kind, right_kind = kind_of(left_item), kind_of(right_item)
    clip_of = clip_ids
    excerpt_of = excerpt_ids
    query_id = np.where(v2m, clip_of[query_all], excerpt_of[query_all])
    query_label = np.where(
        v2m,
        np.array(latent.scene_names, dtype=object)[mv_scene[query_all]],
        np.array(latent.genre_names, dtype=object)[mv_genre[query_all]],
    )
    query_source = np.where(v2m, video_sources[query_all], music_sources[query_all])

    def option(item: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "id": np.where(v2m, excerpt_of[item], clip_of[item]),
            "label": np.where(
                v2m,
                np.array(latent.genre_names, dtype=object)[mv_genre[item]],
                np.array(latent.scene_names, dtype=object)[mv_scene[item]],
            ),
            "source_id": np.where(v2m, music_sources[item], video_sources[item]),
            # Pairing ids of the preference test: query item x option item, offset past the rating pairings.
            "pairing_id": 1_000_000 + query_all * m + item + 1,
        }

    left, right = option(left_item), option(right_item)
    chosen_kind = np.where(chose_left, left_kind, right_kind)
    has_search = preference & ((left_kind == "S") | (right_kind == "S"))
    total = len(assignment)
    rt = np.rint(rng.lognormal(np.log(3500), 0.5, size=total)).astype(np.int64)
    plays = 2 + rng.poisson(0.3, size=total)
    presented, answered, received = timestamps(rng, assignment, 10_000 + rt, subjects)
    subject_ids = pseudonyms(rng, subjects)
    choices = pd.DataFrame(
        {
            "worker_id": subject_ids[assignment],
            "assignment_id": first_assignment + assignment,
            "experiment_id": experiment_id,
            "trial_index": trial_index,
            "direction": np.where(v2m, "V2M", "M2V"),
            "condition": kinds_all,
            "query_id": query_id,
            "query_label": query_label,
            "query_source_id": query_source,
            **{f"left_{key}": value for key, value in left.items()},
            "left_kind": left_kind,
            **{f"right_{key}": value for key, value in right.items()},
            "right_kind": right_kind,
            "search_source": np.where(has_search, "model:simulated-vmnet@1", None),
            "search_rank": pd.array(np.where(has_search, 1, pd.NA), dtype="Int64"),
            "chosen_side": np.where(chose_left, "left", "right"),
            "chosen_id": np.where(chose_left, left["id"], right["id"]),
            "chosen_kind": chosen_kind,
            "first_preferred": pd.array(np.where(preference, first_chosen_all, pd.NA), dtype="boolean"),
            "rt_ms": rt,
            "play_count": plays,
            "is_catch": is_catch,
            "catch_passed": pd.array(np.where(is_catch, first_chosen_all, pd.NA), dtype="boolean"),
            "presented_at": presented,
            "answered_at": answered,
            "received_at": received,
        }
    )[list(schema.CHOICES)]
    stimuli = pd.concat(
        [
            stimuli_rows(
                "clip", clip_ids, video_sources, np.array(latent.scene_names)[mv_scene], 0.0, ground_truth=excerpt_ids
            ),
            stimuli_rows(
                "excerpt",
                excerpt_ids,
                music_sources,
                np.array(latent.genre_names)[mv_genre],
                0.0,
                ground_truth=clip_ids,
            ),
        ]
    )
    distances = draw_machine_distances(config, rng, choices)
    truth = {
        "p_first_median_subject": config.preference,
        "p_first_expected": {c: expected_pooled_share(p, config.subject_sd) for c, p in config.preference.items()},
        # The same for the subjects actually drawn (what the pooled binomial CI should cover).
        "p_first_realised": {c: float(expit(logit(p) + subject_offset).mean()) for c, p in config.preference.items()},
        "subject_sd": config.subject_sd,
        "subjects": {"worker_id": subject_ids.tolist(), "offset": np.round(subject_offset, 4).tolist()},
        "machine_gr": config.machine_gr,
    }
    return choices, stimuli, distances, truth
