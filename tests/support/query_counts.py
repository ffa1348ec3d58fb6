"""Query-count checks for list endpoints: the count must not grow with the rows (no N+1).

``queries_for`` measures one GET; the tests measure a page with N rows, double the rows, and assert
the same page answers within the first measurement (``django_assert_max_num_queries``) and within a
fixed ceiling, so an N+1 fails whichever way it creeps in.
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_for(client, url: str) -> int:
    """Queries one GET of ``url`` runs (it must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def assert_flat(client, url: str, *, grow, ceiling: int, django_assert_max_num_queries) -> None:
    """``url`` costs the same number of queries after ``grow()`` doubled the rows, and at most ``ceiling``."""
    before = queries_for(client, url)
    assert before <= ceiling, f"{url}: {before} queries (ceiling {ceiling})"
    grow()
    with django_assert_max_num_queries(before):
        response = client.get(url)
    assert response.status_code == 200
