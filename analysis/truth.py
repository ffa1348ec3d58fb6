"""Truth inference: one label per item, with a confidence, from many workers' noisy answers.

Models (all through crowd-kit, https://github.com/Toloka/crowd-kit):

* ``mv`` — majority vote, the baseline; the confidence is the winning share of answers;
* ``ds`` — Dawid & Skene (1979): each worker has a confusion matrix (P(answer | true label)), fitted by
  EM together with the label posteriors, so a worker who answers at random gets a flat confusion
  matrix and no say;
* ``glad`` — Whitehill et al. (2009): P(correct) = sigmoid(alpha_worker * beta_item) with a worker ability alpha
  (negative for an adversary) and an item easiness beta > 0.

Inputs (the export format, docs/export-format.md):

* ``choices`` (2AFC and preference): an item is the comparison (experiment, direction, condition,
  query, unordered option pair; see :mod:`analysis.agreement`). The crowd label is ``a`` (the lower
  option id was chosen) or ``b``, so answers shown with swapped sides count for the same option.
* ``ratings``: an item is the pairing. ``binary`` maps 5-7 to ``fit`` and 1-3 to ``poor``; a 4
  ("neither") carries no vote and is dropped (and counted). ``ordinal`` infers one of the seven
  rating values (DS and GLAD then treat them as categories, the expected rating is given as well).

Output: one row per item with the inferred label, its posterior ``confidence`` and the number of
answers; for choices also ``p_a`` = P(option a is the population's choice), which training uses as
a soft target (docs/training.md). Ties (posterior exactly ½) are broken by a seeded coin.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.agreement import ITEM_KEY, aligned_answers

METHODS = ("mv", "ds", "glad")
RATING_MODES = ("binary", "ordinal")
NEUTRAL_RATING = 4
CHOICE_LABEL_COLUMNS = (*ITEM_KEY, "label_id", "p_a", "confidence", "answers", "workers", "method")


@dataclass(frozen=True)
class TruthResult:
    items: pd.DataFrame  # one row per item
    workers: pd.DataFrame  # worker_id, answers, skill (the model's reliability estimate)
    method: str
    notes: tuple[str, ...] = ()


def _model(method: str, n_iter: int):
    from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote

    if method == "mv":
        return MajorityVote()
    if method == "ds":
        return DawidSkene(n_iter=n_iter)
    if method == "glad":
        return GLAD(n_iter=n_iter)
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def aggregate(answers: pd.DataFrame, *, method: str = "ds", n_iter: int = 100) -> tuple[pd.DataFrame, pd.DataFrame]:
    """crowd-kit on a (task, worker, label) frame: label posteriors (tasks x labels) and worker skills."""
    if answers.empty:
        raise ValueError("no answers to aggregate")
    model = _model(method, n_iter)
    with warnings.catch_warnings():
        # crowd-kit 1.4 uses pandas keywords (inplace=, copy=) that pandas 3 deprecates; harmless here.
        warnings.filterwarnings("ignore", message=".*(inplace|copy) keyword.*")
        probas = model.fit_predict_proba(answers[["task", "worker", "label"]])
    counts = answers.groupby("worker").size().rename("answers")
    if method == "ds":
        # A worker's skill: the probability of answering correctly, averaged over the true labels' priors.
        errors = model.errors_
        diagonal = {
            worker: sum(
                float(model.priors_[label]) * float(errors.loc[(worker, label), label])
                for label in model.priors_.index
                if (worker, label) in errors.index
            )
            for worker in counts.index
        }
        skill = pd.Series(diagonal, name="skill")
    elif method == "glad":
        skill = model.alphas_.rename("skill")
    else:
        mv = probas.idxmax(axis=1)
        joined = answers.assign(winner=answers["task"].map(mv))
        skill = (joined["label"] == joined["winner"]).groupby(joined["worker"]).mean().rename("skill")
    workers = pd.concat([counts, skill], axis=1).rename_axis("worker_id").reset_index()
    return probas, workers


def _decide(probas: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.Series, pd.Series]:
    """The most probable label per task, ties broken at random; and its probability."""
    values = probas.fillna(0).to_numpy()
    best = values.max(axis=1, keepdims=True)
    tied = np.isclose(values, best)
    noise = rng.random(values.shape) * tied
    pick = np.argmax(noise, axis=1)
    labels = pd.Series(probas.columns.to_numpy()[pick], index=probas.index)
    return labels, pd.Series(best[:, 0], index=probas.index)


def infer_choices(choices: pd.DataFrame, *, method: str = "ds", n_iter: int = 100, seed: int = 0) -> TruthResult:
    """Inferred winner of every 2AFC / preference comparison with ``p_a`` and a confidence."""
    answers = aligned_answers(choices)
    if answers.empty:
        raise ValueError("choices: no non-catch answers to infer labels from")
    codes = answers.groupby(list(ITEM_KEY), sort=True).ngroup().to_numpy()
    keys = answers[list(ITEM_KEY)].drop_duplicates().sort_values(list(ITEM_KEY)).reset_index(drop=True)
    crowd = pd.DataFrame(
        {"task": codes, "worker": answers["worker_id"], "label": np.where(answers["chose_a"], "a", "b")}
    )
    probas, workers = aggregate(crowd, method=method, n_iter=n_iter)
    probas = probas.reindex(columns=["a", "b"]).fillna(0.0).sort_index()
    labels, confidence = _decide(probas, np.random.default_rng(seed))
    items = keys.iloc[probas.index.to_numpy()].reset_index(drop=True)
    per_task = crowd.groupby("task").agg(answers=("label", "size"), workers=("worker", "nunique"))
    items["label_id"] = np.where(labels.to_numpy() == "a", items["option_a"], items["option_b"])
    items["p_a"] = probas["a"].to_numpy()
    items["confidence"] = confidence.to_numpy()
    items["answers"] = per_task.loc[probas.index, "answers"].to_numpy()
    items["workers"] = per_task.loc[probas.index, "workers"].to_numpy()
    items["method"] = method
    return TruthResult(items=items[list(CHOICE_LABEL_COLUMNS)], workers=workers, method=method)


def infer_ratings(
    ratings: pd.DataFrame, *, method: str = "ds", mode: str = "binary", n_iter: int = 100, seed: int = 0
) -> TruthResult:
    """Inferred fit of every pairing: ``fit``/``poor`` (binary) or a rating value 1-7 (ordinal)."""
    if mode not in RATING_MODES:
        raise ValueError(f"mode must be one of {RATING_MODES}, not {mode!r}")
    missing = [c for c in ("worker_id", "pairing_id", "rating", "is_catch") if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing column(s) {', '.join(missing)} (see docs/export-format.md)")
    real = ratings.loc[~ratings["is_catch"].fillna(False).astype(bool)]
    empty = real["pairing_id"].isna() | real["worker_id"].isna() | real["rating"].isna()
    if empty.any():
        raise ValueError(
            f"ratings: {int(empty.sum())} non-catch row(s) lack pairing_id, worker_id or rating "
            f"(first at row {real.index[empty.to_numpy()][0]})"
        )
    rating = real["rating"].astype("int64")
    out_of_range = ~rating.between(1, 7)
    if out_of_range.any():
        raise ValueError(
            f"ratings: rating outside 1..7 in {int(out_of_range.sum())} row(s) "
            f"(e.g. {int(rating[out_of_range].iloc[0])} at row {rating.index[out_of_range.to_numpy()][0]})"
        )
    notes: list[str] = []
    if mode == "binary":
        neutral = rating == NEUTRAL_RATING
        if neutral.any():
            notes.append(
                f"{int(neutral.sum())} rating(s) of {NEUTRAL_RATING} ('neither') carry no vote and were dropped"
            )
        real, rating = real.loc[~neutral], rating.loc[~neutral]
        label = np.where(rating > NEUTRAL_RATING, "fit", "poor")
    else:
        label = rating.astype(str).to_numpy()
    crowd = pd.DataFrame(
        {"task": real["pairing_id"].astype("int64").to_numpy(), "worker": real["worker_id"], "label": label}
    )
    probas, workers = aggregate(crowd, method=method, n_iter=n_iter)
    probas = probas.sort_index()
    labels, confidence = _decide(probas, np.random.default_rng(seed))
    per_task = crowd.groupby("task").agg(answers=("label", "size"), workers=("worker", "nunique"))
    items = pd.DataFrame({"pairing_id": probas.index.to_numpy()})
    extra = [c for c in ("clip_id", "excerpt_id", "video_id", "genre_label") if c in real.columns]
    if extra:
        first = real.drop_duplicates("pairing_id")
        first = first.set_index(first["pairing_id"].astype("int64").rename("key"))
        for column in extra:
            items[column] = first.loc[items["pairing_id"], column].to_numpy()
    items["label"] = labels.to_numpy()
    if mode == "binary":
        items["p_fit"] = probas.reindex(columns=["fit"]).fillna(0.0)["fit"].to_numpy()
    else:
        values = probas.columns.astype(int).to_numpy()
        items["expected_rating"] = (probas.fillna(0).to_numpy() * values).sum(axis=1)
    items["confidence"] = confidence.to_numpy()
    items["answers"] = per_task.loc[probas.index, "answers"].to_numpy()
    items["workers"] = per_task.loc[probas.index, "workers"].to_numpy()
    items["method"] = method
    return TruthResult(items=items, workers=workers, method=method, notes=tuple(notes))
