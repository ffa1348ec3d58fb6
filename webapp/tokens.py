"""Opaque tokens for URLs that workers see: sealed (encrypted and authenticated), expiring, per purpose.

Django's ``signing`` only *signs*: its payload is base64 JSON that anyone can read, so a signed media
URL would tell a worker a database id (and how ids of other rows look). Worker-facing tokens are
therefore sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``):

* nothing in a token is readable without the key; a changed byte fails authentication;
* each *purpose* ("media", "invite", ...) has its own key derived from ``SECRET_KEY``, so a token
  minted for one purpose is refused for another;
* ``unseal(..., max_age_s=...)`` refuses tokens older than that (Fernet carries the mint time);
* ``SECRET_KEY_FALLBACKS`` keep tokens minted before a key rotation valid until they expire.

Tokens are URL-safe base64 (``A-Z a-z 0-9 - _``) with the padding removed, so they fit in a path segment.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["BadToken", "seal", "unseal"]


class BadToken(ValueError):
    """The token is malformed, was tampered with, was minted for another purpose, or has expired."""


def _derive(secret: str, purpose: str) -> bytes:
    digest = hmac.new(secret.encode(), f"mvfit.tokens:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


@functools.lru_cache(maxsize=64)
def _fernet(purpose: str, secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(secret, purpose)) for secret in secrets])


def _keys(purpose: str) -> MultiFernet:
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return _fernet(purpose, tuple(secrets))


def seal(payload: Any, *, purpose: str) -> str:
    """A token that only :func:`unseal` with the same ``purpose`` can open. ``payload`` must be JSON-able."""
    data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return _keys(purpose).encrypt(data).decode().rstrip("=")


def unseal(token: str, *, purpose: str, max_age_s: int | None = None) -> Any:
    """The payload of a token minted by :func:`seal` for ``purpose``; raises :class:`BadToken` otherwise."""
    if not isinstance(token, str) or not 40 <= len(token) <= 4096:
        raise BadToken("malformed token")
    padded = token + "=" * (-len(token) % 4)
    try:
        data = _keys(purpose).decrypt(padded.encode("ascii"), ttl=max_age_s)
        return json.loads(data)
    except (InvalidToken, UnicodeEncodeError, ValueError) as exc:
        raise BadToken("invalid or expired token") from exc


def unseal_nonce(token: str, *, purpose: str, max_age_s: int | None = None) -> str | None:
    """The nonce a ``seal({"n": nonce}, purpose=...)`` token names, or ``None`` for a bad, expired or other token."""
    try:
        payload = unseal(token, purpose=purpose, max_age_s=max_age_s)
    except BadToken:
        return None
    nonce = payload.get("n") if isinstance(payload, dict) else None
    return nonce if isinstance(nonce, str) else None
