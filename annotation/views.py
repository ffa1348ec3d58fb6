"""HTML views of the stimulus library: health check, public credits, staff library browser, media files."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation import selectors
from annotation.models import RenderState

_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")


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


def _range_response(path: Path, header: str, content_type: str) -> HttpResponse:
    size = path.stat().st_size
    match = _RANGE.match(header.strip())
    if not match or (not match["start"] and not match["end"]):
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"})
    if match["start"]:
        start = int(match["start"])
        end = min(int(match["end"]), size - 1) if match["end"] else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(match["end"])), size - 1
    if start > end or start >= size:
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"})
    length = end - start + 1

    def chunks():
        with path.open("rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0 and (block := fh.read(min(1 << 16, remaining))):
                remaining -= len(block)
                yield block

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response


@require_GET
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a file of local media storage to staff, with HTTP Range support (browsers seek in <video>).

    Staff only: crowd workers get their trial's media through the experiments app's signed, per-assignment
    URLs, never by guessing storage names. Only routed with local storage; S3 hands out signed URLs itself.
    """
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("not found")
    try:
        full = Path(default_storage.path(path))
    except (SuspiciousFileOperation, NotImplementedError) as exc:
        raise Http404("not found") from exc
    if not full.is_file() or full.name.startswith("."):
        raise Http404("not found")
    content_type = mimetypes.guess_type(full.name)[0] or "application/octet-stream"
    if full.suffix == ".m4a":
        content_type = "audio/mp4"
    if header := request.headers.get("Range"):
        return _range_response(full, header, content_type)
    response = FileResponse(full.open("rb"), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    return response
