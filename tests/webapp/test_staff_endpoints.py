"""Every experimenter endpoint needs a staff login: checked for every route in the URL configuration.

The list is built from the resolver, so a new view is covered the moment it is routed; only the
routes in PUBLIC (health check, credits, the worker side) may answer without a staff login.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Route prefixes anyone may reach. Worker routes authenticate by an unguessable token or signature.
# Worker entry pages (MTurk, Prolific, panel links) verify their own parameters (tests/recruitment, tests/mturk).
PUBLIC = ("healthz", "credits/", "w/", "mturk/e/", "prolific/e/", "r/")
# Whole routes anyone may reach: the front page (it names no study), the workspace login and logout.
PUBLIC_EXACT = ("", "login/", "logout/")
DUMMY = {"int": "1", "str": "x", "slug": "x", "path": "x.mp4"}


def _routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _url(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY[m.group(1) or "str"], route)


STAFF_ROUTES = sorted(
    route
    for route in _routes(get_resolver())
    if not route.startswith(("admin/", *PUBLIC)) and route not in PUBLIC_EXACT and "(?P<" not in route
)


def test_the_staff_route_list_is_not_empty():
    # Guards the filter above: the API, the staff pages and /media/ are all in it.
    assert {"api/experiments/", "api/mturk/batches/", "api/library/imports/", "experiments/"} <= set(STAFF_ROUTES)
    assert any(route.startswith("media/") for route in STAFF_ROUTES)


@pytest.fixture
def non_staff(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="member"))  # no password: nothing to hash
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("route", STAFF_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_and_non_staff_users_are_refused(route, method, non_staff):
    url = _url(route)
    for who, client in (("anonymous", Client()), ("non-staff", non_staff)):
        response = getattr(client, method)(url)
        # 302 to the login page, 401/403 from the API; /media/ answers 404 so that it hides what exists.
        # 405: a GET-only page refuses the method before it looks at the user; the view does not run.
        allowed = (404, 405) if route.startswith("media/") else (302, 401, 403, 405)
        assert response.status_code in allowed, (who, method, url, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/login/?next="), (who, method, url, response["Location"])
