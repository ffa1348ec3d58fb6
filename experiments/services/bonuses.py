"""Paying a bonus rule: exactly what the preview showed, through each participant's channel.

The caller passes the total it previewed; if the study moved on since (someone finished, a check was
scored), the totals differ and nothing is paid, so nobody is paid an amount the experimenter did not see.
Each channel's recruiter (``experiments.recruiters``) pays at most once per rule (its key), so re-running
after a crash or a partial failure pays only those not yet paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from experiments.bonus_rules import BonusRule, BonusRuleError
from experiments.models import Experiment
from experiments.recruiters import ChannelResult, recruiter_for
from experiments.selectors.bonus import bonus_preview


@dataclass
class BonusPayment:
    paid_cents: int = 0
    by_channel: dict[str, ChannelResult] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)  # channel -> cents the panel/lab pays itself

    @property
    def failed(self) -> list[tuple[int, str]]:
        return [f for result in self.by_channel.values() for f in result.failed]


def pay_bonus_rule(
    *,
    experiment: Experiment,
    rule: BonusRule,
    previewed_total_cents: int,
    reason: str,
    actor: str,
    confirm_live: bool = False,
) -> BonusPayment:
    if not reason.strip():
        raise BonusRuleError("a bonus needs a reason: workers read it.")
    preview = bonus_preview(experiment=experiment, rule=rule)
    if preview.total_cents != previewed_total_cents:
        raise BonusRuleError(
            f"the bonuses now total {preview.total_cents / 100:.2f}, not the {previewed_total_cents / 100:.2f} "
            "previewed: preview again, then pay."
        )
    payment = BonusPayment()
    for channel in sorted({line.channel for line in preview.lines}):
        lines = [line for line in preview.lines if line.channel == channel]
        recruiter = recruiter_for(channel)
        if recruiter is None:
            payment.outside[channel] = sum(line.cents for line in lines)
            continue
        result = recruiter.pay_bonuses(
            experiment=experiment,
            amounts_cents={line.participant: line.cents for line in lines},
            reason=reason.strip(),
            key=rule.key(experiment.pk),
            actor=actor,
            confirm_live=confirm_live,
        )
        payment.by_channel[channel] = result
        paid = set(result.done)
        payment.paid_cents += sum(line.cents for line in lines if line.participant.pk in paid)
    return payment
