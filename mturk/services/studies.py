"""MTurk studies that are not tied to an experiment (an external task page): create one, change its cap."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from mturk.fees import CENT
from mturk.models import MTurkStudy


@transaction.atomic
def save_study(*, name: str, spending_cap: Decimal | None) -> tuple[MTurkStudy, bool]:
    """The study called ``name`` (created when missing, which needs a cap); a cap given updates it."""
    study = MTurkStudy.objects.select_for_update().filter(name=name).first()
    if study is None:
        if spending_cap is None:
            raise ValueError(f"No study {name!r} yet: create it with --cap <USD>.")
        study = MTurkStudy(name=name, spending_cap=spending_cap.quantize(CENT))
        study.full_clean()
        study.save()
        return study, True
    if spending_cap is not None:
        study.spending_cap = spending_cap.quantize(CENT)
        study.full_clean()
        study.save(update_fields=["spending_cap"])
    return study, False
