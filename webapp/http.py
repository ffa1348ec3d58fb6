"""Serving stored files with HTTP Range support: the one implementation every app uses.

Browsers need 206 Partial Content answers to seek in ``<video>``/``<audio>`` and, for some files, to
learn the duration at all. How a ``Range`` header is read (RFC 9110, section 14):

* ``bytes=A-B`` sends bytes A..B (B is clipped to the last byte); ``bytes=A-`` (open range) sends A to
  the end; ``bytes=-N`` (suffix range) sends the last N bytes, or the whole file if it is shorter.
* Unsatisfiable: a first byte at or past the end, B < A, or ``bytes=-0`` (also any suffix range of an
  empty file). The answer is 416 with ``Content-Range: bytes */<size>``.
* Ignored, so the whole file is sent with 200: a header that does not parse, another unit than bytes,
  ``bytes=-``, and several ranges (``bytes=0-99,200-299``). RFC 9110 lets a server ignore ``Range``;
  multipart/byteranges answers are never produced because media players do not ask for them.

Responses stream from the storage (local or S3) in chunks, always with ``X-Content-Type-Options:
nosniff``, and never name the file: the worker-facing media URLs must not reveal what a file is.
``attachment=True`` adds a bare ``Content-Disposition: attachment`` (no file name) so a browser
downloads the file instead of rendering it (the staff media view, for anything not playable media).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.core.files.storage import Storage, default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

_SINGLE_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")
CHUNK_SIZE = 64 * 1024


class RangeNotSatisfiable(ValueError):
    """The requested range lies outside the file (answer 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte positions ``header`` asks for in a file of ``size`` bytes.

    ``None`` means "send the whole file" (no header, or one that is ignored: see the module docstring).
    Raises :class:`RangeNotSatisfiable` for a range that cannot be served.
    """
    match = _SINGLE_RANGE.match(header.strip()) if header else None
    if match is None or (not match["start"] and not match["end"]):
        return None
    if match["start"]:
        first = int(match["start"])
        last = min(int(match["end"]), size - 1) if match["end"] else size - 1
    else:  # suffix range: the last N bytes
        first, last = max(size - int(match["end"]), 0), size - 1
    if first >= size or first > last:
        raise RangeNotSatisfiable(header)
    return first, last


def ranged_bytes_response(request: HttpRequest, data: bytes, *, content_type: str) -> HttpResponse:
    """Like :func:`ranged_file_response`, for media made in memory (a generated sound): all of ``data``,
    or the one range the request asks for."""
    size = len(data)
    try:
        requested = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    first, last = requested if requested is not None else (0, size - 1)
    response = HttpResponse(data[first : last + 1], status=200 if requested is None else 206, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    if requested is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _chunks(storage: Storage, name: str, first: int, length: int) -> Iterator[bytes]:
    with storage.open(name, "rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0 and (block := handle.read(min(CHUNK_SIZE, remaining))):
            remaining -= len(block)
            yield block


def ranged_file_response(
    request: HttpRequest,
    name: str,
    *,
    content_type: str,
    max_age_s: int | None = None,
    storage: Storage | None = None,
    attachment: bool = False,
) -> HttpResponse:
    """Stream stored file ``name`` (all of it, or the one range the request asks for).

    ``max_age_s`` adds ``Cache-Control: private, max-age=...`` (private: media URLs are per worker).
    """
    storage = storage or default_storage
    size = storage.size(name)
    try:
        requested = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    first, last = requested if requested is not None else (0, size - 1)
    length = last - first + 1
    status = 200 if requested is None else 206
    response = StreamingHttpResponse(_chunks(storage, name, first, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    if max_age_s is not None:
        response["Cache-Control"] = f"private, max-age={max_age_s}"
    response["X-Content-Type-Options"] = "nosniff"
    if attachment:
        response["Content-Disposition"] = "attachment"
    return response
