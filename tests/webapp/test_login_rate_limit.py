"""Finding 11: staff logins are rate limited per (user name, client address) with django-axes — on the admin
login form and on the API's Basic authentication; the right password is refused during the lockout."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests/conftest.py: staff_user
ADMIN_LOGIN = "/admin/login/"
API = "/api/experiments/"


def admin_login(client, password: str, **extra):
    return client.post(ADMIN_LOGIN, {"username": "experimenter", "password": password, "next": "/admin/"}, **extra)


def basic(password: str, user: str = "experimenter") -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_fifteen_wrong_passwords_then_the_right_one_is_refused_on_the_admin_login(client, staff_user, settings):
    for _ in range(15):
        assert admin_login(client, "guess").status_code in (200, 429)
    response = admin_login(client, PASSWORD)

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text and f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in text
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.seconds
    assert not logged_in(client)


def test_the_lockout_starts_at_the_configured_limit_and_ends_after_the_cool_off(client, staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert admin_login(client, "guess").status_code == 200  # the form again, with its error
    assert admin_login(client, PASSWORD).status_code == 302 and logged_in(client)  # below the limit
    client.logout()
    for _ in range(3):
        admin_login(client, "guess")  # a success reset the count: three new failures lock
    assert admin_login(client, PASSWORD).status_code == 429 and not logged_in(client)

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert admin_login(client, PASSWORD).status_code == 302 and logged_in(client)


def test_the_lockout_is_per_user_and_address_and_a_forged_forwarded_for_does_not_escape_it(
    client, staff_user, django_user_model
):
    django_user_model.objects.create_user(username="colleague", password=PASSWORD, is_staff=True)
    for n in range(15):
        admin_login(client, "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")  # ignored: no trusted proxy
    assert admin_login(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429

    other_address = admin_login(client, PASSWORD, REMOTE_ADDR="192.0.2.44")
    assert other_address.status_code == 302  # the staff member is not locked out everywhere
    client.logout()
    colleague = client.post(ADMIN_LOGIN, {"username": "colleague", "password": PASSWORD, "next": "/admin/"})
    assert colleague.status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(client, staff_user, settings):
    settings.MVFIT_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(15):
        admin_login(client, "guess", HTTP_X_FORWARDED_FOR="evil, 203.0.113.9", **proxy)
    assert admin_login(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy).status_code == 429
    # Another client behind the same proxy is not locked out.
    assert admin_login(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_fifteen_wrong_passwords_then_the_right_one_is_refused_on_the_api_with_basic_auth(client, staff_user):
    assert client.get(API, **basic(PASSWORD)).status_code == 200
    for _ in range(15):
        assert client.get(API, **basic("guess")).status_code in (401, 403, 429)

    response = client.get(API, **basic(PASSWORD))

    assert response.status_code == 429
    assert response.json()["code"] == "login_locked" and "Too many failed logins" in response.json()["detail"]


def test_test_client_and_shell_logins_without_a_request_still_work(client, staff_user):
    assert client.login(username="experimenter", password=PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_the_worker_api_chain_does_no_login_rate_limiting_work():
    # The worker JSON API runs at webapp.lean.LeanRequestMiddleware; axes sits below it.
    middleware = settings.MIDDLEWARE
    assert middleware.index("axes.middleware.AxesMiddleware") > middleware.index("webapp.lean.LeanRequestMiddleware")
