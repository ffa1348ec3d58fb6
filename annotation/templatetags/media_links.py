"""Template filters for links stored with library media (see ``annotation.links``)."""

from __future__ import annotations

from django import template

from annotation.links import is_http_url

register = template.Library()


@register.filter
def http_url(value: str | None) -> str:
    """``value`` if it is an absolute http(s) URL, else ``""``: use it for every stored ``href``."""
    return value if is_http_url(value) else ""
