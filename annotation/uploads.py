"""The upload body limit, enforced before the body is read (``POST /api/library/uploads/``).

Two checks, both against ``imports.max_file_bytes()`` (``MVFIT_MAX_UPLOAD_MB``):

* :func:`guard_upload` runs before the view authenticates or parses anything: a ``Content-Length``
  over the limit (plus an allowance for the form's other fields) is answered 413 at once, without
  reading a byte of the body.
* :class:`LimitedUploadHandler`, put first in the request's upload handlers, counts the bytes of each
  file part as the body streams in and stops with 413 as soon as one passes the limit, whatever the
  ``Content-Length`` said (a body without one, or many fields of which one is large). What the other
  handlers spooled to a temporary file so far is removed.

Under WSGI (granian as shipped, and gunicorn), nothing reads the body before the view, so a refused body is
never read (``tests/webapp/test_serve.py`` sends a real granian a declared 50 GB upload). A
reverse proxy in front should still cap bodies itself (nginx ``client_max_body_size``): it also
protects the worker slot from slow senders.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"


def _limit_mb() -> int:
    return settings.MVFIT_MAX_UPLOAD_MB


def body_limit_bytes(file_limit: int) -> int:
    """The largest acceptable body: one file at the limit plus the other form fields."""
    return file_limit + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """Stops the multipart parser as soon as a file part exceeds ``limit`` bytes (413)."""

    def __init__(self, request: HttpRequest, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            for handler in self.request.upload_handlers:
                if handler is not self:
                    handler.upload_interrupted()
            raise UploadTooLarge(f"the file is larger than the {_limit_mb()} MB upload limit")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers build the file


def guard_upload(request: HttpRequest, *, file_limit: int) -> None:
    """Refuse an oversized body from its ``Content-Length`` alone, and count the rest while it streams.

    Call before anything touches ``request.POST``/``FILES``/``data`` (a DRF view's ``initial``).
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > body_limit_bytes(file_limit):
        raise UploadTooLarge(
            f"the request body ({declared / 2**20:.1f} MB) is larger than the {_limit_mb()} MB upload limit"
        )
    request.upload_handlers.insert(0, LimitedUploadHandler(request, limit=file_limit))
