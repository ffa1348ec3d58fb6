"""A shorter request path for the worker JSON API.

During a study the worker API (``/w/s/<token>/api/...``: trial fetches and answers) takes hundreds
of requests a second while everything else is occasional. Those views authenticate by the token in
the URL and are CSRF-exempt, so sessions, CSRF, authentication, messages and static files have
nothing to do there; skipping them saves a measurable share of each request's CPU (see
``docs/experiments.md``, "Load benchmark"). The middleware that shapes the response -- security
headers, Content-Length, X-Frame-Options -- still runs, in the order ``settings.MIDDLEWARE`` gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

WORKER_API_PATH = re.compile(r"^/w/s/[^/]+/api/")
WORKER_API_MIDDLEWARE = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }
)


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler with only the listed middleware (all synchronous, as Django's are)."""

    def __init__(self, middleware: Iterable[str]) -> None:
        self.middleware_paths = list(middleware)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        if is_async:
            raise NotImplementedError("LeanWSGIHandler serves WSGI only")
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware_paths):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class WorkerApiRouter:
    """Send worker API requests through the lean handler and everything else through the full one."""

    def __init__(self, *, full: Callable, lean: Callable) -> None:
        self.full, self.lean = full, lean

    def __call__(self, environ: dict, start_response: Callable):
        handler = self.lean if WORKER_API_PATH.match(environ.get("PATH_INFO", "")) else self.full
        return handler(environ, start_response)


def build_application(full: WSGIHandler) -> WorkerApiRouter:
    lean = LeanWSGIHandler(m for m in settings.MIDDLEWARE if m in WORKER_API_MIDDLEWARE)
    return WorkerApiRouter(full=full, lean=lean)
