"""HTML views of the stimulus library: health check, public credits, staff library browser, media files."""

from __future__ import annotations

from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation import selectors
from annotation.media.formats import served_as
from annotation.models import RenderState
from webapp.http import ranged_file_response


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers and the test harness."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@require_GET
def credits(request: HttpRequest) -> HttpResponse:
    """Public page: the licence and attribution of every imported file."""
    return render(request, "annotation/credits.html", selectors.credited_assets())


@require_GET
@staff_member_required
def library(request: HttpRequest) -> HttpResponse:
    """Staff page: library counts and the rendered pairings, playable in the browser."""
    state = request.GET.get("state") or None
    if state not in (None, *RenderState.values):
        state = None
    page = Paginator(selectors.pairings_for_browsing(state=state), 24).get_page(request.GET.get("page"))
    return render(
        request,
        "annotation/library.html",
        {"summary": selectors.library_summary(), "page": page, "state": state, "states": RenderState.choices},
    )


@require_GET
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a file of local media storage to staff, with HTTP Range support (browsers seek in <video>).

    Staff only: crowd workers get their trial's media through the experiments app's signed, per-assignment
    URLs, never by guessing storage names. Only routed with local storage; S3 hands out signed URLs itself.

    The content type comes from the stored name's extension (``annotation.media.formats``; the library
    names stored copies after their probed container), always with ``nosniff``; anything that is not
    media a browser plays inline is sent as a download, so no stored file ever renders as a page.
    """
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("not found")
    try:
        full = Path(default_storage.path(path))
    except (SuspiciousFileOperation, NotImplementedError) as exc:
        raise Http404("not found") from exc
    if not full.is_file() or full.name.startswith("."):
        raise Http404("not found")
    content_type, inline = served_as(full.name)
    return ranged_file_response(request, path, content_type=content_type, attachment=not inline)
