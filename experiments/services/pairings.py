"""The one place experiments ask the stimulus library for pairings."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from annotation.models import Pairing


@transaction.atomic
def ensure_pairings(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Get or create the pairing of every (clip_id, excerpt_id); returns their ids.

    Creating rows is idempotent (unique (clip, excerpt)); rendering is the library's job and is
    scheduled by it once the rows exist.
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    Pairing.objects.bulk_create(
        [Pairing(clip_id=c, excerpt_id=e) for c, e in wanted], ignore_conflicts=True, batch_size=2000
    )
    clip_ids = {c for c, _ in wanted}
    found = Pairing.objects.filter(clip_id__in=clip_ids).values_list("clip_id", "excerpt_id", "pk")
    ids = {(c, e): pk for c, e, pk in found}
    return {pair: ids[pair] for pair in wanted}
