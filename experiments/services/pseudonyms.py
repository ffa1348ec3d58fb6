"""Pseudonymous worker ids for exports: W + 16 hex digits of HMAC-SHA256(MVFIT_PSEUDONYM_KEY, raw id)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def pseudonym_key() -> str:
    key = settings.MVFIT_PSEUDONYM_KEY
    if not key:
        raise ImproperlyConfigured(
            "MVFIT_PSEUDONYM_KEY is not set, so worker ids cannot be pseudonymised: export a long random "
            "MVFIT_PSEUDONYM_KEY (see .env.example) and keep it stable so pseudonyms stay comparable across exports."
        )
    return key


def pseudonymise(raw_worker_id: str, *, key: str) -> str:
    digest = hmac.new(key.encode(), raw_worker_id.encode(), hashlib.sha256).hexdigest()
    return f"W{digest[:16]}"
