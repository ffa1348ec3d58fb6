"""Every list endpoint and staff list page of the library answers in a fixed number of queries.

Routes from ``annotation/urls.py``: the import batches (API list and detail), the library progress,
the staff library browser and the public credits page; each is measured with N rows and again with 2N
rows (``tests/factories/world.py``). Health check and media files are not lists.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import ImportBatch
from tests.factories.world import populate
from tests.support.query_counts import assert_flat

N = 3


@pytest.fixture
def world(db):
    return populate(n=N, tag="a")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "ceiling"),
    [
        ("annotation:api-imports", 6),  # session + user, count, batches, their items
        ("annotation:api-progress", 8),
        ("annotation:library", 16),  # summary 6, filter choices 3, sets 2, page count + rows, session + user
        ("annotation:credits", 4),
    ],
)
def test_library_lists_cost_the_same_queries_for_more_rows(
    world, staff_client, django_assert_max_num_queries, name, ceiling
):
    assert_flat(
        staff_client,
        reverse(name),
        grow=lambda: populate(n=N, tag="b"),
        ceiling=ceiling,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


@pytest.mark.django_db
def test_an_import_batch_costs_the_same_queries_for_more_files(world, staff_client, django_assert_max_num_queries):
    batch = ImportBatch.objects.get()

    def more_files():
        for i in range(N):
            batch.items.create(path=f"/tmp/more/{i}.mp4", kind="video", outcome="rejected", reason="x")

    assert_flat(
        staff_client,
        reverse("annotation:api-import-detail", args=[batch.pk]),
        grow=more_files,
        ceiling=5,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )
