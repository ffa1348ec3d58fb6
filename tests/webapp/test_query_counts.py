"""Every admin changelist of the library and the experiments answers in a fixed number of queries.

The changelists are the staff's list pages in the admin (``webapp/urls.py`` routes ``admin/``); the
list is built from the admin registry, so a newly registered model is covered at once. Each page is
measured with N rows and again with 2N rows (``tests/factories/world.py``). MTurk's have their own test.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories.world import populate
from tests.support.query_counts import assert_flat

N = 3
APPS = ("annotation", "experiments")
CHANGELISTS = sorted(
    f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    for model in admin.site._registry
    if model._meta.app_label in APPS
)


def test_every_changelist_of_the_apps_is_checked():
    assert "admin:experiments_experiment_changelist" in CHANGELISTS
    assert "admin:annotation_pairing_changelist" in CHANGELISTS
    assert len(CHANGELISTS) >= 12


@pytest.mark.django_db
@pytest.mark.parametrize("name", CHANGELISTS)
def test_admin_changelists_cost_the_same_queries_for_more_rows(staff_client, django_assert_max_num_queries, name):
    populate(n=N, tag="a")
    assert_flat(
        staff_client,
        reverse(name),
        grow=lambda: populate(n=N, tag="b"),
        ceiling=10,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )
