"""Every list endpoint and staff list page of the experiments app answers in a fixed number of queries.

Routes come from ``experiments/urls.py`` (staff pages) and ``experiments/api/urls.py`` (API); the lists
among them are checked with N rows and again with 2N rows (``tests/factories/world.py``). Worker routes
serve one assignment at a time and have their own tests.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from experiments.services.allocation import allocate_assignment
from experiments.services.participants import create_invite_links, enter_via_mturk
from tests.factories.experiments import answer_trial
from tests.factories.world import populate
from tests.support.query_counts import assert_flat

N = 3


@pytest.fixture
def world(db):
    return populate(n=N, tag="a")


def _grow():
    populate(n=N, tag="b")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "ceiling"),
    [
        ("experiments_api:list", 5),  # session + user, count, page
        ("workspace:experiments", 4),
    ],
)
def test_experiment_lists_cost_the_same_queries_for_more_experiments(
    world, staff_client, django_assert_max_num_queries, name, ceiling
):
    assert_flat(
        staff_client,
        reverse(name),
        grow=_grow,
        ceiling=ceiling,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "ceiling"),
    [
        ("experiments_api:detail", 4),
        ("experiments_api:progress", 12),  # one aggregate per figure; none per item or worker
        ("workspace:experiment", 20),
        ("experiments:preview", 5),
    ],
)
def test_per_experiment_pages_cost_the_same_queries_for_more_rows(
    world, staff_client, django_assert_max_num_queries, name, ceiling
):
    def grow_this_experiment():
        # More workers, answers and invitations on the same experiment (its design is fixed).
        for i in range(N):
            participant = enter_via_mturk(experiment=world, worker_id=f"MORE{i}", assignment_id=f"M{i}")
            answer_trial(allocate_assignment(participant=participant), 0, rating=5)
        create_invite_links(experiment=world, count=N)
        _grow()

    assert_flat(
        staff_client,
        reverse(name, args=[world.pk]),
        grow=grow_this_experiment,
        ceiling=ceiling,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


@pytest.mark.django_db
def test_the_api_list_shows_each_experiments_counts(world, staff_client):
    other = populate(n=2, tag="b")
    rows = {row["slug"]: row for row in staff_client.get(reverse("experiments_api:list")).json()["results"]}
    assert rows[world.slug]["n_items"] == world.items.count() > 0
    assert rows[world.slug]["n_bundles"] == world.bundles.count() > 0
    assert rows[other.slug]["n_items"] == other.items.count() != rows[world.slug]["n_items"]


@pytest.mark.django_db
def test_the_export_costs_the_same_queries_for_more_answers(world, staff_client, django_assert_max_num_queries):
    def more_answers():
        for i in range(N):
            participant = enter_via_mturk(experiment=world, worker_id=f"EXTRA{i}", assignment_id=f"E{i}")
            answer_trial(allocate_assignment(participant=participant), 0, rating=2)

    assert_flat(
        staff_client,
        reverse("experiments_api:export") + f"?experiment={world.pk}",
        grow=more_answers,
        ceiling=10,  # the experiments, then a query or two per exported table (seven tables), whatever the rows
        django_assert_max_num_queries=django_assert_max_num_queries,
    )
