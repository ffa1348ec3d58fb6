"""The crowd as the judge of machine montages (issue 16, item 3; docs/analysis.md, "Montages").

A montage study (docs/montage.md, docs/export-format.md ``montages`` / ``montage_choices`` /
``montage_ratings``) shows two montages of one song and asks which fits the song better; optionally it
asks for a 7-point fit rating of one montage. A **system** is what made a montage: each retrieval model
(``model`` of a kind ``S`` montage, ``NAME@VERSION``), ``R`` (random clips), ``anti`` (farthest clips)
and ``G`` (the song's real music video). ``R`` and ``anti`` montages are pooled over the models that
cut them (they do not use the model's preferences, only its constraints).

What :func:`analyse_montages` computes from an export:

* **preference shares** (:func:`preference_shares`): per model and opponent system (R, G, anti and
  every other model), the share of judgments choosing the model's montage, from the project's headline
  clustered method (issue 13, :func:`analysis.preference.gee_share`): an intercept-only logistic GEE with
  exchangeable working correlation within **workers**, robust (sandwich) SE, the Wald test referred to
  t with workers - 1 df; Holm-adjusted across the table. Beside it, labelled ``pooled_*``, the naive
  pooled share (Wilson interval, exact binomial), which treats every judgment as independent;
* a **Bradley-Terry ranking** of all systems from all pairs (:func:`bradley_terry_ranking`), maximum
  likelihood (:mod:`analysis.bradley_terry`), with percentile intervals from a **worker bootstrap**
  (seeded, vectorised: all resamples fitted at once by batched Newton steps);
* **ratings** (:func:`rating_means`): the mean 7-point rating per system with a worker-clustered
  (CR1 sandwich, t with workers - 1 df) 95 % interval — an independence GEE with an identity link;
* **retrieval metrics** beside them (:func:`retrieval_metrics`): R@1/5/10 and the median rank of each
  model's ``rankings.csv`` in the model registry against the export's ground truth, in both directions,
  and the Spearman correlation of R@K with the BT score across models (:func:`recall_vs_preference`),
  with an exact permutation p-value and an honest note when there are too few models.

Exclusions are the rest of the analysis' rules (:func:`analysis.cleaning.clean_montages`). Bad input
raises :class:`NoMontageJudgments` (no montage judgments at all), :class:`MontageInputError` (a bad
model name, an S montage without a model) or :class:`analysis.validation.AnalysisInputError` (missing
columns, bad values); all are ``ValueError``\\ s.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis import bradley_terry as bt
from analysis.cleaning import CleanResult, ExclusionRules, clean_montages
from analysis.preference import gee_share
from analysis.validation import AnalysisInputError, validate_frame
from exportformat import Export
from mvfit_common.stats import wilson_interval

# The model registry's names and versions (training/registry.py; analysis never imports training).
MODEL_PATTERN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})@(?P<version>[A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
BASELINES = ("G", "R", "anti")
PREFERENCE_METHOD = "GEE (logit, exchangeable within workers, robust SE, t df = workers - 1), Holm-adjusted"
RATING_METHOD = "mean with worker-clustered (CR1) SE, t df = workers - 1"
BT_METHOD = "Bradley-Terry MLE; percentile CI from a worker bootstrap"
RECALL_KS = (1, 5, 10)
DIRECTIONS = {"clip": "V2M", "excerpt": "M2V"}  # query kind -> direction (a video query retrieves music: V2M)


class MontageInputError(AnalysisInputError):
    """Montage judgments that cannot be analysed: a model name that is not NAME@VERSION, an S montage
    without a model."""


class NoMontageJudgments(MontageInputError):
    """The export has no montage judgments (``montage_choices`` / ``montage_ratings`` are empty)."""


@dataclass
class MontageAnalysis:
    """Everything :func:`analyse_montages` computed; every table is also what the CLI writes as CSV."""

    preferences: pd.DataFrame
    bradley_terry: pd.DataFrame
    ratings: pd.DataFrame
    retrieval: pd.DataFrame
    correlation: pd.DataFrame
    exclusions: pd.DataFrame
    counts: dict[str, int]
    models: list[str]
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- systems


def parse_model(value: object) -> tuple[str, str]:
    """``NAME@VERSION`` → (name, version), the registry's rules; :class:`MontageInputError` otherwise."""
    match = MODEL_PATTERN.match(value) if isinstance(value, str) else None
    if not match:
        raise MontageInputError(
            f"model {value!r} is not NAME@VERSION of the model registry (1-64 characters of [A-Za-z0-9._-] each, "
            "starting with a letter or digit; docs/retrieval.md)"
        )
    return match["name"], match["version"]


