"""Review rules: turn catch-trial results into *suggestions*. Nothing here talks to MTurk; an
experimenter confirms (or dismisses) each suggestion before anything happens to a worker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from experiments.attention import check_pass_rate, failed_attention


@dataclass(frozen=True)
class CatchScore:
    worker_id: str
    assignment_id: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclass(frozen=True)
class Suggestion:
    worker_id: str
    assignment_id: str
    reason: str


def suggest_rejections(scores: Iterable[CatchScore], *, min_pass_rate: float) -> list[Suggestion]:
    """Assignments whose attention-check pass rate is below ``min_pass_rate`` (0..1).

    Assignments without catch trials are never suggested: no evidence, no rejection.
    """
    check_pass_rate(min_pass_rate)
    return [
        Suggestion(
            worker_id=score.worker_id,
            assignment_id=score.assignment_id,
            reason=(
                f"You answered {score.passed} of {score.total} attention checks correctly; at least "
                f"{min_pass_rate:.0%} were required, as stated in the instructions."
            ),
        )
        for score in scores
        if failed_attention(passed=score.passed, total=score.total, min_pass_rate=min_pass_rate)
    ]
