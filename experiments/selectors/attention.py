"""A participant's attention-check results (the rule itself: ``experiments.attention``)."""

from __future__ import annotations

from django.db.models import Count, Q

from experiments.models import Participant, Response


def attention_score(participant: Participant) -> tuple[int, int]:
    """(attention checks answered correctly, attention checks answered), in one query."""
    totals = Response.objects.filter(assignment__participant=participant, is_catch=True).aggregate(
        total=Count("pk"), passed=Count("pk", filter=Q(catch_passed=True))
    )
    return totals["passed"], totals["total"]