def system_labels(kind: pd.Series, model: pd.Series, *, where: str) -> pd.Series:
    """The system of each montage: its model for kind S, else the kind (G, R, anti)."""
    kind = kind.astype(object)
    model = model.astype(object).where(model.notna(), None)
    s = kind == "S"
    bad = s & model.isna()
    if bad.any():
        raise MontageInputError(f"{where}: {int(bad.sum())} S montage(s) without a model, e.g. row {bad.idxmax()}")
    for value in pd.unique(model[s]):
        parse_model(value)
    return pd.Series(np.where(s, model, kind), index=kind.index, dtype=object)


def system_order(systems: list[str] | np.ndarray) -> list[str]:
    """G first, then the models alphabetically, then R and anti."""
    present = set(systems)
    models = sorted(present - set(BASELINES))
    return [s for s in ("G", *models, "R", "anti") if s in present]


CHOICE_COLUMNS = [
    "worker_id",
    "song_id",
    "left_montage_id",
    "right_montage_id",
    "left_kind",
    "right_kind",
    "left_model",
    "right_model",
    "chosen_side",
    "is_catch",
]


def montage_pairs(choices: pd.DataFrame) -> pd.DataFrame:
    """Non-catch montage judgments as ``worker_id, song_id, left, right, winner, loser`` (system labels)."""
    choices = validate_frame(choices, table="montage_choices", columns=CHOICE_COLUMNS, function="montage_pairs")
    data = choices[~choices["is_catch"].fillna(False).astype(bool)]
    data = data.dropna(subset=["left_montage_id", "right_montage_id"])
    left = system_labels(data["left_kind"], data["left_model"], where="montage_choices left")
    right = system_labels(data["right_kind"], data["right_model"], where="montage_choices right")
    chose_left = (data["chosen_side"] == "left").to_numpy()
    return pd.DataFrame(
        {
            "worker_id": data["worker_id"].to_numpy(dtype=object),
            "song_id": data["song_id"].to_numpy(),
            "left": left.to_numpy(),
            "right": right.to_numpy(),
            "winner": np.where(chose_left, left, right),
            "loser": np.where(chose_left, right, left),
        }
    )


# --------------------------------------------------------------------------------- preference shares


