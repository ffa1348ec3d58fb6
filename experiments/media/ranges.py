"""Serving stored media with HTTP Range support (Chromium needs 206 responses to seek and to
learn a video's duration) and without revealing the file's name."""

from __future__ import annotations

import re

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _stream(name: str, start: int, length: int):
    with default_storage.open(name, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block


def ranged_file_response(request: HttpRequest, name: str, *, content_type: str, max_age_s: int) -> HttpResponse:
    size = default_storage.size(name)
    start, end, status = 0, size - 1, 200
    header = request.headers.get("Range", "")
    match = RANGE.match(header.strip()) if header else None
    if header and match:
        first, last = match.groups()
        if first == "" and last == "":
            match = None
        elif first == "":
            start, end = max(size - int(last), 0), size - 1  # suffix range: the last N bytes
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if match is not None:
            if start >= size or start > end:
                response = HttpResponse(status=416)
                response["Content-Range"] = f"bytes */{size}"
                return response
            status = 206
    length = end - start + 1
    response = StreamingHttpResponse(_stream(name, start, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    # Private: URLs are per worker; long enough for the preloaded next trial to be reused.
    response["Cache-Control"] = f"private, max-age={max_age_s}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
