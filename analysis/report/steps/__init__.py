"""The report's steps, in the order they run and appear (docs/analysis.md, "Adding a report step").

Later steps read what earlier ones left on the context (``cleaned`` after exclusions, ``ratings``
after ratings, ``clustering`` and ``shares`` for the simulation check), so order matters.
"""

from __future__ import annotations

from analysis.report.context import Step
from analysis.report.steps import (
    bradley_terry,
    ceiling,
    exclusions,
    mixed,
    montages,
    participants,
    preference,
    profiles,
    provenance,
    ratings,
    reliability,
    simulation,
)

STEPS: list[Step] = [
    provenance.STEP,
    participants.STEP,
    exclusions.STEP,
    ratings.STEP,
    mixed.STEP,
    reliability.STEP,
    profiles.STEP,
    preference.STEP,
    ceiling.STEP,
    bradley_terry.STEP,
    montages.STEP,
    simulation.STEP,
]
