from django.core.management.base import BaseCommand, CommandError

from experiments.bonus_rules import BonusRule, BonusRuleError
from experiments.selectors.bonus import bonus_preview
from experiments.selectors.lookup import experiment_by_ref
from experiments.services.bonuses import pay_bonus_rule


class Command(BaseCommand):
    help = (
        "Preview a bonus rule (flat, per correct attention check, per completed bundle) for every participant of "
        "an experiment, per channel; with --pay --total <the previewed total> --reason, pay it through MTurk and "
        "Prolific (once per rule: safe to re-run). Amounts in cents."
    )

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--flat", type=int, default=0, help="cents to everyone who completed a bundle")
        parser.add_argument("--per-check", type=int, default=0, help="cents per correct attention check")
        parser.add_argument("--per-bundle", type=int, default=0, help="cents per completed bundle")
        parser.add_argument("--max", type=int, default=None, help="at most this many cents per participant")
        parser.add_argument("--pay", action="store_true", help="pay what the preview shows")
        parser.add_argument("--total", type=int, default=None, help="--pay: the previewed total in cents")
        parser.add_argument("--reason", default="", help="--pay: what workers read")
        parser.add_argument("--confirm-live", action="store_true", help="--pay: required for live MTurk")

    def handle(self, *args, **o):
        experiment = experiment_by_ref(o["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {o['experiment']!r}.")
        try:
            rule = BonusRule(
                flat_cents=o["flat"],
                per_check_cents=o["per_check"],
                per_bundle_cents=o["per_bundle"],
                max_cents=o["max"],
            )
            if o["pay"]:
                return self._pay(experiment, rule, o)
        except BonusRuleError as exc:
            raise CommandError(str(exc)) from None
        preview = bonus_preview(experiment=experiment, rule=rule)
        self.stdout.write(f"rule: {rule.describe()}")
        for line in preview.lines:
            self.stdout.write(
                f"  participant {line.participant.pk:>6} {line.channel:<8} {line.completed_bundles} bundle(s), "
                f"{line.correct_checks} correct check(s): {line.cents / 100:.2f}"
                + ("" if line.paid_here else "  (paid by the panel/lab, not from here)")
            )
        for channel, cents in preview.by_channel().items():
            self.stdout.write(f"{channel}: {cents / 100:.2f}")
        self.stdout.write(f"total {preview.total_cents / 100:.2f} for {len(preview.lines)} participant(s)")
        if preview.lines:
            self.stdout.write(f"pay it with: --pay --total {preview.total_cents} --reason '...'")

    def _pay(self, experiment, rule, o) -> None:
        if o["total"] is None:
            raise CommandError("--pay needs --total: the total the preview showed, in cents.")
        payment = pay_bonus_rule(
            experiment=experiment,
            rule=rule,
            previewed_total_cents=o["total"],
            reason=o["reason"],
            actor="command line",
            confirm_live=o["confirm_live"],
        )
        for channel, cents in payment.outside.items():
            self.stdout.write(f"{channel}: {cents / 100:.2f} to pay outside the platform (see the preview)")
        self.stdout.write(f"paid {payment.paid_cents / 100:.2f}")
        if payment.failed:
            raise CommandError(
                f"{len(payment.failed)} not paid (re-run to retry them): "
                + "; ".join(f"participant {pk}: {why}" for pk, why in payment.failed[:5])
            )
