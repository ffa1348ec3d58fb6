"""Reads for the recruitment pages: Prolific studies and panel links with their counts, one query each."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from recruitment.models import PanelLink, ProlificStudy


def prolific_study_list() -> QuerySet[ProlificStudy]:
    """Prolific studies with their experiment, entries and submissions (all, and awaiting review)."""
    return (
        ProlificStudy.objects.select_related("experiment")
        .annotate(
            n_entries=Count("entries", distinct=True),
            n_submissions=Count("submissions", distinct=True),
            n_awaiting_review=Count(
                "submissions", filter=Q(submissions__status__iexact="AWAITING REVIEW"), distinct=True
            ),
        )
        .order_by("-created_at", "-pk")
    )


def panel_link_list() -> QuerySet[PanelLink]:
    """Panel links with their experiment and how many panel members entered."""
    return (
        PanelLink.objects.select_related("experiment")
        .annotate(n_entries=Count("entries"))
        .order_by("-created_at", "-pk")
    )
