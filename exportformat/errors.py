"""The one exception for unreadable or invalid exports."""

from __future__ import annotations


class ExportError(ValueError):
    """Input that is not a valid mvfit export; the message names the file, column and line(s) or row(s)."""
