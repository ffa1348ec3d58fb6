"""Read-side queries behind the experimenter's lists and pages (the staff views and the staff API).

Lists carry their per-row counts as annotations (correlated ``COUNT`` subqueries, so two counts never
multiply each other's joins), so a page of experiments costs the same number of queries however many
experiments, items or bundles there are; ``tests/experiments/test_query_counts.py`` holds it to that.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from experiments.models import Bundle, Experiment, Item


def _count_of(model: type, *, field: str = "experiment", outer: str = "pk") -> Coalesce:
    """``COUNT(*)`` of ``model`` rows whose ``field`` is the outer row's ``outer``, as a subquery (0 if none)."""
    rows = model.objects.filter(**{field: OuterRef(outer)}).order_by().values(field).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n"), output_field=IntegerField()), 0)


def experiments_with_counts() -> QuerySet[Experiment]:
    """Every experiment, newest first, annotated with ``n_items`` and ``n_bundles`` (what the API shows)."""
    return Experiment.objects.annotate(n_items=_count_of(Item), n_bundles=_count_of(Bundle)).order_by(
        "-created_at", "-pk"
    )


def experiment_with_counts(pk: int) -> Experiment:
    """One experiment annotated like :func:`experiments_with_counts` (raises ``Experiment.DoesNotExist``)."""
    return experiments_with_counts().get(pk=pk)


def experiments_by_ids(ids: Iterable[int | str]) -> tuple[list[Experiment], list[int]]:
    """The experiments with the given ids (ordered by id), and the ids that match none."""
    wanted = {int(i) for i in ids}
    found = list(Experiment.objects.filter(pk__in=wanted).order_by("pk"))
    return found, sorted(wanted - {e.pk for e in found})


def bundles_of(experiment: Experiment) -> QuerySet[Bundle]:
    """The experiment's bundles, each annotated with ``n_bundles`` (how many the experiment has)."""
    return Bundle.objects.filter(experiment=experiment).annotate(n_bundles=_count_of(Bundle, outer="experiment"))
