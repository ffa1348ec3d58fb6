"""Adaptive allocation policy: which items still need judgments, and which need them most.

Pure (numpy, no Django), so the rule the platform applies between rounds (``experiments.services.designs.
extend_adaptive_design``) is the very rule ``bench/adaptive.py`` simulates at Langlois' scale.

An item's running statistics are its number of answers ``n``, their ``total`` and ``total_sq`` (sum of
squares). For ratings the answer is the 1..7 rating; for a two-option choice it is 1 when the first
option was chosen and 0 otherwise (so ``total_sq == total``), and the item's mean is the first option's
share -- the same arithmetic serves both.

* **Precision.** The half-width of the item mean's normal-approximation confidence interval,
  ``z * sqrt(v / n)``. ``v`` shrinks the item's sample variance towards the variance pooled over all
  items, weighted as ``PRIOR_WEIGHT`` pseudo-answers, so an item whose first few answers happen to
  agree is not declared precise on that luck alone (optional stopping on a noisy variance).
* **Done.** An item needs no more answers once it has ``cap`` answers (the design's k), or at least
  ``min_answers`` and a half-width at most ``target_half_width``. Answers still *pending* (in bundles
  handed out and not yet completed) count as answers with the current variance, so concurrent rounds
  do not pile more answers on an item than its precision calls for (until some item has two answers
  the pooled variance is infinite, so pending answers alone never make an item precise).
* **Priority.** Items below ``min_answers`` first; then, among items that need answers, the expected
  shrink of the mean's variance from one more answer, ``v / (m (m + 1))`` with ``m = n + pending``:
  the most uncertain items first. For
  choices ``v`` is largest for items near a 50/50 split, which are the informative pairs -- a pair
  whose direction is already clear stops early.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

PRIOR_WEIGHT = 2.0  # pooled variance counts as this many pseudo-answers in an item's variance


class AdaptiveError(ValueError):
    """Adaptive-allocation parameters that cannot work; the message says what to change."""


@dataclass(frozen=True)
class AdaptivePolicy:
    target_half_width: float
    min_answers: int
    cap: int
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not 0 < self.target_half_width < float("inf"):
            raise AdaptiveError(f"target_half_width must be a positive number, not {self.target_half_width!r}.")
        if not 0 < self.confidence < 1:
            raise AdaptiveError(f"confidence must lie strictly between 0 and 1, not {self.confidence!r}.")
        if self.min_answers < 2:
            raise AdaptiveError(
                f"min_ratings must be at least 2 (a variance needs two answers), not {self.min_answers}."
            )
        if self.cap < self.min_answers:
            raise AdaptiveError(
                f"judgments_per_item (k = {self.cap}) is the most an item gets; it must be at least "
                f"min_ratings ({self.min_answers})."
            )

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)


def _arrays(n, total, total_sq, pending) -> tuple[np.ndarray, ...]:
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    total_sq = np.asarray(total_sq, dtype=float)
    pending = np.zeros_like(n) if pending is None else np.asarray(pending, dtype=float)
    if not (n.shape == total.shape == total_sq.shape == pending.shape):
        raise AdaptiveError("n, total, total_sq and pending must have the same shape.")
    if (n < 0).any() or (pending < 0).any():
        raise AdaptiveError("answer counts cannot be negative.")
    return n, total, total_sq, pending


def pooled_variance(n, total, total_sq) -> float:
    """Within-item variance pooled over items with at least two answers; infinite while there are none,
    so that no item counts as precise before any spread has been seen."""
    n, total, total_sq, _ = _arrays(n, total, total_sq, None)
    rated = n >= 2
    if not rated.any():
        return float("inf")
    squares = total_sq[rated] - total[rated] ** 2 / n[rated]
    return float(max(squares.sum(), 0.0) / (n[rated] - 1).sum())


def shrunk_variance(n, total, total_sq, *, prior: float | None = None) -> np.ndarray:
    """Each item's sample variance shrunk towards ``prior`` (default: the pooled variance)."""
    n, total, total_sq, _ = _arrays(n, total, total_sq, None)
    prior = pooled_variance(n, total, total_sq) if prior is None else prior
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.where(n > 0, np.maximum(total_sq - total**2 / np.where(n > 0, n, 1), 0.0), 0.0)
    df = np.maximum(n - 1, 0)
    return (PRIOR_WEIGHT * prior + squares) / (PRIOR_WEIGHT + df)


def half_widths(policy: AdaptivePolicy, n, total, total_sq, *, pending=None, prior: float | None = None) -> np.ndarray:
    """Projected CI half-width of each item's mean once its pending answers are in (inf without answers)."""
    n, total, total_sq, pending = _arrays(n, total, total_sq, pending)
    m = n + pending
    variance = shrunk_variance(n, total, total_sq, prior=prior)
    with np.errstate(divide="ignore"):
        return np.where(m > 0, policy.z * np.sqrt(variance / np.where(m > 0, m, 1)), np.inf)


def needs_more(policy: AdaptivePolicy, n, total, total_sq, *, pending=None, prior: float | None = None) -> np.ndarray:
    """True for items that should get another answer."""
    n, total, total_sq, pending = _arrays(n, total, total_sq, pending)
    m = n + pending
    imprecise = half_widths(policy, n, total, total_sq, pending=pending, prior=prior) > policy.target_half_width
    return (m < policy.cap) & ((m < policy.min_answers) | imprecise)


def priorities(policy: AdaptivePolicy, n, total, total_sq, *, pending=None, prior: float | None = None) -> np.ndarray:
    """Expected variance reduction of each item's mean from one more answer; 0 for items that are done."""
    n, total, total_sq, pending = _arrays(n, total, total_sq, pending)
    m = n + pending
    variance = shrunk_variance(n, total, total_sq, prior=prior)
    # Below the minimum an item comes first whatever its spread (which may still look like zero).
    gain = np.where(m < policy.min_answers, np.inf, variance / np.maximum(m * (m + 1), 1))
    return np.where(needs_more(policy, n, total, total_sq, pending=pending, prior=prior), gain, 0.0)


def next_round(policy: AdaptivePolicy, n, total, total_sq, *, pending=None) -> np.ndarray:
    """Indices of the items that get one more answer in the next round, most uncertain first
    (ties by index, so the order is reproducible)."""
    n, total, total_sq, pending = _arrays(n, total, total_sq, pending)
    prior = pooled_variance(n, total, total_sq)
    score = priorities(policy, n, total, total_sq, pending=pending, prior=prior)
    chosen = np.flatnonzero(score > 0)
    return chosen[np.argsort(-score[chosen], kind="stable")]
