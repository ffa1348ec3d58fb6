"""Sealed worker-facing tokens: opaque, tamper-proof, purpose-bound, expiring, rotation-safe."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.tokens import BadToken, seal, unseal

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_round_trip(payload):
    assert unseal(seal(payload, purpose="t"), purpose="t") == payload


def test_payload_is_not_readable():
    token = seal({"assignment": 987654321, "slot": "left"}, purpose="media")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"987654321" not in raw and b"left" not in raw
    assert "987654321" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_two_seals_of_one_payload_differ():
    assert seal({"a": 1}, purpose="t") != seal({"a": 1}, purpose="t")


def test_other_purpose_is_refused():
    with pytest.raises(BadToken):
        unseal(seal({"a": 1}, purpose="invite"), purpose="media")


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], lambda t: t[:-10], str.upper]
)
def test_tampered_token_is_refused(mangle):
    with pytest.raises(BadToken):
        unseal(mangle(seal({"a": 1}, purpose="t")), purpose="t")


@pytest.mark.parametrize("junk", ["", "x", "é" * 50, "A" * 5000, None, 12])
def test_junk_is_refused(junk):
    with pytest.raises(BadToken):
        unseal(junk, purpose="t")


def test_expiry(monkeypatch):
    token = seal({"a": 1}, purpose="t")
    assert unseal(token, purpose="t", max_age_s=60) == {"a": 1}
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(BadToken):
        unseal(token, purpose="t", max_age_s=60)


def test_rotated_secret_key_still_opens_old_tokens(settings):
    token = seal({"a": 1}, purpose="t")
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-after-rotation", [old]
    assert unseal(token, purpose="t") == {"a": 1}
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(BadToken):
        unseal(token, purpose="t")
