"""The bonus preview: what a rule pays each participant of a study, and through which channel (one query)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from experiments.bonus_rules import BonusRule
from experiments.models import AssignmentStatus, Experiment, Participant
from experiments.recruiters import recruiter_for


@dataclass(frozen=True)
class BonusLine:
    participant: Participant
    completed_bundles: int
    correct_checks: int
    cents: int

    @property
    def channel(self) -> str:
        return self.participant.source

    @property
    def paid_here(self) -> bool:
        """Whether the platform pays this channel (MTurk, Prolific), or the panel/lab pays it outside."""
        return recruiter_for(self.channel) is not None


@dataclass(frozen=True)
class BonusPreview:
    rule: BonusRule
    lines: list[BonusLine]

    @property
    def total_cents(self) -> int:
        return sum(line.cents for line in self.lines)

    def by_channel(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            totals[line.channel] = totals.get(line.channel, 0) + line.cents
        return dict(sorted(totals.items()))


def bonus_preview(*, experiment: Experiment, rule: BonusRule) -> BonusPreview:
    """Every participant who would receive something under ``rule`` (simulated participants excluded)."""
    rows = (
        Participant.objects.filter(experiment=experiment, is_simulated=False)
        .annotate(
            n_completed=Count("assignments", filter=Q(assignments__status=AssignmentStatus.COMPLETED), distinct=True),
            n_correct=Count(
                "assignments__responses",
                filter=Q(assignments__responses__is_catch=True, assignments__responses__catch_passed=True),
                distinct=True,
            ),
        )
        .order_by("pk")
    )
    lines = []
    for p in rows:
        cents = rule.amount_cents(completed_bundles=p.n_completed, correct_checks=p.n_correct)
        if cents:
            lines.append(BonusLine(p, p.n_completed, p.n_correct, cents))
    return BonusPreview(rule, lines)


def recent_experiments(*, limit: int = 100) -> list[Experiment]:
    """The experiments to choose from on the bonus page, newest first."""
    return list(Experiment.objects.order_by("-pk")[:limit])
