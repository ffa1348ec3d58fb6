"""Planted 2AFC crowds: choices in the export format whose reliability and truth are known.

The study simulator (:mod:`analysis.simulate`) draws a whole study from a latent fit model; it never
repeats an item within a subject and every attentive worker answers the same way. The two questions
of docs/analysis.md § "2AFC agreement and noise ceiling" and § "Truth inference" need more control:

* items shown to one subject twice, sides swapped (test-retest), and to several subjects (agreement);
* workers with planted reliabilities, including spammers who answer at random, always pick the left
  option or choose the worse one - so that truth inference can be scored against a known answer.

Model. Item ``i`` has a true option ``T_i`` (the one the population prefers) and an easiness
``e_i`` in (0, 1] (``difficulty_share`` of items are hard, ``e_i ~ U(0, 1)``; the rest have ``e_i = 1``).
Worker ``w`` has a planted accuracy ``a_w`` (uniform in ``accuracy``). An attentive worker chooses
``T_i`` with probability

    q_wi = expit(logit(0.5 + (a_w - 0.5) · e_i) + u_wi),   u_wi ~ N(0, idiosyncrasy_sd)

where ``u_wi`` is the worker's own, *persistent* taste for that item: it is the same when the item
comes back, so within-subject consistency exceeds between-subject agreement when it is non-zero.
Spammers choose at random (``q = ½``), always the left side, or are ``reversed``: they read the
instruction the wrong way round and choose the worse option (``q = 1 - q_honest``). Each item is answered by
``answers_per_item`` distinct workers; a share ``repeat_share`` of those answers is asked again later
in the same assignment with the sides swapped.

The truth dictionary holds, besides the planted labels and accuracies, the *expected values of the
estimators* of :mod:`analysis.agreement` given the drawn ``q_wi`` (so tests compare like with like)
and the ceiling ``mean_i max(p̄_i, 1 - p̄_i)`` with ``p̄_i`` the mean of ``q_wi`` over all
workers; ``population`` holds the same three quantities for *new* workers on these items (Monte
Carlo over 2,000 fresh workers) - what a bootstrap over subjects is about.

Ids follow the simulator's ranges (clips from 100,001, excerpts from 200,001); pseudonyms come from
:func:`analysis.simulate.pseudonyms`. The frame goes through :func:`exportformat.prepare_table`, so it is a
valid ``choices`` table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from analysis.simulate import EPOCH, pseudonyms
from exportformat import prepare_table, schema

SPAMMER_KINDS = ("random", "left", "reversed")


@dataclass(frozen=True)
class PlantedCrowd:
    items: int = 300
    workers: int = 60
    answers_per_item: int = 5
    accuracy: tuple[float, float] = (0.65, 0.95)
    spammer_share: float = 0.0
    spammer_kind: str = "random"
    difficulty_share: float = 0.0
    idiosyncrasy_sd: float = 0.0
    repeat_share: float = 0.0
    clips: int = 40
    excerpts: int = 30
    experiment_id: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.items < 1 or self.workers < 2:
            raise ValueError("a planted crowd needs at least one item and two workers")
        if not 1 <= self.answers_per_item <= self.workers:
            raise ValueError("answers_per_item must be between 1 and the number of workers")
        low, high = self.accuracy
        if not 0 <= low <= high <= 1:
            raise ValueError("accuracy must be a range (low, high) within 0..1")
        for name in ("spammer_share", "difficulty_share", "repeat_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within 0..1")
        if self.spammer_kind not in SPAMMER_KINDS:
            raise ValueError(f"spammer_kind must be one of {SPAMMER_KINDS}")
        if self.idiosyncrasy_sd < 0:
            raise ValueError("idiosyncrasy_sd must be >= 0")
        if self.clips < 1 or self.excerpts < 2:
            raise ValueError("a planted crowd needs at least one clip and two excerpts")


def _pair_agreement(q: np.ndarray) -> tuple[float, int]:
    """Sum over unordered pairs of P(agree) = q_s q_t + (1 - q_s)(1 - q_t), and the number of pairs."""
    n = len(q)
    if n < 2:
        return 0.0, 0
    total, squares = q.sum(), (q**2).sum()
    both_true = (total**2 - squares) / 2
    r = 1 - q
    both_false = (r.sum() ** 2 - (r**2).sum()) / 2
    return float(both_true + both_false), n * (n - 1) // 2


def _choice_probabilities(
    config: PlantedCrowd, rng: np.random.Generator, easiness: np.ndarray, n_workers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Workers' planted accuracies, spammer flags and q = P(choose the true option) (workers x items)."""
    low, high = config.accuracy
    accuracy = rng.uniform(low, high, size=n_workers)
    spammer = rng.random(n_workers) < config.spammer_share
    base = 0.5 + (accuracy[:, None] - 0.5) * easiness[None, :]
    base = np.clip(base, 1e-6, 1 - 1e-6)
    taste = rng.normal(0, config.idiosyncrasy_sd, size=base.shape) if config.idiosyncrasy_sd else 0.0
    q = expit(logit(base) + taste)
    if config.spammer_kind == "reversed":
        q[spammer] = 1 - q[spammer]  # read the instruction the wrong way round: prefers the worse fit
    else:
        q[spammer] = 0.5  # a left-picker is right half the time too, sides being random
    return accuracy, spammer, q


