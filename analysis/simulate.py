"""Crowd simulator: synthetic exports from a latent model with known ("planted") structure.

Ratings (Langlois design: every clip x every excerpt, ``ratings_per_pairing`` ratings each):

    fit(v, s)  = A[cluster(v), genre(s)] + scene_shift[scene(v), genre(s)]
                 + video_profile[v, genre(s)] + video_offset[v] + song_offset[s]
    A[c, g]    = B[c, genre_cluster(g)] + small noise          (planted video and genre clusters)
    rating     = clip(round(4 + bias_w + scale_w * (fit + noise)), 1, 7)

Careless workers answer uniformly at random or straight-line one value, answer fast and mostly
fail attention checks. Each repetition ("round") of the design is a random permutation of all
pairings cut into assignments, and every round is served by its own pool of workers, so no worker
ever sees a pairing twice (the platform enforces that too).

Preference test (VM-NET design): subjects answer V2M then M2V questions with G/R/S options;
P(first kind chosen) = expit(logit(p_condition) + u_subject), u_subject ~ N(0, subject_sd), so
``p_condition`` is the median subject's preference; the expected pooled share is stored too.

Plain 2AFC (Langlois' second experiment): a clip and two excerpts; P(left) =
expit(afc_sensitivity * (fit(v, left) - fit(v, right))).

Everything is drawn with numpy in bulk from one seeded generator (Langlois scale, 716,175 rating
rows, takes a few seconds). The planted truth goes into manifest.json under "simulation".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from exportformat import empty_table, schema, write_export
from mvfit_common.files import atomic_write

# (genre, family): calm genres suit nature scenes, energetic ones urban scenes (Langlois Fig. 2), the
# rest leisure scenes. Interleaved by family so that any prefix of the list covers all families.
GENRES = (
    ("classical piano", 0),
    ("heavy metal", 1),
    ("pop", 2),
    ("ambient", 0),
    ("house techno", 1),
    ("funk", 2),
    ("country", 0),
    ("alternative rock", 1),
    ("hip hop", 2),
    ("smooth jazz", 0),
    ("bebop jazz", 1),
    ("reggae", 2),
    ("violin & cello", 0),
    ("punk", 1),
    ("latin", 2),
    ("folk", 0),
    ("drum and bass", 1),
    ("chiptune", 2),
    ("new age", 0),
    ("dubstep", 1),
    ("gospel", 2),
    ("acoustic guitar", 0),
    ("blues", 1),
    ("disco", 2),
    ("opera", 0),
)
GENRE_NAMES = tuple(name for name, _ in GENRES)
# Ordered so that contiguous blocks form the planted video clusters: nature, urban, leisure, ...
SCENE_NAMES = (
    "beach",
    "forest",
    "mountains",
    "city street",
    "machinery",
    "construction",
    "sports",
    "amusement park",
    "ocean",
    "pasture",
    "sunset",
    "airport",
)
EPOCH = np.datetime64("2026-11-01T08:00:00.000", "ms")


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the latent crowd model; defaults make a small, fast, realistic export."""

    videos: int = 60
    songs: int = 30
    ratings_per_pairing: int = 3
    genres: int = 10
    scenes: int = 8
    video_clusters: int = 3
    genre_clusters: int = 3
    affinity_sd: float = 1.0
    scene_sd: float = 0.25
    video_sd: float = 0.3
    video_offset_sd: float = 0.3
    song_offset_sd: float = 0.3
    noise_sd: float = 1.0
    worker_bias_sd: float = 0.6
    worker_scale_sd: float = 0.25
    careless_share: float = 0.05
    trials_per_assignment: int = 50
    catch_per_assignment: int = 2
    assignments_per_worker: float = 4.0
    catch_pass_attentive: float = 0.97
    catch_pass_careless: float = 0.3
    # preference test (VM-NET): 0 subjects switches it off
    pref_subjects: int = 53
    pref_questions: int = 120
    pref_items: int = 200
    p_gr: float = 0.82
    p_gs: float = 0.65
    p_sr: float = 0.73
    subject_sd: float = 0.5
    machine_gr: float = 0.78
    # plain 2AFC (Langlois): 0 trials switches it off
    afc_trials: int = 2_000
    afc_trials_per_assignment: int = 40
    afc_sensitivity: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        positive = ("videos", "songs", "ratings_per_pairing", "genres", "scenes", "video_clusters", "genre_clusters")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.trials_per_assignment < 1 or self.afc_trials_per_assignment < 1:
            raise ValueError("trials per assignment must be at least 1")
        for name in ("careless_share", "catch_pass_attentive", "catch_pass_careless"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability")
        for name in ("p_gr", "p_gs", "p_sr", "machine_gr"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie strictly between 0 and 1")
        if self.pref_subjects and self.pref_questions < 6:
            raise ValueError("pref_questions must be at least 6 (one per condition and direction)")
        if self.pref_subjects and self.pref_items < max(3, -(-self.pref_questions // 2)):
            raise ValueError(
                "pref_items must be at least 3 and at least half of pref_questions: a subject never sees "
                "the same query twice in one direction"
            )
        if self.afc_trials and self.songs < 2:
            raise ValueError("2AFC needs at least two songs")

    @property
    def n_genres(self) -> int:
        return min(self.genres, self.songs)

    @property
    def preference(self) -> dict[str, float]:
        return {"GR": self.p_gr, "GS": self.p_gs, "SR": self.p_sr}


@dataclass
class Simulation:
    ratings: pd.DataFrame
    choices: pd.DataFrame
    stimuli: pd.DataFrame
    machine_distances: pd.DataFrame
    truth: dict[str, Any]
    config: SimulationConfig
    experiments: list[dict[str, Any]] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """What manifest.json says about this export's origin (the writer adds versions, counts, checksums)."""
        return {
            "source": "mvfit simulator",
            "experiments": self.experiments,
            "pseudonymised": True,
            "simulation": {"generator": "analysis.simulate", "config": asdict(self.config), "truth": self.truth},
        }


def _label_names(names: tuple[str, ...], count: int) -> list[str]:
    return [names[i] if i < len(names) else f"{names[i % len(names)]} {i // len(names) + 1}" for i in range(count)]


def pseudonyms(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct worker pseudonyms shaped like the platform's (``W`` + 16 hex digits)."""
    raw = rng.integers(0, 2**63, size=count * 2, dtype=np.int64)
    unique = np.unique(raw)[:count]
    while len(unique) < count:  # collisions among 2**63 values: practically never
        unique = np.unique(np.concatenate([unique, rng.integers(0, 2**63, size=count, dtype=np.int64)]))[:count]
    rng.shuffle(unique)
    return np.array([f"W{value:016x}" for value in unique.astype(np.uint64)], dtype=object)


# ------------------------------------------------------------------------------------- latent model


@dataclass
class Latent:
    fit: np.ndarray  # videos x songs
    video_cluster: np.ndarray
    video_scene: np.ndarray
    song_genre: np.ndarray
    genre_cluster: np.ndarray
    affinity: np.ndarray  # clusters x genres
    scene_names: list[str]
    genre_names: list[str]


def _cluster_profiles(rng: np.random.Generator, clusters: int, genre_clusters: int, sd: float) -> np.ndarray:
    """Cluster x genre-cluster affinities, built so that planted clusters are distinct by construction
    (recovering them is then a question of rating noise, not of luck in the draw):

    * as many video as genre clusters: video cluster c prefers genre cluster c (like Langlois'
      nature scenes preferring calm music), so both clusterings are identifiable;
    * fewer video clusters than genre clusters: mutually uncorrelated (orthogonal after centring)
      video-cluster profiles;
    * otherwise random normal profiles.
    """
    if clusters == genre_clusters and clusters > 1:
        block = np.eye(clusters) - 1 / clusters
        block /= block.std(axis=1, keepdims=True)
        return sd * (block + rng.normal(0, 0.2, size=block.shape))
    raw = rng.normal(0, 1, size=(clusters, genre_clusters))
    if clusters <= genre_clusters - 1:
        centred = raw - raw.mean(axis=1, keepdims=True)
        basis = np.linalg.qr(np.eye(genre_clusters) - 1 / genre_clusters)[0][:, : genre_clusters - 1]
        coordinates = np.linalg.qr((centred @ basis).T)[0].T  # orthonormal rows in the centred subspace
        raw = coordinates @ basis.T * np.sqrt(genre_clusters)
    return sd * raw


def draw_latent(config: SimulationConfig, rng: np.random.Generator) -> Latent:
    g, c = config.n_genres, config.video_clusters
    genre_names = _label_names(GENRE_NAMES, g)
    scene_names = _label_names(SCENE_NAMES, config.scenes)
    families = np.array([family for _, family in GENRES])[np.arange(g) % len(GENRES)]
    genre_cluster = families % min(config.genre_clusters, g)
    if len(np.unique(genre_cluster)) < min(config.genre_clusters, g):  # more genre clusters than families
        genre_cluster = rng.permutation(np.arange(g) % min(config.genre_clusters, g))
    block = _cluster_profiles(rng, c, min(config.genre_clusters, g), config.affinity_sd)
    affinity = block[:, genre_cluster] + rng.normal(0, 0.25 * config.affinity_sd, size=(c, g))
    # Scenes belong to clusters in contiguous blocks (coast scenes to one, urban to another, ...).
    scene_cluster = np.arange(config.scenes) * c // config.scenes
    video_cluster = rng.permutation(np.arange(config.videos) % c)
    video_scene = np.empty(config.videos, dtype=int)
    for cluster in range(c):
        members = np.flatnonzero(video_cluster == cluster)
        scenes = np.flatnonzero(scene_cluster == cluster)
        if len(scenes) == 0:  # more clusters than scenes: share scene labels
            scenes = np.array([cluster % config.scenes])
        video_scene[members] = rng.choice(scenes, size=len(members))
    song_genre = rng.permutation(np.arange(config.songs) % g)
    scene_shift = rng.normal(0, config.scene_sd, size=(config.scenes, g))
    video_profile = rng.normal(0, config.video_sd, size=(config.videos, g))
    fit = (
        affinity[video_cluster][:, song_genre]
        + scene_shift[video_scene][:, song_genre]
        + video_profile[:, song_genre]
        + rng.normal(0, config.video_offset_sd, size=(config.videos, 1))
        + rng.normal(0, config.song_offset_sd, size=(1, config.songs))
    )
    return Latent(fit, video_cluster, video_scene, song_genre, genre_cluster, affinity, scene_names, genre_names)


def _timestamps(
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


def _order_within(rng: np.random.Generator, assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A random presentation order inside each assignment: (row order, trial_index per ordered row)."""
    order = np.lexsort((rng.random(len(assignment)), assignment))
    sorted_assignment = assignment[order]
    first = np.searchsorted(sorted_assignment, sorted_assignment, side="left")
    return order, np.arange(len(order)) - first


def _pick_workers(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """Assign ``count`` assignments to workers of ``pool`` with heavy-tailed productivity (like MTurk)."""
    weights = rng.pareto(1.5, size=len(pool)) + 1
    return rng.choice(pool, size=count, p=weights / weights.sum())


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
        assignment_worker[assignment_round == r] = _pick_workers(rng, pool, per_round)

    n_catch = config.catch_per_assignment * n_assignments
    catch_assignment = np.repeat(np.arange(n_assignments), config.catch_per_assignment)
    all_assignment = np.concatenate([assignment, catch_assignment])
    is_catch = np.concatenate([np.zeros(len(assignment), bool), np.ones(n_catch, bool)])
    all_pairing = np.concatenate([pairing, np.full(n_catch, -1)])
    order, trial_index = _order_within(rng, all_assignment)
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
    presented, answered, received = _timestamps(rng, all_assignment, busy, n_assignments)

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
            "clip_id": pd.array(np.where(is_catch, pd.NA, _clip_id(video)), dtype="Int64"),
            "clip_start_s": np.where(is_catch, np.nan, clip_start[video]),
            "clip_duration_s": np.where(is_catch, np.nan, 5.0),
            "music_id": pd.array(np.where(is_catch, pd.NA, song + 1), dtype="Int64"),
            "genre_label": real(genre_names[latent.song_genre[song]]),
            "excerpt_id": pd.array(np.where(is_catch, pd.NA, _excerpt_id(song)), dtype="Int64"),
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


def _clip_id(video: np.ndarray) -> np.ndarray:
    # Distinct id ranges for clips and excerpts make any mix-up of the two visible in tests.
    return 100_000 + np.asarray(video) + 1


def _excerpt_id(song: np.ndarray) -> np.ndarray:
    return 200_000 + np.asarray(song) + 1


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
    order, trial_index = _order_within_blocks(rng, subject, catch_subject, rows_per_subject)
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
    presented, answered, received = _timestamps(rng, assignment, 10_000 + rt, subjects)
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
            _stimuli_rows(
                "clip", clip_ids, video_sources, np.array(latent.scene_names)[mv_scene], 0.0, ground_truth=excerpt_ids
            ),
            _stimuli_rows(
                "excerpt",
                excerpt_ids,
                music_sources,
                np.array(latent.genre_names)[mv_genre],
                0.0,
                ground_truth=clip_ids,
            ),
        ]
    )
    distances = _machine_distances(config, rng, choices)
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


def _order_within_blocks(
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


def _machine_distances(config: SimulationConfig, rng: np.random.Generator, choices: pd.DataFrame) -> pd.DataFrame:
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
    assignment_worker = _pick_workers(rng, np.arange(n_workers), n_assignments)
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
    order, trial_index = _order_within(rng, assignment)
    video, left, right, chose_left, assignment, worker, is_catch, passed = (
        a[order] for a in (video, left, right, chose_left, assignment, worker, is_catch, passed)
    )
    rt = np.rint(rng.lognormal(np.log(3000), 0.5, size=n)).astype(np.int64)
    plays = 2 + rng.poisson(0.2, size=n)
    presented, answered, received = _timestamps(rng, assignment, 10_000 + rt, n_assignments)
    worker_ids = pseudonyms(rng, n_workers)
    genre = np.array(latent.genre_names, dtype=object)[latent.song_genre]
    scene = np.array(latent.scene_names, dtype=object)[latent.video_scene]

    def option(song: np.ndarray) -> dict[str, object]:
        return {
            "id": _excerpt_id(song),
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
            "query_id": _clip_id(video),
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
        "excerpt_appeal": {int(_excerpt_id(s)): round(float(v), 4) for s, v in enumerate(song_appeal)},
    }
    return choices, truth


def _stimuli_rows(
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


def simulate(config: SimulationConfig, *, ratings: bool = True) -> Simulation:
    """Draw a complete synthetic study from ``config`` (deterministic given ``config.seed``)."""
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
        _stimuli_rows(
            "clip",
            _clip_id(np.arange(config.videos)),
            np.arange(config.videos) + 1,
            np.array(latent.scene_names)[latent.video_scene],
            clip_start,
        ),
        _stimuli_rows(
            "excerpt",
            _excerpt_id(np.arange(config.songs)),
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
        tables={"ratings": simulation.ratings, "choices": simulation.choices, "stimuli": simulation.stimuli},
        provenance=simulation.provenance(),
        parquet=parquet,
    ).directory
    if machine_distances and not simulation.machine_distances.empty:
        with atomic_write(root / "machine_distances.csv") as tmp:
            simulation.machine_distances.to_csv(tmp, index=False, lineterminator="\n")
    return root
