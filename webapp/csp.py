"""Content-Security-Policy: one strict policy for every page, staff and worker alike (django-csp).

The base policy is ``settings.CONTENT_SECURITY_POLICY``: scripts and styles only from this site's own
static files (no inline script, no inline style, no ``eval``), no plugins, no ``<base>``, forms post only
here, and no framing. The middleware sends it on every response of the full Django stack — staff
pages, the admin, the REST API, media — that does not carry a policy already. The variants, all built
from that base here:

* worker pages and the worker JSON API (:func:`set_worker_policy`, called by ``worker_headers`` and the
  MTurk entry): ``frame-ancestors`` from ``MVFIT_WORKER_FRAME_ANCESTORS``, because MTurk frames them;
  the view sets the header (a cached string), and the middleware, which runs on the worker API's lean
  path too (``webapp/lean.py``), leaves a response that has one alone without building a policy;
* the MTurk completion page: ``form-action`` also allows ``MTURK_SUBMIT_HOSTS`` (the externalSubmit form);
* media in S3 (:func:`media_sources`): ``media-src`` also allows the object store's origin, which the
  staff library page plays signed URLs from (workers get their media through ``/w/m/``, this site).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlsplit

from csp.constants import HEADER, SELF
from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.signals import setting_changed
from django.http import HttpResponseBase

from annotation.files import is_local


@functools.cache
def media_sources() -> tuple[str, ...]:
    """Origins besides this site that pages play media from: the object store's, for S3 media."""
    if is_local(default_storage):
        return ()
    parts = urlsplit(default_storage.url("csp-origin-probe"))  # signed locally, no request is made
    return (f"{parts.scheme}://{parts.netloc}",)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the media store's origin added to ``media-src`` and ``img-src`` (poster
    frames) when it is remote."""

    def process_response(self, request, response):
        # A response that carries its policy already (worker pages and the worker API set theirs) needs no
        # policy built: django-csp would build it and then not send it. (Unless a report-only policy is set.)
        if HEADER in response and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None):
            return response
        return super().process_response(request, response)

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and (origins := media_sources()):
            update = dict(parts.update or {})
            update["media-src"] = [SELF, *origins, *update.get("media-src", [])]
            update["img-src"] = [SELF, *origins, *update.get("img-src", [])]  # the library's poster frames
            parts.update = update
        return parts


@functools.cache
def _worker_policy(frame_ancestors: str, submit_hosts: tuple[str, ...]) -> str:
    return build_policy(
        replace={"frame-ancestors": frame_ancestors.split()},
        update={"form-action": list(submit_hosts)} if submit_hosts else None,
    )


def worker_policy(*, submit_hosts: Iterable[str] = ()) -> str:
    """The policy of worker pages (framed by MTurk); ``submit_hosts``: where forms may also post."""
    return _worker_policy(settings.MVFIT_WORKER_FRAME_ANCESTORS, tuple(submit_hosts))


def set_worker_policy(response: HttpResponseBase, *, submit_hosts: Iterable[str] = ()) -> HttpResponseBase:
    """Give ``response`` the worker policy, unless a more specific one was set already."""
    if HEADER not in response:
        response[HEADER] = worker_policy(submit_hosts=submit_hosts)
    return response


def _forget(*, setting: str, **kwargs) -> None:
    if setting in ("CONTENT_SECURITY_POLICY", "STORAGES", "MVFIT_WORKER_FRAME_ANCESTORS"):
        media_sources.cache_clear()
        _worker_policy.cache_clear()


setting_changed.connect(_forget)


def _report_policy() -> dict[str, list[str]]:
    import base64
    import hashlib

    from analysis.report.style import CSS  # the stylesheet alone: no pandas or matplotlib in the web app

    return {
        "style-src": [f"'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'"],
        "img-src": [SELF, "data:"],
    }


# The analysis report is one self-contained file: its one <style> block (allowed by hash, nothing else inline)
# and its figures as data: URIs. Every page serving a report (the demo's, an experiment's) adds this policy
# with ``csp_update``; everything else stays under the site's strict policy.
REPORT_POLICY = _report_policy()
