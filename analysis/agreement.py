"""Reliability of 2AFC / preference answers and the noise ceiling they put on any model.

An *item* is one comparison: experiment, direction, condition, query and the unordered pair of
options. Answers are aligned by the option chosen (``chosen_id``), never by side, so a repeat shown
with the sides swapped agrees when the same *option* is chosen again (a worker who always clicks
"left" is perfectly inconsistent on swapped repeats).

* **Test-retest consistency** ``R``: among the pairs of answers one subject gave to the same item,
  the share choosing the same option.
* **Between-subject agreement** ``A``: among the pairs of *different* subjects who answered the same
  item (each subject's first answer), the share choosing the same option.
* **Noise ceiling**: if a random subject chooses option a of item i with probability ``p_i``, no
  model that gives one answer per item can be right about a single human answer more often than
  ``C = mean_i max(p_i, 1 - p_i)`` (the Bayes rate). Two independent answers agree with probability
  ``a_i = p_i² + (1 - p_i)²``, so ``max(p_i, 1 - p_i) = (1 + √(2 a_i - 1)) / 2 =: f(a_i)``. ``f`` is
  concave, so by Jensen ``C = mean f(a_i) ≤ f(mean a_i) = f(A)``: ``f(A)`` is an *upper bound* on any
  model's expected accuracy against single answers, equal to ``C`` when items are equally hard.
  ``f(R)`` is the same bound for a model that knows the subject (it may predict each person's own
  taste); ``f(A) ≤ f(R)`` when subjects have persistent tastes. See docs/analysis.md.

Confidence intervals: percentile bootstrap over *subjects* (all answers of a resampled subject move
together; a subject drawn twice is two subjects, but never paired with its own copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

ITEM_KEY = ("experiment_id", "direction", "condition", "query_id", "option_a", "option_b")
REQUIRED = (
    "worker_id",
    "experiment_id",
    "direction",
    "condition",
    "query_id",
    "left_id",
    "right_id",
    "chosen_id",
    "is_catch",
)
ORDER = ("received_at", "assignment_id", "trial_index")
DEFAULT_GROUPS = ("direction", "condition")


def ceiling_from_agreement(agreement: float | np.ndarray) -> float | np.ndarray:
    """``(1 + √(2a - 1)) / 2``: the accuracy bound implied by a pairwise agreement ``a`` (a < ½ → ½)."""
    value = np.sqrt(np.clip(2 * np.asarray(agreement, dtype=float) - 1, 0, None))
    out = (1 + value) / 2
    return float(out) if np.ndim(out) == 0 else out


def aligned_answers(choices: pd.DataFrame) -> pd.DataFrame:
    """Non-catch answers with their item key, ``chose_a`` (the lower option id chosen) and order.

    ``presentation`` numbers a subject's answers to one item (0 = first); ``a_on_left`` says on which
    side option a was shown, so swapped repeats can be counted.
    """
    missing = [column for column in REQUIRED if column not in choices.columns]
    if missing:
        raise ValueError(f"choices: missing column(s) {', '.join(missing)} (see docs/export-format.md)")
    real = choices.loc[~choices["is_catch"].fillna(False).astype(bool)]
    for column in ("worker_id", "query_id", "left_id", "right_id", "chosen_id"):
        empty = real[column].isna()
        if empty.any():
            raise ValueError(
                f"choices: column {column} is empty in {int(empty.sum())} non-catch row(s) "
                f"(first at row {real.index[empty.to_numpy()][0]}); every real trial names its options and choice"
            )
    left, right, chosen = (real[c].astype("int64") for c in ("left_id", "right_id", "chosen_id"))
    wrong = (chosen != left) & (chosen != right)
    if wrong.any():
        raise ValueError(
            f"choices: chosen_id is neither left_id nor right_id in {int(wrong.sum())} row(s) "
            f"(first at row {real.index[wrong.to_numpy()][0]})"
        )
    frame = pd.DataFrame(
        {
            "worker_id": real["worker_id"].astype(str),
            "experiment_id": real["experiment_id"].astype("int64"),
            "direction": real["direction"].astype(str),
            "condition": real["condition"].astype(str),
            "query_id": real["query_id"].astype("int64"),
            "option_a": np.minimum(left, right),
            "option_b": np.maximum(left, right),
            "a_on_left": left < right,
            "chose_a": chosen == np.minimum(left, right),
        },
        index=real.index,
    )
    order = [c for c in ORDER if c in real.columns]
    if order:
        frame = frame.loc[real.sort_values(order, kind="stable").index]
    frame["presentation"] = frame.groupby(["worker_id", *ITEM_KEY], sort=False).cumcount()
    return frame.reset_index(drop=True)


@dataclass
class _Pieces:
    """Per-subject sufficient statistics of one group, so the bootstrap is a few matrix products."""

    subjects: pd.Index
    retest_agree: np.ndarray  # per subject: agreeing within-subject pairs
    retest_pairs: np.ndarray
    retest_swapped: int
    chose_a: sparse.csr_matrix  # items x subjects: first answer chose option a
    chose_b: sparse.csr_matrix
    answers: int
    items: int


def _pieces(group: pd.DataFrame) -> _Pieces:
    subjects = pd.Index(sorted(group["worker_id"].unique()))
    per = group.groupby(["worker_id", *ITEM_KEY], sort=False).agg(
        m=("chose_a", "size"), k=("chose_a", "sum"), left=("a_on_left", "sum")
    )
    m, k, left = per["m"].to_numpy(), per["k"].to_numpy(), per["left"].to_numpy()
    agree = (k * (k - 1) + (m - k) * (m - k - 1)) / 2
    pairs = m * (m - 1) / 2
    worker = subjects.get_indexer(per.index.get_level_values("worker_id"))
    retest_agree = np.bincount(worker, weights=agree, minlength=len(subjects))
    retest_pairs = np.bincount(worker, weights=pairs, minlength=len(subjects))
    swapped = int((left * (m - left))[m > 1].sum())

    first = group[group["presentation"] == 0]
    item_codes, _ = pd.MultiIndex.from_frame(first[list(ITEM_KEY)]).factorize()
    n_items = int(item_codes.max()) + 1 if len(item_codes) else 0
    columns = subjects.get_indexer(first["worker_id"])
    chose_a = first["chose_a"].to_numpy()

    def matrix(mask: np.ndarray) -> sparse.csr_matrix:
        return sparse.csr_matrix(
            (np.ones(int(mask.sum())), (item_codes[mask], columns[mask])), shape=(n_items, len(subjects))
        )

    return _Pieces(
        subjects=subjects,
        retest_agree=retest_agree,
        retest_pairs=retest_pairs,
        retest_swapped=swapped,
        chose_a=matrix(chose_a),
        chose_b=matrix(~chose_a),
        answers=len(group),
        items=n_items,
    )


def _statistics(pieces: _Pieces, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Test-retest and between-subject agreement for each column of ``weights`` (subjects x draws)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        retest = (pieces.retest_agree @ weights) / (pieces.retest_pairs @ weights)
        k_a, k_b = pieces.chose_a @ weights, pieces.chose_b @ weights
        s_a, s_b = pieces.chose_a @ weights**2, pieces.chose_b @ weights**2
        # Pairs of distinct subjects (a subject's bootstrap copies are never paired with each other).
        agreeing = ((k_a**2 - s_a) + (k_b**2 - s_b)).sum(axis=0) / 2
        total = ((k_a + k_b) ** 2 - (s_a + s_b)).sum(axis=0) / 2
        between = agreeing / total
    return {"test_retest": retest, "between": between, "between_pairs": total}


@dataclass(frozen=True)
class AgreementResult:
    """One row per group (and ``all``): estimates with subject-clustered bootstrap intervals."""

    table: pd.DataFrame
    bootstrap: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def ceiling(self, group: str = "all") -> dict:
        """The between-subject ceiling of one group as ``{'accuracy', 'low', 'high', 'method', 'group'}``."""
        row = self.table.loc[self.table["group"] == group]
        if row.empty:
            known = ", ".join(repr(name) for name in self.table["group"])
            raise ValueError(f"no agreement group {group!r} (groups: {known})")
        row = row.iloc[0]
        return {
            "accuracy": float(row["ceiling"]),
            "low": float(row["ceiling_low"]),
            "high": float(row["ceiling_high"]),
            "method": "between-subject agreement",
            "group": group,
        }


MEASURES = ("test_retest", "between", "ceiling", "personal_ceiling")


def agreement(
    choices: pd.DataFrame,
    *,
    group_by: tuple[str, ...] = DEFAULT_GROUPS,
    bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> AgreementResult:
    """Test-retest consistency, between-subject agreement and the implied ceilings, per group and overall."""
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    if not 0 < level < 1:
        raise ValueError("level must be within (0, 1)")
    unknown = [c for c in group_by if c not in ITEM_KEY]
    if unknown:
        raise ValueError(f"group_by: {unknown} are not item columns (choose from {ITEM_KEY})")
    answers = aligned_answers(choices)
    notes: list[str] = []
    groups: list[tuple[str, dict, pd.DataFrame]] = [("all", {c: "all" for c in group_by}, answers)]
    if group_by:
        for values, group in answers.groupby(list(group_by), sort=True):
            values = values if isinstance(values, tuple) else (values,)
            name = " ".join(str(v) for v in values)
            groups.append((name, dict(zip(group_by, values, strict=True)), group))
        if len(groups) == 2:  # one group only: the "all" row says it
            groups = groups[:1]
    rng = np.random.default_rng(seed)
    rows = []
    for name, values, group in groups:
        pieces = _pieces(group)
        point = _statistics(pieces, np.ones((len(pieces.subjects), 1)))
        row = {
            "group": name,
            **values,
            "subjects": len(pieces.subjects),
            "answers": pieces.answers,
            "items": pieces.items,
            "retest_pairs": int(pieces.retest_pairs.sum()),
            "retest_swapped_pairs": pieces.retest_swapped,
            "between_pairs": int(point["between_pairs"][0]),
        }
        estimates = {
            "test_retest": point["test_retest"],
            "between": point["between"],
            "ceiling": ceiling_from_agreement(point["between"]),
            "personal_ceiling": ceiling_from_agreement(point["test_retest"]),
        }
        draws = _bootstrap(pieces, bootstrap, rng)
        alpha = (1 - level) / 2
        for measure in MEASURES:
            value = float(np.asarray(estimates[measure]).ravel()[0])
            row[measure] = value
            sample = draws.get(measure, np.array([]))
            sample = sample[np.isfinite(sample)]
            if np.isfinite(value) and len(sample):
                row[f"{measure}_low"], row[f"{measure}_high"] = np.quantile(sample, [alpha, 1 - alpha])
            else:
                row[f"{measure}_low"] = row[f"{measure}_high"] = float("nan")
        rows.append(row)
    for column, what in (
        ("retest_pairs", "answered twice by one subject, so there is no test-retest estimate"),
        ("between_pairs", "answered by two subjects, so there is no between-subject estimate"),
    ):
        lacking = [row["group"] for row in rows if not row[column]]
        if lacking:
            notes.append(f"no item was {what} ({', '.join(lacking)})")
    return AgreementResult(table=pd.DataFrame(rows), bootstrap=bootstrap, seed=seed, notes=notes)


def _bootstrap(pieces: _Pieces, draws: int, rng: np.random.Generator, *, chunk: int = 200) -> dict[str, np.ndarray]:
    n = len(pieces.subjects)
    if not draws or n < 2:
        return {}
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=size).T.astype(float)
        parts.append(_statistics(pieces, weights))
    out = {key: np.concatenate([part[key] for part in parts]) for key in ("test_retest", "between")}
    out["ceiling"] = ceiling_from_agreement(out["between"])
    out["personal_ceiling"] = ceiling_from_agreement(out["test_retest"])
    return out


# ------------------------------------------------------------------------- models next to the ceiling


def model_accuracy(trials: pd.DataFrame, machine: pd.DataFrame) -> pd.DataFrame:
    """Each model's accuracy against single human answers, per direction x condition and overall.

    ``trials``: preference trials (:func:`analysis.preference.preference_trials`); ``machine``: one row
    per model and question saying whether the model prefers the first option
    (:func:`analysis.preference.machine_choices`). A human answer counts as predicted when it chose
    the option the model prefers; the Wilson interval treats answers as independent (read it as a
    lower bound on the uncertainty).
    """
    from mvfit_common.stats import wilson_interval

    columns = ["group", "direction", "condition", "model", "answers", "correct", "accuracy", "low", "high"]
    if trials.empty or machine.empty:
        return pd.DataFrame(columns=columns)
    left_first = trials["left_kind"].astype(str) == trials["condition"].astype(str).str[0]
    humans = pd.DataFrame(
        {
            "direction": trials["direction"].astype(str).to_numpy(),
            "condition": trials["condition"].astype(str).to_numpy(),
            "query_id": trials["query_id"].astype("int64").to_numpy(),
            "first_id": np.where(left_first, trials["left_id"], trials["right_id"]).astype("int64"),
            "second_id": np.where(left_first, trials["right_id"], trials["left_id"]).astype("int64"),
            "human_first": trials["first"].astype(bool).to_numpy(),
        }
    )
    keys = ["direction", "condition", "query_id", "first_id", "second_id"]
    picks = machine[[*keys, "model", "first"]].astype({"query_id": "int64", "first_id": "int64", "second_id": "int64"})
    joined = humans.merge(picks, on=keys, how="inner")
    joined["correct"] = joined["human_first"] == joined["first"].astype(bool)
    rows = []
    for (model, direction, condition), part in joined.groupby(["model", "direction", "condition"], sort=True):
        rows.append((f"{direction} {condition}", direction, condition, model, part))
    for model, part in joined.groupby("model", sort=True):
        rows.append(("all", "all", "all", model, part))
    table = pd.DataFrame(
        [
            {
                "group": group,
                "direction": direction,
                "condition": condition,
                "model": model,
                "answers": len(part),
                "correct": int(part["correct"].sum()),
            }
            for group, direction, condition, model, part in rows
        ]
    )
    table["accuracy"] = table["correct"] / table["answers"]
    low, high = wilson_interval(table["correct"].to_numpy(), table["answers"].to_numpy())
    table["low"], table["high"] = low, high
    return table[columns]


def ceiling_comparison(result: AgreementResult, accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per group: the human ceiling (with its interval) and each model's accuracy next to it.

    ``share_of_margin`` = (accuracy - ½) / (ceiling - ½): how much of what is predictable above chance
    the model captures (empty when the ceiling is ½). ``between_pairs`` says what the ceiling rests on:
    with few pairs a model can seem to beat it.
    """
    ceiling = result.table[
        ["group", "subjects", "between_pairs", "between", "ceiling", "ceiling_low", "ceiling_high", "personal_ceiling"]
    ]
    if accuracy.empty:
        return ceiling.assign(model=pd.NA, accuracy=np.nan, accuracy_low=np.nan, accuracy_high=np.nan)
    models = accuracy[["group", "model", "answers", "accuracy", "low", "high"]].rename(
        columns={"low": "accuracy_low", "high": "accuracy_high"}
    )
    table = ceiling.merge(models, on="group", how="left")
    margin = table["ceiling"] - 0.5
    table["share_of_margin"] = (table["accuracy"] - 0.5) / margin.where(margin > 1e-9)
    return table
