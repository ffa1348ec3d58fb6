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


def format_table(rows: list[tuple[str, Accuracy]]) -> str:
    """Langlois Table 1: test accuracy ± half-width of the 95 % Wilson interval, next to chance."""
    lines = [
        f"{'Model':<22} {'Test accuracy':<16} {'95 % CI (Wilson)':<18} {'n':>6}  p (> 50 %, binomial)",
        f"{'Random guessing':<22} {'50 %':<16}",
    ]
    for label, acc in rows:
        lines.append(
            f"{label:<22} {f'{100 * acc.value:.1f} ± {100 * acc.half_width:.1f} %':<16} "
            f"{f'{100 * acc.low:.1f}-{100 * acc.high:.1f} %':<18} {acc.n:>6}  {acc.p_value:.2g}"
        )
    short = "; ".join(
        ["Random 50 %"]
        + [f"{label.split(' ')[0]} {100 * acc.value:.1f} ± {100 * acc.half_width:.1f} %" for label, acc in rows]
    )
    return "\n".join([*lines, "", short])