def preference_shares(pairs: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Per model (system of an S montage) and opponent: share of judgments choosing the model's montage.

    One row per (model, opponent) with judgments: ``n`` judgments, ``k`` won, ``workers``, ``songs``;
    the headline ``share``/``ci_low``/``ci_high``/``p_gee``/``rho`` from :func:`analysis.preference.gee_share`
    (worker clusters), ``p_holm``/``reject_holm`` (Holm over the table's defined p-values at ``alpha``);
    ``pooled_share``/``pooled_ci_low``/``pooled_ci_high`` (Wilson) and ``p_pooled_binomial`` for comparison.
    Judgments between two systems that are not models (e.g. G vs R) are not rows here (see the BT ranking).
    """
    systems = system_order(np.concatenate([pairs["winner"].to_numpy(), pairs["loser"].to_numpy()]))
    models = [s for s in systems if s not in BASELINES]
    rows = []
    winner, loser = pairs["winner"].to_numpy(), pairs["loser"].to_numpy()
    for model in models:
        for opponent in systems:
            if opponent == model:
                continue
            mask = ((winner == model) & (loser == opponent)) | ((winner == opponent) & (loser == model))
            if not mask.any():
                continue
            won = winner[mask] == model
            cell = pairs.loc[mask]
            n, k = int(mask.sum()), int(won.sum())
            low, high = wilson_interval(k, n)
            headline = gee_share(won, cell["worker_id"].to_numpy())
            rows.append(
                {
                    "model": model,
                    "opponent": opponent,
                    "method": PREFERENCE_METHOD,
                    "n": n,
                    "k": k,
                    "workers": int(cell["worker_id"].nunique()),
                    "songs": int(cell["song_id"].nunique()),
                    "share": headline["share"],
                    "ci_low": headline["ci_low"],
                    "ci_high": headline["ci_high"],
                    "p_gee": headline["p_gee"],
                    "rho": headline["rho"],
                    "pooled_share": k / n,
                    "pooled_ci_low": float(low),
                    "pooled_ci_high": float(high),
                    "p_pooled_binomial": float(stats.binomtest(k, n, 0.5).pvalue),
                }
            )
    table = pd.DataFrame(rows, columns=list(PREFERENCE_COLUMNS))
    table["p_holm"] = np.nan
    table["reject_holm"] = False
    tested = table["p_gee"].notna().to_numpy()
    if tested.any():
        reject, adjusted, _, _ = multipletests(table.loc[tested, "p_gee"], alpha=alpha, method="holm")
        table.loc[tested, "p_holm"] = adjusted
        table.loc[tested, "reject_holm"] = reject
    return table[list(PREFERENCE_COLUMNS)]


PREFERENCE_COLUMNS = (
    "model",
    "opponent",
    "method",
    "n",
    "k",
    "workers",
    "songs",
    "share",
    "ci_low",
    "ci_high",
    "p_gee",
    "p_holm",
    "reject_holm",
    "rho",
    "pooled_share",
    "pooled_ci_low",
    "pooled_ci_high",
    "p_pooled_binomial",
)


# ------------------------------------------------------------------------------------- Bradley-Terry


def _win_tensor(pairs: pd.DataFrame, systems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(workers x p x p) counts: [w, i, j] = times worker w chose i over j; and the worker labels."""
    index = {s: i for i, s in enumerate(systems)}
    workers, code = np.unique(pairs["worker_id"].to_numpy(dtype=str), return_inverse=True)
    wins = np.zeros((len(workers), len(systems), len(systems)))
    np.add.at(wins, (code, pairs["winner"].map(index).to_numpy(), pairs["loser"].map(index).to_numpy()), 1.0)
    return wins, workers


def _strongly_connected(wins: np.ndarray) -> np.ndarray:
    """Per (batch x p x p) win matrix: is the who-beat-whom graph strongly connected (the MLE exists)?"""
    p = wins.shape[-1]
    reach = (wins > 0) | np.eye(p, dtype=bool)
    for _ in range(max(1, math.ceil(math.log2(p)) + 1)):
        reach = reach | (np.einsum("bij,bjk->bik", reach.astype(float), reach.astype(float)) > 0)
    return reach.all(axis=(1, 2))


def batched_bradley_terry(
    wins: np.ndarray, *, ridge: float = 0.0, max_iter: int = 100, tol: float = 1e-9
) -> np.ndarray:
    """Centred BT log-strengths for a batch of (p x p) win-count matrices at once (Newton-Raphson).

    ``wins[b, i, j]`` = times i was chosen over j in batch member b. Without ``ridge`` the last item is
    grounded during the steps and the result re-centred (as :func:`analysis.bradley_terry.fit_bradley_terry`);
    members whose MLE does not exist diverge, so callers pass ``ridge`` for them.
    """
    wins = np.asarray(wins, dtype=float)
    batch, p, _ = wins.shape
    n = wins + wins.transpose(0, 2, 1)
    won = wins.sum(axis=2)
    beta = np.zeros((batch, p))
    eye = np.eye(p)
    for _ in range(max_iter):
        diff = beta[:, :, None] - beta[:, None, :]
        prob = 0.5 * (1 + np.tanh(0.5 * diff))
        gradient = won - (n * prob).sum(axis=2) - ridge * beta
        weight = n * prob * (1 - prob)
        hessian = eye * weight.sum(axis=2)[:, :, None] - weight + ridge * eye
        step = np.zeros_like(beta)
        if ridge:
            step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        else:
            step[:, :-1] = np.linalg.solve(hessian[:, :-1, :-1], gradient[:, :-1, None])[:, :, 0]
        beta = beta + step
        beta -= beta.mean(axis=1, keepdims=True)
        if np.max(np.abs(step)) < tol:
            break
    return beta


def bradley_terry_ranking(
    pairs: pd.DataFrame, *, bootstrap: int = 1000, seed: int = 0, ridge: float = 0.1, level: float = 0.95
) -> tuple[pd.DataFrame, list[str]]:
    """BT strengths of every system from all judged pairs, with worker-bootstrap percentile intervals.

    Columns: ``system``, ``rank`` (1 = strongest), ``bt_score`` (centred log-strength), ``se_model``
    (the MLE's model-based SE, which treats judgments as independent), ``ci_low``/``ci_high`` (worker
    bootstrap percentile interval at ``level``), ``p_best`` (share of resamples in which the system is
    the strongest), ``wins``, ``comparisons``, ``workers``. The MLE exists only when every system both
    won and lost against the rest (strongly connected); otherwise the ridge fit is used with a note, and
    so for each bootstrap resample whose MLE does not exist (counted in a note).
    """
    notes: list[str] = []
    if pairs.empty:
        raise MontageInputError("bradley_terry_ranking: no montage judgments")
    systems = system_order(np.concatenate([pairs["winner"].to_numpy(), pairs["loser"].to_numpy()]))
    if len(systems) < 2:
        raise MontageInputError("bradley_terry_ranking: need judgments between at least two systems")
    fit = bt.fit_or_penalise(pairs["winner"].to_numpy(), pairs["loser"].to_numpy(), ridge=ridge)
    notes.extend(fit.notes)
    table = fit.strengths.rename(columns={"item": "system", "log_strength": "bt_score", "se": "se_model"})
    table = table.set_index("system").reindex(systems)
    wins, workers = _win_tensor(pairs, systems)
    judges = pd.concat(
        [
            pairs[["worker_id", "winner"]].rename(columns={"winner": "s"}),
            pairs[["worker_id", "loser"]].rename(columns={"loser": "s"}),
        ]
    )
    table["workers"] = judges.groupby("s")["worker_id"].nunique().reindex(systems).to_numpy()
    if bootstrap > 0 and len(workers) >= 2:
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(len(workers), np.full(len(workers), 1 / len(workers)), size=bootstrap)
        resampled = np.einsum("bw,wij->bij", counts.astype(float), wins)
        ok = _strongly_connected(resampled)
        beta = np.full((bootstrap, len(systems)), np.nan)
        if ok.any():
            beta[ok] = batched_bradley_terry(resampled[ok])
        if (~ok).any():
            beta[~ok] = batched_bradley_terry(resampled[~ok], ridge=ridge)
            notes.append(
                f"{int((~ok).sum())} of {bootstrap} worker-bootstrap resamples had no MLE (a system never won or "
                f"never lost); they were fitted with ridge {ridge}."
            )
        tail = (1 - level) / 2
        table["ci_low"] = np.quantile(beta, tail, axis=0)
        table["ci_high"] = np.quantile(beta, 1 - tail, axis=0)
        best = np.argmax(beta, axis=1)
        table["p_best"] = np.bincount(best, minlength=len(systems)) / bootstrap
    else:
        table["ci_low"] = table["ci_high"] = table["p_best"] = np.nan
        notes.append("Bradley-Terry intervals need at least two workers and bootstrap > 0; none given.")
    table = table.reset_index().sort_values("bt_score", ascending=False, kind="stable")
    table.insert(1, "rank", np.arange(1, len(table) + 1))
    table["method"] = BT_METHOD
    columns = ["system", "rank", "bt_score", "se_model", "ci_low", "ci_high", "p_best", "wins", "comparisons"]
    return table[[*columns, "workers", "method"]].reset_index(drop=True), notes


# ------------------------------------------------------------------------------------------ ratings


def rating_means(ratings: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Mean 7-point fit rating per system with a worker-clustered interval.

    The cluster-robust (CR1) variance of a mean: ``G/(G-1) · Σ_w (Σ_i (y_wi - ȳ))² / n²`` over the G
    workers who rated the system; the interval uses t with G - 1 df. Columns: ``system``, ``n``,
    ``workers``, ``songs``, ``mean``, ``se``, ``ci_low``, ``ci_high``, ``sd``, ``method``.
    """
    ratings = validate_frame(
        ratings,
        table="montage_ratings",
        columns=["worker_id", "montage_id", "song_id", "kind", "model", "rating", "is_catch"],
        function="rating_means",
    )
    data = ratings[~ratings["is_catch"].fillna(False).astype(bool) & ratings["montage_id"].notna()]
    columns = ["system", "n", "workers", "songs", "mean", "se", "ci_low", "ci_high", "sd", "method"]
    if data.empty:
        return pd.DataFrame(columns=columns)
    system = system_labels(data["kind"], data["model"], where="montage_ratings")
    rows = []
    for name in system_order(system.unique()):
        cell = data[system == name]
        y = cell["rating"].to_numpy(dtype=float)
        workers = cell["worker_id"].to_numpy(dtype=object)
        g = len(pd.unique(workers))
        mean = float(y.mean())
        row = {"system": name, "n": len(y), "workers": g, "songs": int(cell["song_id"].nunique()), "mean": mean}
        row["sd"] = float(y.std(ddof=1)) if len(y) > 1 else np.nan
        if g >= 2:
            sums = pd.Series(y - mean).groupby(workers).sum().to_numpy()
            se = math.sqrt(g / (g - 1) * float((sums**2).sum())) / len(y)
            q = stats.t.ppf(0.5 + level / 2, g - 1)
            row.update(se=se, ci_low=mean - q * se, ci_high=mean + q * se)
        else:
            row.update(se=np.nan, ci_low=np.nan, ci_high=np.nan)
        rows.append({**row, "method": RATING_METHOD})
    return pd.DataFrame(rows)[columns]


# --------------------------------------------------------------------------------- retrieval metrics


def _read_registry_rankings(directory: Path) -> pd.DataFrame:
    from analysis.machine import read_rankings

    # Registry scores are minus a cost (docs/retrieval.md), not cosines: only the ranks are used here.
    return read_rankings(directory / "rankings.csv", score_range=None)


def retrieval_metrics(
    models_dir: str | Path, models: list[str], stimuli: pd.DataFrame, *, ks: tuple[int, ...] = RECALL_KS
) -> tuple[pd.DataFrame, list[str]]:
    """R@K and median rank of each model's registry rankings against the export's ground truth.

    For each model ``NAME@VERSION``: ``models_dir/NAME/VERSION/rankings.csv``. Direction V2M: every
    ``clip`` query whose ``stimuli.csv`` row has a ``ground_truth_id`` (its true excerpt), M2V: every
    ``excerpt`` query likewise. The rank of the true partner among the query's ranked candidates; a
    query whose partner is not among them (a ``--top N`` file) counts as a miss for every K ≤ N and as
    rank > N (the median rank is then undefined when more than half are censored). One row per model
    and direction: ``model``, ``direction``, ``queries``, ``r_at_1`` … , ``median_rank``,
    ``candidates`` (median candidates per query), ``status`` (``ok`` or why not). A model missing
    from the registry gets a row with status ``missing`` and a note, not an error.
    """
    stimuli = stimuli[stimuli["ground_truth_id"].notna()]
    truth = {
        kind: stimuli.loc[stimuli["item_kind"] == kind].set_index("item_id")["ground_truth_id"].astype("int64")
        for kind in DIRECTIONS
    }
    root = Path(models_dir)
    rows, notes = [], []
    if not root.is_dir():
        notes.append(f"The models directory {root} does not exist.")
    recall_columns = [f"r_at_{k}" for k in ks]
    for model in models:
        name, version = parse_model(model)
        directory = root / name / version
        if not (directory / "model.json").is_file() or not (directory / "rankings.csv").is_file():
            notes.append(
                f"{model}: not in the model registry {root} (no {directory / 'model.json'} with rankings.csv); "
                "its retrieval metrics are left out."
            )
            for direction in DIRECTIONS.values():
                rows.append({"model": model, "direction": direction, "queries": 0, "status": "missing"})
            continue
        rankings = _read_registry_rankings(directory)
        for kind, direction in DIRECTIONS.items():
            ranked = rankings[rankings["query_kind"] == kind]
            gt = truth[kind]
            queries = pd.Index(ranked["query_id"].unique()).intersection(gt.index)
            unranked = len(gt.index.difference(ranked["query_id"].unique()))
            if unranked and len(queries):
                notes.append(f"{model} {direction}: {unranked} query item(s) with a ground truth are not ranked.")
            if len(queries) == 0:
                notes.append(f"{model} {direction}: no ranked query has a ground truth in this export's stimuli.csv.")
                rows.append({"model": model, "direction": direction, "queries": 0, "status": "no ground truth"})
                continue
            sub = ranked[ranked["query_id"].isin(queries)]
            depth = sub.groupby("query_id")["rank"].max().reindex(queries)
            hit = sub[sub["candidate_id"].to_numpy() == gt.reindex(sub["query_id"]).to_numpy()]
            rank = hit.groupby("query_id")["rank"].min().reindex(queries)
            found = rank.notna().to_numpy()
            ranks = np.where(found, rank.to_numpy(dtype=float), np.inf)
            row = {"model": model, "direction": direction, "queries": len(queries), "status": "ok"}
            for k, column in zip(ks, recall_columns, strict=True):
                row[column] = float(np.mean(ranks <= k))
                if ((depth.to_numpy() < k) & ~found).any():
                    notes.append(
                        f"{model} {direction}: some rankings are shorter than {k}; R@{k} counts them as misses."
                    )
            median = float(np.median(ranks))
            row["median_rank"] = median if np.isfinite(median) else np.nan
            if not np.isfinite(median):
                notes.append(
                    f"{model} {direction}: the true partner is unranked for half the queries or more; "
                    "median rank undefined."
                )
            row["candidates"] = float(sub.groupby("query_id").size().median())
            rows.append(row)
    columns = ["model", "direction", "queries", *recall_columns, "median_rank", "candidates", "status"]
    return pd.DataFrame(rows).reindex(columns=columns), notes


def exact_spearman_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided exact permutation p-value of Spearman's rho (all n! orderings; n <= 8)."""
    n = len(x)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    observed = abs(stats.spearmanr(rx, ry).statistic)
    perms = np.array(list(itertools.permutations(range(n))))
    centred_x = rx - rx.mean()
    centred_y = ry[perms] - ry.mean()
    rhos = (centred_y @ centred_x) / math.sqrt((centred_x**2).sum() * ((ry - ry.mean()) ** 2).sum())
    return float(np.mean(np.abs(rhos) >= observed - 1e-12))


def recall_vs_preference(retrieval: pd.DataFrame, ranking: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Spearman correlation across models between each retrieval metric and the human BT score.

    One row per metric (R@K, median rank) and direction: ``n_models``, ``rho`` (for median rank the
    sign is flipped, so that positive always means "better retrieval, more preferred"), ``p_exact``
    (exact permutation test for n ≤ 8, else scipy's t approximation) and ``note``. With fewer than 3
    models rho is not computed; with fewer than 5 even a perfect agreement cannot reach p < 0.05
    (the smallest two-sided p is 2/n!), which the note says.
    """
    notes: list[str] = []
    scores = ranking.set_index("system")["bt_score"]
    ok = retrieval[retrieval["status"] == "ok"]
    metrics = [c for c in retrieval.columns if c.startswith("r_at_")] + ["median_rank"]
    rows = []
    for direction, table in ok.groupby("direction", sort=False):
        table = table[table["model"].isin(scores.index)]
        for metric in metrics:
            values = table[["model", metric]].dropna()
            n = len(values)
            row: dict[str, object] = {"metric": metric, "direction": direction, "n_models": n}
            x = values[metric].to_numpy(dtype=float) * (-1 if metric == "median_rank" else 1)
            y = scores.reindex(values["model"]).to_numpy(dtype=float)
            if n < 3:
                row.update(rho=np.nan, p_exact=np.nan, note=f"{n} model(s): too few for a rank correlation")
            elif np.ptp(x) == 0 or np.ptp(y) == 0:
                row.update(rho=np.nan, p_exact=np.nan, note="a constant metric or score: rho undefined")
            else:
                rho = float(stats.spearmanr(x, y).statistic)
                p = exact_spearman_p(x, y) if n <= 8 else float(stats.spearmanr(x, y).pvalue)
                smallest = 2 / math.factorial(n) if n <= 8 else 0.0
                note = (
                    f"only {n} models: even perfect agreement gives p = {smallest:.3f}; descriptive only"
                    if n < 5
                    else ""
                )
                row.update(rho=rho, p_exact=p, note=note)
            rows.append(row)
    if not rows:
        notes.append("No model has both retrieval metrics and a human score: no rank correlation.")
    return pd.DataFrame(rows, columns=["metric", "direction", "n_models", "rho", "p_exact", "note"]), notes


# ------------------------------------------------------------------------------------------- whole


def has_montage_judgments(export: Export) -> bool:
    """Whether the export holds any montage judgment (choice or rating, catch trials included)."""
    tables = export.tables
    return any(name in tables and not tables[name].empty for name in ("montage_choices", "montage_ratings"))


def analyse_montages(
    export: Export,
    *,
    rules: ExclusionRules | None = None,
    models_dir: str | Path | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    ridge: float = 0.1,
    alpha: float = 0.05,
) -> MontageAnalysis:
    """The whole montage analysis of an export (module docstring). ``models_dir``: the model registry
    (``$MVFIT_DATA_DIR/models``) for the retrieval metrics; without it they are left out with a note."""
    if not has_montage_judgments(export):
        raise NoMontageJudgments(
            f"{export.path}: this export has no montage judgments (montage_choices.csv and montage_ratings.csv "
            "are empty or absent; they exist from export format 3, docs/export-format.md)"
        )
    cleaned: CleanResult = clean_montages(export.montage_choices, export.montage_ratings, rules)
    notes = list(cleaned.notes)
    pairs = montage_pairs(cleaned.choices)
    if pairs.empty:
        notes.append("No montage preference judgments after exclusions: no shares and no Bradley-Terry ranking.")
        preferences = pd.DataFrame(columns=list(PREFERENCE_COLUMNS))
        ranking = pd.DataFrame(columns=["system", "rank", "bt_score", "ci_low", "ci_high"])
    else:
        preferences = preference_shares(pairs, alpha=alpha)
        ranking, bt_notes = bradley_terry_ranking(pairs, bootstrap=bootstrap, seed=seed, ridge=ridge)
        notes.extend(bt_notes)
    ratings = rating_means(cleaned.ratings)
    systems = set(pairs["winner"]) | set(pairs["loser"]) | set(ratings["system"])
    models = sorted(systems - set(BASELINES))
    montages = export.tables.get("montages")
    if montages is not None and not montages.empty:
        listed = montages.loc[montages["kind"] == "S", "model"].dropna().unique()
        for model in listed:
            parse_model(model)
        unjudged = sorted(set(listed) - set(models))
        if unjudged:
            notes.append(f"Montages of {', '.join(unjudged)} are in montages.csv but were never judged.")
    if models_dir is None:
        retrieval = pd.DataFrame()
        correlation = pd.DataFrame()
        notes.append("No models directory given (--models-dir): retrieval metrics left out.")
    else:
        retrieval, r_notes = retrieval_metrics(models_dir, models, export.stimuli)
        notes.extend(r_notes)
        if ranking.empty:
            correlation = pd.DataFrame()
        else:
            correlation, c_notes = recall_vs_preference(retrieval, ranking)
            notes.extend(c_notes)
    counts = {
        "judgments": len(pairs),
        "workers": int(pairs["worker_id"].nunique()) if len(pairs) else 0,
        "songs": int(pairs["song_id"].nunique()) if len(pairs) else 0,
        "ratings": int(ratings["n"].sum()) if len(ratings) else 0,
        "excluded_workers": int(cleaned.worker_flags["worker_id"].nunique()) if len(cleaned.worker_flags) else 0,
    }
    return MontageAnalysis(
        preferences=preferences,
        bradley_terry=ranking,
        ratings=ratings,
        retrieval=retrieval,
        correlation=correlation,
        exclusions=cleaned.exclusions,
        counts=counts,
        models=models,
        notes=notes,
    )


def worker_counts(worker: np.ndarray, won: np.ndarray, studies: int) -> tuple[np.ndarray, np.ndarray]:
    """Per study and worker: (successes, judgments), for :func:`analysis.preference.gee_intercept`.

    ``worker`` and ``won`` are (studies x rows) with worker indices 0..W-1; rows with ``won`` NaN are
    not counted.
    """
    worker = np.asarray(worker)
    won = np.asarray(won, dtype=float)
    n_workers = int(worker.max()) + 1
    counted = ~np.isnan(won)
    flat = (np.arange(studies)[:, None] * n_workers + worker)[counted]
    successes = np.bincount(flat, weights=won[counted], minlength=studies * n_workers)
    sizes = np.bincount(flat, minlength=studies * n_workers)
    return successes.reshape(studies, n_workers), sizes.reshape(studies, n_workers).astype(float)
