"""Accuracy with a confidence interval and a test against chance (Langlois Table 1 style)."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from mvfit_common.stats import wilson_interval


@dataclass(frozen=True)
class Accuracy:
    correct: int
    n: int
    low: float  # 95 % Wilson score interval
    high: float
    p_value: float  # one-sided exact binomial test of accuracy > chance

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def to_dict(self) -> dict:
        return {
            "accuracy": self.value,
            "correct": self.correct,
            "n": self.n,
            "ci95_low": self.low,
            "ci95_high": self.high,
            "p_value_vs_chance": self.p_value,
        }


def accuracy(correct: int, n: int, *, chance: float = 0.5) -> Accuracy:
    low, high = (float(bound) for bound in wilson_interval(correct, n))
    p_value = float(stats.binomtest(correct, n, chance, alternative="greater").pvalue) if n else float("nan")
    return Accuracy(correct=int(correct), n=int(n), low=low, high=high, p_value=p_value)
