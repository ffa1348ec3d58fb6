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
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    empty = n == 0
    low = np.where(empty, np.nan, np.where(k == 0, 0.0, np.clip(low, 0, 1)))
    high = np.where(empty, np.nan, np.where(k == n, 1.0, np.clip(high, 0, 1)))
    return low, high
