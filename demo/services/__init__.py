"""The demo's studies, simulated crowd, stand-in search features and report (``python manage.py demo``).

Everything here builds on the platform's own services -- experiments are created with
``create_experiment``, simulated participants pass consent, the audio check, allocation and answer
submission through the same functions the worker API calls -- so the demo shows the real flow
rather than rows written behind the platform's back. See docs/demo.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Simulated participants are marked ``Participant.is_simulated`` (the progress page counts them; exports list
# their pseudonyms in manifest.json). Their worker ids are readable labels in a namespace of their own.
SIMULATED_WORKER_PREFIX = "sim:"
DEMO_SEED = 2024  # the demo's sampling, design and crowd seed (``--seed``): its one definition


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its files: ``$MVFIT_DATA_DIR/demo`` (``rm -rf data/`` resets everything)."""

    root: Path

    @property
    def features(self) -> Path:
        return self.root / "search" / "stand-in-features.npz"

    @property
    def machine_distances(self) -> Path:
        return self.root / "search" / "machine_distances.csv"

    @property
    def crowd(self) -> Path:
        return self.root / "crowd.json"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def report_html(self) -> Path:
        return self.report / "report.html"


def demo_paths() -> DemoPaths:
    return DemoPaths(root=Path(settings.DATA_DIR) / "demo")
