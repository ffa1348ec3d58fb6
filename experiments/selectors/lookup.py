"""Find an experiment the way people name it on the command line: by id or by slug."""

from __future__ import annotations

from experiments.models import Experiment


def experiment_by_ref(ref: str) -> Experiment | None:
    """The experiment whose id is ``ref`` (if it is all digits), else the one whose slug is ``ref``."""
    found = Experiment.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    return found or Experiment.objects.filter(slug=ref).first()
