"""Bradley-Terry strengths from two-alternative forced choices (maximum likelihood, Newton-Raphson).

P(i chosen over j) = exp(b_i) / (exp(b_i) + exp(b_j)). Strengths are identified up to a constant;
they are reported centred (mean log-strength 0) with standard errors from the inverse Fisher
information under that constraint (the Moore-Penrose inverse of the Laplacian-shaped Hessian).

The plain MLE exists only if, for every split of the items into two groups, some item of each
group beat some item of the other (Zermelo 1929; Ford 1957), i.e. the "who beat whom" graph is
strongly connected. When it is not (common for sparse per-category subsets), ``fit_bradley_terry``
raises ``NotIdentified`` unless a ridge penalty ``ridge / 2 * sum(b**2)`` (a Gaussian prior) is set;
the caller then reports the penalised fit and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from analysis.validation import validate_frame

DENSE_COVARIANCE_LIMIT = 5_000


class NotIdentified(ValueError):
    """The maximum-likelihood strengths are infinite for this comparison graph."""


@dataclass
class BradleyTerry:
    strengths: pd.DataFrame
    log_likelihood: float
    n_comparisons: int
    ridge: float
    iterations: int
    converged: bool
    covariance: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def probability(self, a: object, b: object) -> float:
        """Model probability that item ``a`` is chosen over item ``b``."""
        table = self.strengths.set_index("item")["log_strength"]
        return float(1 / (1 + np.exp(table[b] - table[a])))


def fit_bradley_terry(
    winners: pd.Series | np.ndarray,
    losers: pd.Series | np.ndarray,
    *,
    ridge: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> BradleyTerry:
    """Fit strengths from paired outcomes (``winners[t]`` was chosen over ``losers[t]``)."""
    winners, losers = np.asarray(winners), np.asarray(losers)
    if winners.shape != losers.shape or winners.ndim != 1:
        raise ValueError("winners and losers must be 1-D and of equal length")
    if len(winners) == 0:
        raise ValueError("no comparisons")
    if (winners == losers).any():
        raise ValueError("an item cannot be compared with itself")
    if ridge < 0:
        raise ValueError("ridge must be >= 0")
    codes, items = pd.factorize(np.concatenate([winners, losers]))
    w, loser = codes[: len(winners)], codes[len(winners) :]
    p = len(items)
    if p < 2:
        raise ValueError("need at least two items")

    wins_graph = sparse.coo_matrix((np.ones(len(w)), (w, loser)), shape=(p, p)).tocsr()
    if ridge == 0:
        n_strong, _ = connected_components(wins_graph, directed=True, connection="strong")
        if n_strong > 1:
            raise NotIdentified(
                f"the maximum-likelihood strengths do not exist: the {p} items fall into {n_strong} groups "
                "where one group never lost (or never won) against another; use a ridge penalty"
            )
    # Pair counts are symmetric: n[i, j] comparisons between i and j, wins[i] total wins.
    pair_i = np.minimum(w, loser)
    pair_j = np.maximum(w, loser)
    pairs, pair_index = np.unique(pair_i * p + pair_j, return_inverse=True)
    a, b = pairs // p, pairs % p
    n_ab = np.bincount(pair_index, minlength=len(pairs)).astype(float)
    a_wins = np.bincount(pair_index, weights=(w == pair_i).astype(float), minlength=len(pairs))
    wins = np.bincount(w, minlength=p).astype(float)

    beta = np.zeros(p)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported below
        prob = _expit(beta[a] - beta[b])
        expected = np.bincount(a, weights=n_ab * prob, minlength=p) + np.bincount(
            b, weights=n_ab * (1 - prob), minlength=p
        )
        gradient = wins - expected - ridge * beta
        hessian = _information(a, b, n_ab * prob * (1 - prob), p, ridge)
        step = _solve_centered(hessian, gradient, ridge)
        beta = beta + step
        beta -= beta.mean()
        if np.max(np.abs(step)) < tol:
            converged = True
            break

    prob = _expit(beta[a] - beta[b])
    log_likelihood = float((a_wins * np.log(prob) + (n_ab - a_wins) * np.log1p(-prob)).sum())
    information = _information(a, b, n_ab * prob * (1 - prob), p, ridge)
    notes: list[str] = []
    covariance = None
    if p <= DENSE_COVARIANCE_LIMIT:
        covariance = _centered_inverse(information.toarray(), ridge)
        se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    else:
        se = 1 / np.sqrt(information.diagonal())
        notes.append(f"{p} items: standard errors approximated by 1/sqrt(information diagonal).")
    comparisons = np.bincount(w, minlength=p) + np.bincount(loser, minlength=p)
    strengths = pd.DataFrame(
        {
            "item": items,
            "log_strength": beta,
            "se": se,
            "wins": wins.astype(int),
            "comparisons": comparisons,
        }
    )
    return BradleyTerry(
        strengths=strengths,
        log_likelihood=log_likelihood,
        n_comparisons=len(winners),
        ridge=ridge,
        iterations=iteration,
        converged=converged,
        covariance=covariance,
        notes=notes,
    )


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))


def _information(a: np.ndarray, b: np.ndarray, weight: np.ndarray, p: int, ridge: float) -> sparse.csr_matrix:
    """Fisher information: a weighted graph Laplacian (plus ridge on the diagonal)."""
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([b, a, a, b])
    values = np.concatenate([-weight, -weight, weight, weight])
    matrix = sparse.coo_matrix((values, (rows, cols)), shape=(p, p)).tocsr()
    if ridge:
        matrix = matrix + ridge * sparse.identity(p, format="csr")
    return matrix


def _solve_centered(hessian: sparse.csr_matrix, gradient: np.ndarray, ridge: float) -> np.ndarray:
    """Newton step. Without ridge the Laplacian is singular along the all-ones direction, so the last
    item is grounded (step 0) and the step is re-centred by the caller."""
    if ridge:
        return spsolve(hessian.tocsc(), gradient)
    step = np.zeros(len(gradient))
    step[:-1] = spsolve(hessian[:-1, :-1].tocsc(), gradient[:-1])
    return step


def _centered_inverse(information: np.ndarray, ridge: float) -> np.ndarray:
    if ridge:
        return np.linalg.inv(information)
    return np.linalg.pinv(information, hermitian=True)


# ------------------------------------------------------------------------------------ from choices


def comparisons(choices: pd.DataFrame, *, level: str = "item", duplicates: str = "refuse") -> pd.DataFrame:
    """Winner/loser pairs from non-catch choices; ``level`` is ``item`` (ids) or ``label`` (genre/scene).

    Keeps the query label so strengths can be fitted per video category (V2M) or genre (M2V).
    """
    if level not in ("item", "label"):
        raise ValueError(f"level must be 'item' or 'label', not {level!r}")
    key = "id" if level == "item" else "label"
    choices = validate_frame(
        choices,
        table="choices",
        columns=[
            "is_catch",
            "chosen_side",
            "direction",
            "query_label",
            "left_id",
            "right_id",
            f"left_{key}",
            f"right_{key}",
        ],
        function="comparisons",
        duplicates=duplicates,
    )
    data = choices[~choices["is_catch"].fillna(False).astype(bool)]
    data = data.dropna(subset=["chosen_side", "left_id", "right_id"])
    left = data["chosen_side"] == "left"
    winner = np.where(left, data[f"left_{key}"], data[f"right_{key}"])
    loser = np.where(left, data[f"right_{key}"], data[f"left_{key}"])
    out = pd.DataFrame(
        {
            "direction": data["direction"].to_numpy(),
            "query_label": data["query_label"].to_numpy(),
            "winner": winner,
            "loser": loser,
        }
    )
    return out[out["winner"] != out["loser"]].reset_index(drop=True)


def fit_or_penalise(winners: np.ndarray, losers: np.ndarray, *, ridge: float = 0.1) -> BradleyTerry:
    """Plain MLE when it exists, otherwise the ridge-penalised fit with a note saying so."""
    try:
        return fit_bradley_terry(winners, losers)
    except NotIdentified as exc:
        result = fit_bradley_terry(winners, losers, ridge=ridge)
        result.notes.append(f"{exc}; fitted with ridge {ridge} (shrinks strengths towards 0).")
        return result
