"""Staff login rate limiting with django-axes: the backend, the client address and the lockout answer.

Failed logins are counted per (user name, client address) on every HTTP login path — the admin login
form, the DRF API's Basic and session authentication — and after ``MVFIT_LOGIN_FAILURE_LIMIT`` failures
that pair is refused, right password or not, for ``MVFIT_LOGIN_COOLOFF_MINUTES`` (each further attempt
during the lockout restarts the cool-off). Nothing here runs on the worker pages or the worker API:
workers authenticate by the token in the URL, never by ``authenticate()``.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import authentication


class LoginRateLimitBackend(AxesStandaloneBackend):
    """Axes' lockout check (first in ``AUTHENTICATION_BACKENDS``; ModelBackend then checks the password).

    ``authenticate()`` called without a request — a shell, a management command, the test client's
    ``login()`` — is not an HTTP login: there is no client address to count against, so the check is left
    to the HTTP paths, which Django and DRF always call with the request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's HTTP Basic authentication, handing Django's own request to ``authenticate()``.

    Axes marks a locked-out login on the request it is given; with DRF's wrapper that mark would never
    reach ``AxesMiddleware``, and a locked-out client would get a bare 403 instead of the lockout answer.
    """

    def authenticate_credentials(self, userid, password, request=None):
        return super().authenticate_credentials(userid, password, getattr(request, "_request", request))


def client_ip(request: HttpRequest) -> str:
    """The address failed logins are counted against (``AXES_CLIENT_IP_CALLABLE``).

    ``REMOTE_ADDR`` by default. Behind ``MVFIT_TRUSTED_PROXY_COUNT`` reverse proxies that each append the
    address they saw to ``X-Forwarded-For``, the address the outermost trusted proxy saw: entries further
    left were written by the client and could be anything.
    """
    proxies = settings.MVFIT_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with a message that says what happened and when to try again (JSON on the API)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    message = (
        f"Too many failed logins for this account from your address: login is locked for {minutes} minutes. "
        "Try again later, or ask an administrator to unlock it (manage.py axes_reset_username)."
    )
    headers = {"Retry-After": str(minutes * 60)} if minutes else {}
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "login_locked"}, status=429, headers=headers)
    return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8", headers=headers)


def staff_required(view):
    """The one guard of every staff page: anonymous and non-staff users are sent to the workspace login
    (``settings.LOGIN_URL``, ``/login/``), which brings them back to the page afterwards."""
    return staff_member_required(view, login_url=settings.LOGIN_URL)
