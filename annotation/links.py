"""Links stored with library media (``source_url``): absolute http(s) URLs only, and the one check for it.

A ``javascript:`` or ``data:`` link on the public credits page runs script on the staff origin when
clicked, so every way a URL enters -- manifest rows, LICENSES.md credits, the upload API, admin forms,
the Python API -- goes through :func:`validate_http_url` (the model field's validator, the serializer's,
the import service's), the database refuses anything else (a CHECK constraint on ``source_url``), and
the credits template renders a link only for what :func:`is_http_url` accepts.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

SCHEMES = ("http", "https")
# The same rule as a regular expression, for the database constraint (PostgreSQL and SQLite).
DATABASE_PATTERN = r"^https?://"

_validator = URLValidator(schemes=list(SCHEMES), message="Enter an http:// or https:// URL.", code="http_url")


def validate_http_url(value: str) -> None:
    """Django validator: an absolute http(s) URL (an empty value is the field's ``blank`` business)."""
    if value:
        _validator(value)


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as a source URL, or ``None`` when it can (empty is fine)."""
    try:
        validate_http_url(value)
    except ValidationError:
        shown = value if len(value) <= 80 else f"{value[:77]}..."
        return f"source_url must be an http:// or https:// link, not {shown!r}"
    return None


def is_http_url(value: str | None) -> bool:
    """True for a non-empty absolute http(s) URL: the only kind ever rendered as a link."""
    return bool(value) and url_problem(value) is None
