"""Bonus rules (pure): a flat amount for finishing, an amount per correct attention check, an amount per
completed bundle -- added up per participant, optionally capped. ``experiments.selectors.bonus`` applies a
rule to a study's participants for the preview; ``experiments.services.bonuses`` pays what was previewed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


class BonusRuleError(ValueError):
    """A rule that cannot be applied (negative amounts, nothing to pay)."""


@dataclass(frozen=True)
class BonusRule:
    flat_cents: int = 0  # once, to everyone who completed at least one bundle
    per_check_cents: int = 0  # per attention check answered correctly
    per_bundle_cents: int = 0  # per completed bundle
    max_cents: int | None = None  # at most this per participant

    def __post_init__(self) -> None:
        amounts = (self.flat_cents, self.per_check_cents, self.per_bundle_cents)
        if any(a < 0 for a in amounts) or (self.max_cents is not None and self.max_cents < 1):
            raise BonusRuleError("bonus amounts must be positive (and a maximum at least 1 cent).")
        if not any(amounts):
            raise BonusRuleError("a bonus rule needs a flat amount, an amount per check or one per bundle.")

    def amount_cents(self, *, completed_bundles: int, correct_checks: int) -> int:
        if completed_bundles < 1:
            return 0
        total = self.flat_cents + self.per_check_cents * correct_checks + self.per_bundle_cents * completed_bundles
        return min(total, self.max_cents) if self.max_cents is not None else total

    def describe(self) -> str:
        parts = [
            f"{label} {cents / 100:.2f}"
            for label, cents in (
                ("flat", self.flat_cents),
                ("per correct check", self.per_check_cents),
                ("per completed bundle", self.per_bundle_cents),
            )
            if cents
        ]
        text = " + ".join(parts)
        return text + (f", at most {self.max_cents / 100:.2f}" if self.max_cents is not None else "")

    def key(self, experiment_id: int) -> str:
        """A short, stable name of this rule on this experiment: paying it twice pays once."""
        blob = json.dumps([experiment_id, asdict(self)], sort_keys=True).encode()
        return "rule-" + hashlib.sha256(blob).hexdigest()[:20]
