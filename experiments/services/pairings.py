"""The one place experiments ask the stimulus library for pairings."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.services.scheduling import request_pairings
from experiments.design.config import DesignError


@transaction.atomic
def ensure_pairings(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The pairing id of every (clip_id, excerpt_id), created if new; the library schedules the
    rendering of those not rendered yet once the design's transaction commits."""
    wanted = sorted(set(pairs))
    try:
        pairings = request_pairings(pairs=wanted)
    except ValidationError as exc:
        raise DesignError("; ".join(exc.messages)) from exc
    return {pair: pairing.pk for pair, pairing in zip(wanted, pairings, strict=True)}
