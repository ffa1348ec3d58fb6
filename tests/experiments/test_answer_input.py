"""The rules an answer must meet (``experiments/answer_input.py``), without a database.

The hostile requests themselves, through the real view, are in ``test_worker_api_hostile.py``; here
are the properties the module promises: the depth scan agrees with the parser, nothing but
``AnswerRejected`` ever comes out of parsing, the time window's edges are where the docs say, what
the runner can send always passes, and presentation tokens bind exactly one (assignment, position).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import answer_input
from experiments.answer_input import (
    CLOCK_SKEW,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS_BYTES,
    OUTBOX_MAX_AGE,
    AnswerInput,
    AnswerRejected,
    check,
    check_envelope,
    parse,
    presentation_token,
    presented_trial,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=20,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def answer(**changes) -> AnswerInput:
    fields = {
        "idempotency_key": "k" * 32,
        "assignment_ref": "a" * 20,
        "position": 3,
        "rating": 4,
        "rt_ms": 900,
        "play_count": 1,
        "presented_at": NOW - timedelta(seconds=9),
        "answered_at": NOW - timedelta(seconds=1),
        "events": [],
    }
    return AnswerInput(**(fields | changes))


def code_of(call) -> str | None:
    try:
        call()
    except AnswerRejected as exc:
        return exc.code
    return None


@given(json_values, st.text(alphabet='[]{}"\\', max_size=8))
def test_the_depth_scan_agrees_with_the_parser_even_with_brackets_and_escapes_in_strings(value, tricky):
    body = json.dumps({"s": tricky, "v": value}).encode()
    assert answer_input._max_depth(body) == depth({"s": tricky, "v": value})


@settings(max_examples=300)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_parsing_anything_yields_an_answer_or_a_refusal_never_another_error(body):
    try:
        check(parse(body), now=NOW)  # any exception but a refusal fails the test
    except AnswerRejected as exc:
        assert exc.status in (400, 413) and exc.code


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(list(answer().__dict__)), json_values, max_size=6))
def test_checking_any_field_values_only_ever_refuses_cleanly(changes):
    try:
        check(answer(**changes), now=NOW)
    except AnswerRejected as exc:
        assert exc.status == 400 and exc.code


def test_the_depth_scan_stays_linear_on_strings_that_never_close():
    """Each quote of ``"a\\"a\\"…`` opens a string that never closes: rescanning from every one of them
    took seconds for 30 KB; lexing as the parser does takes milliseconds."""
    body = b'[[[[[["' + b'a\\"' * 10_000
    started = time.perf_counter()
    assert code_of(lambda: parse(body)) == "too_deep"
    assert time.perf_counter() - started < 1.0


def test_depth_is_refused_before_parsing_and_a_huge_body_before_anything():
    assert code_of(lambda: parse(b"[" * 50_000)) == "too_large"
    assert code_of(lambda: parse(b"[" * 10_000)) == "too_deep"
    assert code_of(lambda: parse(b'{"a": "' + b"[" * 10_000 + b'"}')) is None  # brackets in a string are text
    assert code_of(lambda: parse(b" " * (MAX_BODY_BYTES + 1))) == "too_large"


@pytest.mark.parametrize(
    ("delta", "accepted"),
    [
        (CLOCK_SKEW, True),
        (CLOCK_SKEW + timedelta(milliseconds=1), False),
        (-(OUTBOX_MAX_AGE + CLOCK_SKEW), True),
        (-(OUTBOX_MAX_AGE + CLOCK_SKEW + timedelta(milliseconds=1)), False),
        (timedelta(hours=-14), True),  # a clock showing local time as if it were UTC, at UTC+14
        (timedelta(hours=12), True),  # ... and at UTC-12
    ],
)
def test_client_times_are_kept_within_the_window_and_refused_outside_it(delta, accepted):
    for name in ("presented_at", "answered_at"):
        code = code_of(lambda name=name: check(answer(**{name: NOW + delta}), now=NOW))
        assert code == (None if accepted else "bad_time"), (name, delta)


def test_client_times_are_stored_in_utc_as_given():
    given_at = datetime.fromisoformat("2026-12-01T13:00:00.250+01:00")
    checked = check(answer(presented_at=given_at), now=NOW)
    assert checked.presented_at == given_at and checked.presented_at.tzinfo == UTC


def test_the_largest_answer_the_runner_can_send_is_accepted():
    """runner.js keeps at most 60 events (the last one counting those dropped), strings cut to 100."""
    biggest = {"type": "play_rejected", "slot": "right", "message": "N" * 100}
    waiting = {"type": "waiting", "slot": "right", "t": 2**53 - 1, "at": 123456.789, "code": 4}
    events = [biggest] * 30 + [waiting] * 29 + [{"type": "truncated", "dropped": 10**9}]
    assert all(len(json.dumps(e).encode()) <= MAX_EVENT_BYTES for e in events)
    assert len(json.dumps(events).encode()) <= MAX_EVENTS_BYTES
    body = {
        "idempotency_key": "0d6f4b1e-6f0a-4a4e-9f43-5b0a3c1d2e3f",
        "assignment": "a" * 20,
        "position": 49,
        "rating": 7,
        "rt_ms": 86_400_000,
        "play_count": 1000,
        "presented_at": "2026-12-01T11:59:50.123Z",
        "answered_at": "2026-12-01T11:59:59.999Z",
        "events": events,
        "presentation": "gAAAAAB" + "x" * 113,
    }
    encoded = json.dumps(body).encode()
    assert len(encoded) <= MAX_BODY_BYTES
    checked = check(parse(encoded), now=NOW)
    assert checked.events == events and checked.rt_ms == 86_400_000


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=iso-8859-1", False),
        ("text/json", False),
        ("", False),
    ],
)
def test_the_envelope_accepts_json_in_utf_8_only(content_type, ok):
    code = code_of(lambda: check_envelope(content_type=content_type, content_length="10"))
    assert code == (None if ok else "bad_content_type")


def test_a_presentation_token_names_one_assignment_and_position_and_expires():
    token = presentation_token(assignment_id=41, position=7)
    assert presented_trial(token) == (41, 7)
    assert "41" not in token
    assert presented_trial(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert presented_trial(None) is None and presented_trial("") is None
    # A token minted for another purpose (a media URL) proves nothing.
    from webapp.tokens import seal

    assert presented_trial(seal({"a": 41, "p": 7}, purpose="media")) is None
    with mock.patch("time.time", return_value=time.time() - OUTBOX_MAX_AGE.total_seconds() - 60):
        old = presentation_token(assignment_id=41, position=7)
    assert presented_trial(old) is None
