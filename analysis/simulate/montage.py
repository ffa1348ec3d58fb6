"""A montage study (issue 16, docs/montage.md): songs, montages of kinds G / S (per model) / R / anti with
planted system strengths, workers with their own tastes, counterbalanced pairs, ratings and catch trials.

The planted model (Bradley-Terry with worker effects)::

    P(worker w prefers montage a over b) = expit(theta[a] - theta[b] + u[w, a] - u[w, b] + side[w] * (+1 left, -1 right))
    rating(w, a) = clip(round(4 + bias[w] + rating_scale * (theta[a] + u[w, a]) + noise), 1, 7)

``theta`` is the system's strength (``MontageConfig.strengths``), ``u[w, s] ~ N(0, worker_sd)`` each
worker's own taste for a system — the source of within-worker correlation that a pooled test ignores —
and ``side[w] ~ N(0, side_sd)`` a left/right bias that counterbalancing cancels. Careless workers
(``careless_share``) answer at random and pass catch trials with ``catch_pass_careless``.

Design: each worker judges ``pairs_per_worker`` pairs; the pairs of systems cycle through every
unordered pair (a balanced incomplete design), each on a song drawn at random, the sides
counterbalanced (a worker sees each pair's two orders equally often, up to one). ``catch_per_worker``
catch trials (expected answer known: the real video against a black screen) are mixed in.

:func:`draw_montage_choices` is the vectorised core (``studies`` independent studies at once); the
calibration test and :func:`simulate_montage_study` (one study, export tables) both use it.
:func:`write_model_registry` writes a models directory (docs/retrieval.md layout) whose rankings have
planted recall, for the retrieval-metrics side of the analysis.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.simulate.config import EPOCH, pseudonyms
from analysis.simulate.crowd import timestamps
from exportformat import schema
from mvfit_common.files import atomic_write

MONTAGE_ID_BASE = 500_000
LIBRARY_CLIP_BASE = 600_000
LIBRARY_EXCERPT_BASE = 700_000


@dataclass(frozen=True)
class MontageConfig:
    """Parameters of a simulated montage study. Systems are G, each model (kind S), R and anti."""

    songs: int = 12
    workers: int = 40
    pairs_per_worker: int = 30
    ratings_per_worker: int = 8
    catch_per_worker: int = 2
    models: tuple[str, ...] = ("seg-vmnet@1", "vmnet@1")
    model_strengths: tuple[float, ...] = (0.6, 0.2)
    g_strength: float = 1.0
    r_strength: float = 0.0
    anti_strength: float = -0.6
    worker_sd: float = 0.5
    side_sd: float = 0.3
    rating_scale: float = 1.0
    rating_noise_sd: float = 1.0
    careless_share: float = 0.05
    catch_pass_attentive: float = 0.97
    catch_pass_careless: float = 0.3
    library_pairs: int = 40
    model_recall: tuple[float, ...] = (0.5, 0.2)

    def __post_init__(self) -> None:
        if self.songs < 1 or self.workers < 1 or self.pairs_per_worker < 1:
            raise ValueError("songs, workers and pairs_per_worker must be at least 1")
        if self.ratings_per_worker < 0 or self.catch_per_worker < 0:
            raise ValueError("ratings_per_worker and catch_per_worker must be >= 0")
        if len(self.models) != len(self.model_strengths) or len(self.models) != len(self.model_recall):
            raise ValueError("models, model_strengths and model_recall must have the same length")
        if len(set(self.models)) != len(self.models):
            raise ValueError("model names must be distinct")
        for name in self.models:
            if name.count("@") != 1 or not all(name.split("@")):
                raise ValueError(f"model {name!r} is not NAME@VERSION")
        for name in ("careless_share", "catch_pass_attentive", "catch_pass_careless"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability")
        if any(not 0 <= r <= 1 for r in self.model_recall):
            raise ValueError("model_recall must be probabilities")

    @property
    def systems(self) -> tuple[str, ...]:
        """System labels in planted order: G, the models, R, anti (the analysis labels them the same way)."""
        return ("G", *self.models, "R", "anti")

    @property
    def kinds(self) -> tuple[str, ...]:
        return ("G", *("S" for _ in self.models), "R", "anti")

    @property
    def strengths(self) -> np.ndarray:
        return np.array([self.g_strength, *self.model_strengths, self.r_strength, self.anti_strength], dtype=float)


def all_pairs(n_systems: int) -> np.ndarray:
    """Every unordered pair (i < j) of systems, (pairs x 2)."""
    i, j = np.triu_indices(n_systems, k=1)
    return np.stack([i, j], axis=1)


def draw_montage_choices(config: MontageConfig, rng: np.random.Generator, studies: int = 1) -> dict[str, np.ndarray]:
    """Draw the non-catch pair judgments of ``studies`` independent studies at once.

    Returns arrays of shape (studies, workers * pairs_per_worker), rows grouped by worker:
    ``worker`` (index), ``song``, ``left``/``right`` (system indices), ``left_chosen`` (bool), plus
    ``careless`` (studies, workers).
    """
    s, w, t = studies, config.workers, config.pairs_per_worker
    pairs = all_pairs(len(config.systems))
    # Each worker starts the cycle of pairs at a random place: balanced across workers and pairs.
    start = rng.integers(0, len(pairs), size=(s, w, 1))
    pair = (start + np.arange(t)[None, None, :]) % len(pairs)
    # Counterbalanced sides: the n-th time a worker sees a pair, it is flipped when n is odd; the
    # first orientation is random.
    occurrence = np.arange(t)[None, None, :] // len(pairs)
    flip = (occurrence + rng.integers(0, 2, size=(s, w, 1))) % 2 == 1
    a, b = pairs[pair, 0], pairs[pair, 1]
    left = np.where(flip, b, a)
    right = np.where(flip, a, b)
    taste = rng.normal(0, config.worker_sd, size=(s, w, len(config.systems)))
    side = rng.normal(0, config.side_sd, size=(s, w, 1))
    theta = config.strengths
    ws = np.arange(s)[:, None, None]
    ww = np.arange(w)[None, :, None]
    eta = theta[left] - theta[right] + taste[ws, ww, left] - taste[ws, ww, right] + side
    careless = rng.random((s, w)) < config.careless_share
    p_left = np.where(careless[:, :, None], 0.5, expit(eta))
    left_chosen = rng.random((s, w, t)) < p_left
    # A repeated pair is shown on another song (no worker judges the same two montages twice while
    # the songs last): song = a random start per worker and pair, moved on by one per repetition.
    song_start = rng.integers(0, config.songs, size=(s, w, len(pairs)))
    song = (np.take_along_axis(song_start, pair, axis=2) + occurrence) % config.songs
    worker = np.broadcast_to(np.arange(w)[None, :, None], (s, w, t))
    flat = {
        "worker": worker,
        "song": song,
        "left": left,
        "right": right,
        "left_chosen": left_chosen,
    }
    out = {key: value.reshape(s, w * t) for key, value in flat.items()}
    out["careless"] = careless
    out["taste"] = taste
    return out


def montage_id(song: np.ndarray, system: np.ndarray, n_systems: int) -> np.ndarray:
    return MONTAGE_ID_BASE + np.asarray(song) * n_systems + np.asarray(system) + 1


def simulate_montage_study(
    config: MontageConfig,
    rng: np.random.Generator,
    *,
    experiment_id: int,
    first_assignment: int,
    song_labels: list[str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """One montage study as export tables (``montages``, ``montage_choices``, ``montage_ratings``,
    ``stimuli`` of the retrieval library) and its planted truth for ``manifest.json``."""
    systems, kinds, n_sys = config.systems, config.kinds, len(config.systems)
    drawn = draw_montage_choices(config, rng, studies=1)
    worker, song = drawn["worker"][0], drawn["song"][0]
    left, right, left_chosen = drawn["left"][0], drawn["right"][0], drawn["left_chosen"][0]
    careless = drawn["careless"][0]
    taste = drawn["taste"][0]
    w = config.workers
    worker_ids = pseudonyms(rng, w)

    # Montages: every song x every system.
    song_grid = np.repeat(np.arange(config.songs), n_sys)
    system_grid = np.tile(np.arange(n_sys), config.songs)
    kind_grid = np.array(kinds, dtype=object)[system_grid]
    model_grid = np.array([None, *config.models, None, None], dtype=object)[system_grid]
    strategy = {"G": "original", "S": "nearest", "R": "random", "anti": "farthest"}
    is_g = kind_grid == "G"
    durations = np.round(rng.uniform(150, 260, size=config.songs), 3)
    n_segments = rng.integers(40, 90, size=len(song_grid))
    mean_distance = np.where(
        kind_grid == "anti", rng.uniform(1.1, 1.5, len(song_grid)), rng.uniform(0.3, 0.9, len(song_grid))
    )
    ids = montage_id(song_grid, system_grid, n_sys)
    labels = song_labels or [f"genre {g % 5 + 1}" for g in range(config.songs)]
    montages = pd.DataFrame(
        {
            "montage_id": ids,
            "song_id": song_grid + 1,
            "song_title": [f"Simulated song {i + 1}" for i in song_grid],
            "genre_label": np.array(labels, dtype=object)[song_grid % len(labels)],
            "kind": kind_grid,
            "model": model_grid,
            "strategy": [strategy[k] for k in kind_grid],
            "segments": np.where(is_g, None, "beats:4"),
            "seed": pd.array(np.where(is_g, pd.NA, 0), dtype="Int64"),
            "n_segments": pd.array(np.where(is_g, pd.NA, n_segments), dtype="Int64"),
            "duration_s": durations[song_grid],
            "mean_distance": np.where(is_g, np.nan, np.round(mean_distance, 4)),
            "provenance_sha256": [None if g else f"{rng.integers(0, 2**63):016x}" * 4 for g in is_g],
            "file": [f"simulated/montages/{i}.mp4" for i in ids],
        }
    )

    # Catch trials: the real video against a black screen (expected: the video).
    c = config.catch_per_worker
    catch_worker = np.repeat(np.arange(w), c)
    pass_rate = np.where(careless[catch_worker], config.catch_pass_careless, config.catch_pass_attentive)
    catch_passed = rng.random(len(catch_worker)) < pass_rate
    catch_left_expected = rng.random(len(catch_worker)) < 0.5
    catch_chose_left = catch_left_expected == catch_passed

    n_pairs = len(worker)
    all_worker = np.concatenate([worker, catch_worker])
    is_catch = np.concatenate([np.zeros(n_pairs, bool), np.ones(len(catch_worker), bool)])
    # Order: catch trials at random places within each worker's block.
    position = np.concatenate(
        [np.tile(np.arange(config.pairs_per_worker), w), rng.uniform(0, config.pairs_per_worker, len(catch_worker))]
    )
    order = np.lexsort((position, all_worker))
    all_worker, is_catch = all_worker[order], is_catch[order]
    pad = np.full(len(catch_worker), -1)
    song_all = np.concatenate([song, pad])[order]
    left_all = np.concatenate([left, pad])[order]
    right_all = np.concatenate([right, pad])[order]
    chose_left = np.concatenate([left_chosen, catch_chose_left])[order]
    catch_ok = np.concatenate([np.zeros(n_pairs, bool), catch_passed])[order]
    first = np.searchsorted(all_worker, all_worker, side="left")
    trial_index = np.arange(len(all_worker)) - first

    left_id = np.where(is_catch, -1, montage_id(song_all, left_all, n_sys))
    right_id = np.where(is_catch, -1, montage_id(song_all, right_all, n_sys))
    kinds_arr = np.array(kinds, dtype=object)
    models_arr = np.array([None, *config.models, None, None], dtype=object)
    rt = np.rint(rng.lognormal(np.log(4000), 0.5, size=len(all_worker))).astype(np.int64)
    careless_rows = careless[all_worker]
    rt = np.where(careless_rows, np.rint(rng.uniform(100, 400, len(all_worker))).astype(np.int64), rt)
    plays = 2 + rng.poisson(0.2, size=len(all_worker))
    presented, answered, received = timestamps(rng, all_worker, 60_000 + rt, w)

    def nullable_int(values: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.array(np.where(is_catch, pd.NA, values), dtype="Int64")

    def nullable_obj(values: np.ndarray) -> np.ndarray:
        return np.where(is_catch, None, values)

    chosen = np.where(chose_left, left_id, right_id)
    choices = pd.DataFrame(
        {
            "worker_id": worker_ids[all_worker],
            "assignment_id": first_assignment + all_worker,
            "experiment_id": experiment_id,
            "trial_index": trial_index,
            "song_id": nullable_int(song_all + 1),
            "left_montage_id": nullable_int(left_id),
            "left_kind": nullable_obj(kinds_arr[left_all]),
            "left_model": nullable_obj(models_arr[left_all]),
            "right_montage_id": nullable_int(right_id),
            "right_kind": nullable_obj(kinds_arr[right_all]),
            "right_model": nullable_obj(models_arr[right_all]),
            "chosen_side": np.where(chose_left, "left", "right"),
            "chosen_montage_id": nullable_int(chosen),
            "rt_ms": rt,
            "play_count": plays,
            "is_catch": is_catch,
            "catch_passed": pd.array(np.where(is_catch, catch_ok, pd.NA), dtype="boolean"),
            "presented_at": presented,
            "answered_at": answered,
            "received_at": received,
        }
    )[list(schema.MONTAGE_CHOICES)]

    ratings = _ratings(config, rng, worker_ids, careless, taste, experiment_id, first_assignment + w)
    stimuli = _library(config, rng)
    truth = {
        "config": asdict(config),
        "systems": list(systems),
        "kinds": list(kinds),
        "strengths": config.strengths.round(6).tolist(),
        "worker_sd": config.worker_sd,
        "side_sd": config.side_sd,
        "careless_workers": worker_ids[careless].tolist(),
        "model_recall": dict(zip(config.models, config.model_recall, strict=True)),
    }
    tables = {"montages": montages, "montage_choices": choices, "montage_ratings": ratings, "stimuli": stimuli}
    return tables, truth


def _ratings(
    config: MontageConfig,
    rng: np.random.Generator,
    worker_ids: np.ndarray,
    careless: np.ndarray,
    taste: np.ndarray,
    experiment_id: int,
    first_assignment: int,
) -> pd.DataFrame:
    n_sys = len(config.systems)
    k = config.ratings_per_worker
    if k == 0:
        from exportformat import empty_table

        return empty_table("montage_ratings")
    w = config.workers
    worker = np.repeat(np.arange(w), k)
    # Systems cycle within a worker so each rates every system about equally often.
    system = (rng.integers(0, n_sys, size=w)[worker] + np.tile(np.arange(k), w)) % n_sys
    # distinct (song, system) per worker while the songs last
    song = (rng.integers(0, config.songs, size=w)[worker] + np.tile(np.arange(k), w)) % config.songs
    bias = rng.normal(0, 0.6, size=w)
    latent = config.strengths[system] + taste[worker, system]
    value = 4 + bias[worker] + config.rating_scale * latent + rng.normal(0, config.rating_noise_sd, len(worker))
    value = np.where(careless[worker], rng.integers(1, 8, len(worker)), np.rint(value))
    rating = np.clip(value, 1, 7).astype(np.int64)
    # ``catch_per_worker`` instruction checks per worker ("please answer 5").
    catch_worker = np.repeat(np.arange(w), config.catch_per_worker)
    pass_rate = np.where(careless[catch_worker], config.catch_pass_careless, config.catch_pass_attentive)
    catch_ok = rng.random(len(catch_worker)) < pass_rate
    catch_rating = np.where(catch_ok, 5, rng.choice([1, 2, 3, 4, 6, 7], size=len(catch_worker)))
    all_worker = np.concatenate([worker, catch_worker])
    is_catch = np.concatenate([np.zeros(len(worker), bool), np.ones(len(catch_worker), bool)])
    position = np.concatenate([np.tile(np.arange(k), w), rng.uniform(0, k, len(catch_worker))])
    order = np.lexsort((position, all_worker))
    all_worker, is_catch = all_worker[order], is_catch[order]
    system_all = np.concatenate([system, np.zeros(len(catch_worker), int)])[order]
    song_all = np.concatenate([song, np.zeros(len(catch_worker), int)])[order]
    rating_all = np.concatenate([rating, catch_rating])[order]
    ok_all = np.concatenate([np.zeros(len(worker), bool), catch_ok])[order]
    first = np.searchsorted(all_worker, all_worker, side="left")
    rt = np.rint(rng.lognormal(np.log(3000), 0.5, size=len(all_worker))).astype(np.int64)
    presented, answered, received = timestamps(rng, all_worker, 60_000 + rt, w)
    kinds = np.array(config.kinds, dtype=object)
    models = np.array([None, *config.models, None, None], dtype=object)
    return pd.DataFrame(
        {
            "worker_id": worker_ids[all_worker],
            "assignment_id": first_assignment + all_worker,
            "experiment_id": experiment_id,
            "trial_index": np.arange(len(all_worker)) - first,
            "montage_id": pd.array(np.where(is_catch, pd.NA, montage_id(song_all, system_all, n_sys)), dtype="Int64"),
            "song_id": pd.array(np.where(is_catch, pd.NA, song_all + 1), dtype="Int64"),
            "kind": np.where(is_catch, None, kinds[system_all]),
            "model": np.where(is_catch, None, models[system_all]),
            "rating": rating_all,
            "rt_ms": rt,
            "play_count": 2 + rng.poisson(0.2, size=len(all_worker)),
            "is_catch": is_catch,
            "catch_passed": pd.array(np.where(is_catch, ok_all, pd.NA), dtype="boolean"),
            "presented_at": presented,
            "answered_at": answered,
            "received_at": received,
        }
    )[list(schema.MONTAGE_RATINGS)]


def _library(config: MontageConfig, rng: np.random.Generator) -> pd.DataFrame:
    """The retrieval library: ``library_pairs`` music videos, each a clip and its true excerpt."""
    from analysis.simulate.crowd import stimuli_rows

    m = config.library_pairs
    clips = LIBRARY_CLIP_BASE + np.arange(m) + 1
    excerpts = LIBRARY_EXCERPT_BASE + np.arange(m) + 1
    return pd.concat(
        [
            stimuli_rows(
                "clip", clips, 9_000 + np.arange(m) + 1, np.full(m, "music video"), 0.0, ground_truth=excerpts
            ),
            stimuli_rows("excerpt", excerpts, 9_000 + np.arange(m) + 1, np.full(m, "song"), 0.0, ground_truth=clips),
        ],
        ignore_index=True,
    )


def write_model_registry(
    models_dir: str | Path, config: MontageConfig, stimuli: pd.DataFrame, *, seed: int = 0
) -> list[Path]:
    """Publish each simulated model into ``models_dir/<name>/<version>/`` (docs/retrieval.md layout).

    Rankings rank every clip of ``stimuli`` (with a ground truth) against every such excerpt and back;
    a model with ``model_recall`` r puts the true partner first for a share r of queries (planted
    R@1), the rest at random. Returns the version directories written.
    """
    rng = np.random.default_rng(seed)
    paired = stimuli[stimuli["ground_truth_id"].notna()]
    clips = paired.loc[paired["item_kind"] == "clip", ["item_id", "ground_truth_id"]].to_numpy(dtype=np.int64)
    excerpts = paired.loc[paired["item_kind"] == "excerpt", ["item_id", "ground_truth_id"]].to_numpy(dtype=np.int64)
    written = []
    for model, recall in zip(config.models, config.model_recall, strict=True):
        name, version = model.split("@")
        rows = []
        for kind, queries, candidates in (("clip", clips, excerpts[:, 0]), ("excerpt", excerpts, clips[:, 0])):
            n = len(candidates)
            scores = rng.random((len(queries), n))
            truth = queries[:, 1][:, None] == candidates[None, :]
            hit = rng.random(len(queries)) < recall
            scores = np.where(truth, np.where(hit[:, None], 2.0, scores), scores)
            order = np.argsort(-scores, axis=1, kind="stable")
            for q in range(len(queries)):
                for r, c in enumerate(order[q]):
                    rows.append(
                        (kind, int(queries[q, 0]), int(candidates[c]), r + 1, round(float(scores[q, c]) - 2, 6))
                    )
        directory = Path(models_dir) / name / version
        directory.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(rows, columns=["query_kind", "query_id", "candidate_id", "rank", "score"])
        frame["model_version"] = f"simulated:{model}"
        with atomic_write(directory / "rankings.csv") as tmp:
            frame.to_csv(tmp, index=False, lineterminator="\n")
        manifest = {
            "format": "mvfit-model",
            "format_version": 1,
            "name": name,
            "version": version,
            "model_version": f"simulated:{model}",
            "level": "clip",
            "ranking": "simulated",
            "published_at": str(EPOCH),
        }
        with atomic_write(directory / "model.json") as tmp:
            tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        written.append(directory)
    return written