def _population(config: PlantedCrowd, easiness: np.ndarray, *, workers: int = 2_000) -> dict[str, float]:
    """What the estimators target for *new* subjects on these items (Monte Carlo over fresh workers)."""
    rng = np.random.default_rng([config.seed, 1])
    _, spammer, q = _choice_probabilities(config, rng, easiness, workers)
    retest = q**2 + (1 - q) ** 2
    if config.spammer_kind == "left":
        retest[spammer] = 0.0
    p = q.mean(axis=0)
    return {
        "test_retest": float(retest.mean()),
        "between": float((p**2 + (1 - p) ** 2).mean()),
        "ceiling": float(np.maximum(p, 1 - p).mean()),
    }


def planted_choices(config: PlantedCrowd, *, scores: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A ``choices`` table (plain 2AFC, V2M, no catch trials) and the planted truth.

    ``scores`` (clips x excerpts), if given, makes the truth a function of the stimuli: the true option
    is the excerpt that scores higher with the clip (so a model of the stimuli can learn it);
    otherwise it is drawn at random per item.
    """
    rng = np.random.default_rng(config.seed)
    if scores is not None and np.shape(scores) != (config.clips, config.excerpts):
        raise ValueError(f"scores must have shape (clips, excerpts) = ({config.clips}, {config.excerpts})")
    n_items, n_workers, k = config.items, config.workers, config.answers_per_item
    pair_a, pair_b = np.triu_indices(config.excerpts, k=1)
    space = config.clips * len(pair_a)
    if n_items > space:
        raise ValueError(f"only {space} distinct (clip, excerpt pair) items exist: raise clips or excerpts")
    drawn = rng.choice(space, size=n_items, replace=False)
    clip, option_a, option_b = drawn // len(pair_a), pair_a[drawn % len(pair_a)], pair_b[drawn % len(pair_a)]
    true_is_a = rng.random(n_items) < 0.5
    if scores is not None:
        score_a, score_b = scores[clip, option_a], scores[clip, option_b]
        true_is_a = np.where(score_a == score_b, true_is_a, score_a > score_b)
    easiness = np.where(rng.random(n_items) < config.difficulty_share, rng.random(n_items), 1.0)
    accuracy, spammer, q = _choice_probabilities(config, rng, easiness, config.workers)

    # Each item: k distinct workers; some answers repeat later with the sides swapped.
    worker = np.concatenate([rng.choice(n_workers, size=k, replace=False) for _ in range(n_items)])
    item = np.repeat(np.arange(n_items), k)
    repeat = rng.random(len(item)) < config.repeat_share
    truth_left = rng.random(len(item)) < 0.5
    rows_item = np.concatenate([item, item[repeat]])
    rows_worker = np.concatenate([worker, worker[repeat]])
    rows_truth_left = np.concatenate([truth_left, ~truth_left[repeat]])
    rows_second = np.concatenate([np.zeros(len(item), bool), np.ones(int(repeat.sum()), bool)])
    # A worker's taste is persistent: both presentations use the same q_wi.
    chose_truth = rng.random(len(rows_item)) < q[rows_worker, rows_item]
    chose_left = np.where(rows_truth_left, chose_truth, ~chose_truth)
    left_spammer = spammer[rows_worker] & (config.spammer_kind == "left")
    chose_left = np.where(left_spammer, True, chose_left)

    true_option = np.where(true_is_a, option_a, option_b)
    other_option = np.where(true_is_a, option_b, option_a)
    left = np.where(rows_truth_left, true_option[rows_item], other_option[rows_item])
    right = np.where(rows_truth_left, other_option[rows_item], true_option[rows_item])

    # One assignment per worker; repeats come after every first presentation ("far apart").
    order = np.lexsort((rng.random(len(rows_item)), rows_second, rows_worker))
    rows_item, rows_worker, left, right, chose_left, rows_second = (
        a[order] for a in (rows_item, rows_worker, left, right, chose_left, rows_second)
    )
    start = np.searchsorted(rows_worker, rows_worker, side="left")
    trial_index = np.arange(len(rows_item)) - start
    worker_ids = pseudonyms(rng, n_workers)
    received = (
        EPOCH + (rows_worker * 3_600_000).astype("timedelta64[ms]") + (trial_index * 8_000).astype("timedelta64[ms]")
    )
    excerpt_id = 200_000 + 1 + np.arange(config.excerpts)
    left_id, right_id = excerpt_id[left], excerpt_id[right]
    choices = pd.DataFrame(
        {
            "worker_id": worker_ids[rows_worker],
            "assignment_id": rows_worker + 1,
            "experiment_id": config.experiment_id,
            "trial_index": trial_index,
            "direction": "V2M",
            "condition": schema.PLAIN_CONDITION,
            "query_id": 100_000 + 1 + clip[rows_item],
            "query_label": "planted",
            "query_source_id": clip[rows_item] + 1,
            "left_id": left_id,
            "left_label": "planted",
            "left_source_id": left + 1,
            "left_kind": None,
            "left_pairing_id": None,
            "right_id": right_id,
            "right_label": "planted",
            "right_source_id": right + 1,
            "right_kind": None,
            "right_pairing_id": None,
            "search_source": None,
            "search_rank": None,
            "chosen_side": np.where(chose_left, "left", "right"),
            "chosen_id": np.where(chose_left, left_id, right_id),
            "chosen_kind": None,
            "first_preferred": None,
            "rt_ms": 3_000,
            "play_count": 2,
            "is_catch": False,
            "catch_passed": None,
            "presented_at": received - np.timedelta64(3_500, "ms"),
            "answered_at": received - np.timedelta64(100, "ms"),
            "received_at": received,
        }
    )
    choices = prepare_table(choices[list(schema.CHOICES)], schema.CHOICES)

    # Expected values of the agreement estimators given the drawn q (left-pickers: see below).
    q_eff = q.copy()
    retest_q = q[worker[repeat], item[repeat]]
    retest_expected = retest_q**2 + (1 - retest_q) ** 2
    # A left-picker shown the item again with the sides swapped always picks the *other* option.
    retest_expected = np.where(spammer[worker[repeat]] & (config.spammer_kind == "left"), 0.0, retest_expected)
    agree, pairs = 0.0, 0
    for i in range(n_items):
        a, p = _pair_agreement(q_eff[worker[item == i], i])
        agree, pairs = agree + a, pairs + p
    population = q.mean(axis=0)
    truth = {
        "config": asdict(config),
        "items": pd.DataFrame(
            {
                "query_id": 100_000 + 1 + clip,
                "a_id": excerpt_id[option_a],
                "b_id": excerpt_id[option_b],
                "true_id": excerpt_id[true_option],
                "easiness": easiness,
                "p_true": population,
            }
        ),
        "workers": pd.DataFrame({"worker_id": worker_ids, "accuracy": accuracy, "spammer": spammer}),
        "expected_test_retest": float(retest_expected.mean()) if len(retest_expected) else float("nan"),
        "expected_between": agree / pairs if pairs else float("nan"),
        "ceiling": float(np.maximum(population, 1 - population).mean()),
        "population": _population(config, easiness),
    }
    return choices, truth
