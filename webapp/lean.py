"""A shorter request path for the worker JSON API, with Django's public middleware API only.

During a study the worker API (``/w/s/<token>/api/...``: trial fetches and answers) takes hundreds
of requests a second while everything else is occasional. Those views authenticate by the token in
the URL and are CSRF-exempt, so sessions, CSRF, authentication, messages and django-axes have
nothing to do there; skipping them saves a measurable share of each request's CPU (see
``docs/experiments.md``, "Load benchmark").

A view opts in with :func:`lean_request`. :class:`LeanRequestMiddleware` sits in
``settings.MIDDLEWARE`` right below the middleware every response needs -- security headers, the
Content-Security-Policy (``webapp/csp.py``), static files, Content-Length, X-Frame-Options -- and
above the rest. It resolves the path (``django.urls.resolve``, remembered per path:
:func:`resolve_cached`); a view marked lean is called right there, so the middleware below it never
runs for that request, and every other request passes on
unchanged (Django resolves it again, a few microseconds). Whatever the view returns or raises travels
back up through the middleware above exactly as it would from the bottom of the chain: Django wraps
every middleware in its exception-to-response conversion, so an ``Http404`` becomes the same 404
page, with the same headers, as on the full path.

Before, a second ``WSGIHandler`` with its own middleware list did this by overriding Django's
private ``load_middleware`` internals; this is the same request path through the documented
middleware protocol, and it serves ASGI too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver, get_urlconf
from django.urls.resolvers import ResolverMatch

LEAN_ATTRIBUTE = "mvfit_lean_request"


def lean_request(view: Callable) -> Callable:
    """Mark a view as needing no session, user, CSRF check or messages: it runs below
    :class:`LeanRequestMiddleware` only. Put it outermost (on top of the other decorators)."""
    setattr(view, LEAN_ATTRIBUTE, True)
    return view


MEMO_MAX_PATH = 256  # characters; longer paths are resolved every time, not remembered


@functools.lru_cache(maxsize=16_384)
def _resolve(resolver, path: str) -> ResolverMatch:
    return resolver.resolve(path)


def resolve_cached(path: str) -> ResolverMatch:
    """``django.urls.resolve``, remembered per (URLconf, path) for the lean paths' hot loop.

    A worker sends its answers to one path (``/w/s/<token>/api/answers``) 50-100 times in a study, and
    walking the URL patterns was a tenth of an answer's CPU. The key is the resolver object itself, which
    Django replaces when the URLconf changes (``clear_url_caches``), so a stale match cannot be served;
    paths that do not resolve are not remembered. A match is shared between requests, so nothing may
    change it (nothing in mvfit does: the views get its args and kwargs). Only paths up to
    ``MEMO_MAX_PATH`` characters are remembered (a worker-API path is about 80): a client sending huge
    paths cannot make the memo hold megabytes."""
    resolver = get_resolver(get_urlconf())
    if len(path) > MEMO_MAX_PATH:
        return resolver.resolve(path)
    return _resolve(resolver, path)


class LeanRequestMiddleware:
    """Call views marked :func:`lean_request` directly, skipping the middleware below this one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            match = resolve_cached(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, LEAN_ATTRIBUTE, False):
            return self.get_response(request)
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if callable(getattr(response, "render", None)):  # a TemplateResponse, rendered as Django's handler would
            response = response.render()
        if not isinstance(response, HttpResponseBase):
            raise ValueError(f"The lean view {match.view_name} returned {type(response).__name__}, not a response.")
        return response
