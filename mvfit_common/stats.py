"""Confidence intervals for a binomial proportion, shared by ``analysis/`` and ``training/``."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint


def wilson_interval(
    successes: int | np.ndarray, trials: int | np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (Wilson 1927; Newcombe 1998, method 3), element-wise; NaN where ``trials`` is 0.

    statsmodels' ``proportion_confint(method="wilson")``, with the bounds at ``successes`` = 0 and
    ``successes`` = ``trials`` made exactly 0 and 1 (round-off would leave 1 - 1e-16).
    Counts that cannot be counts (negative, fractional, more successes than trials, NaN) raise
    ``ValueError`` naming the offending pair instead of returning NaN.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    _check_counts(k, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    empty = n == 0
    low = np.where(empty, np.nan, np.where(k == 0, 0.0, np.clip(low, 0, 1)))
    high = np.where(empty, np.nan, np.where(k == n, 1.0, np.clip(high, 0, 1)))
    return low, high


def _check_counts(k: np.ndarray, n: np.ndarray, confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    k, n = np.broadcast_arrays(k, n)
    bad = ~np.isfinite(k) | ~np.isfinite(n) | (k < 0) | (n < 0) | (k != np.round(k)) | (n != np.round(n)) | (k > n)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"wilson_interval needs whole counts with 0 <= successes <= trials; got successes={k[first]:g}, "
            f"trials={n[first]:g}" + (f" (at position {first})" if k.ndim else "")
        )
