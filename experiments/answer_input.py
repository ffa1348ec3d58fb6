"""What a worker's answer may contain: every field's type, range and size, checked in one place.

An answer reaches the platform as the JSON body of ``POST /w/s/<token>/api/answers`` (``parse``) or
as an :class:`AnswerInput` built in Python (the simulated crowd, tests). Either way
``experiments.services.answers.record_answer`` calls :func:`check` before it touches the database,
so the hand-written fast path and the general ORM path store only answers that passed the same
rules, and a refused answer changes nothing (no row, no counter, no ``last_activity_at``).

The order of the checks is the order of their cost: the request's headers (``check_envelope``:
media type, encoding, declared length -- before the body is read), the body's size, its nesting
depth (a cheap scan, so that ``json.loads`` never recurses deeply), its syntax (UTF-8 JSON, finite
numbers only), then each field (:func:`check`). Every refusal is an :class:`AnswerRejected` with an
HTTP status, a machine-readable ``code`` and, for a field, its name; ``docs/experiments.md`` lists
them ("The worker API: codes and limits").

**Timestamps.** ``presented_at`` and ``answered_at`` come from the worker's clock, so they are kept
as given (converted to UTC) when they fall within a window around the server's clock, and refused
otherwise -- never clamped, which would store a made-up time. The window is
``[now - OUTBOX_MAX_AGE - CLOCK_SKEW, now + CLOCK_SKEW]``: an answer may wait in the browser's outbox
until the worker comes back (``OUTBOX_MAX_AGE``, 30 days, far beyond any assignment's life), and a
client clock may be wrong by up to ``CLOCK_SKEW`` (26 h: the distance between the furthest civil time
zones, UTC-12 and UTC+14, so a computer showing the right local time under the wrong zone still
passes). What lies outside is not a clock error but garbage, such as the year-10000 instant that
once made every export of a study fail.

**Presentation tokens.** Each trial a worker fetches carries a sealed token (``webapp.tokens``,
purpose ``"presented"``) naming the assignment and position it was served for; Fernet adds the
server's mint time. The answer echoes it, and the service refuses an answer whose token is missing,
forged, expired or minted for another assignment or position (``not_presented``). The fetch writes
nothing to the database: the proof travels with the worker.

**Assignment handles.** The state API names the worker's assignment by an opaque handle
(:func:`assignment_ref`, no database id) and every answer echoes it, so an answer queued for an
earlier assignment cannot land on the current one.

Django-light: only ``webapp.tokens`` and ``django.utils.crypto`` (Django settings for the keys) are
imported; no models, no ORM.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from django.utils.crypto import salted_hmac

from webapp import tokens

# --- limits ------------------------------------------------------------------------------------------
MAX_BODY_BYTES = 32 * 1024  # a real answer is < 1 KB plus its events
# The deepest valid answer is 3 levels (answer -> events -> event); deeper bodies are refused before
# parsing, by a scan that does not recurse.
MAX_JSON_DEPTH = 4
MAX_POSITION = 100_000
MAX_RT_MS = 24 * 3600 * 1000
MAX_PLAY_COUNT = 1000
MAX_EVENTS = 100
MAX_EVENT_KEYS = 16
MAX_EVENT_TEXT = 256  # characters of one string value in an event
MAX_EVENT_BYTES = 512  # one event, as compact UTF-8 JSON
MAX_EVENTS_BYTES = 16 * 1024  # all events of one answer
MAX_TIMESTAMP_CHARS = 40
OUTBOX_MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(hours=26)

PRESENTATION_PURPOSE = "presented"
SIDES = ("", "left", "right")
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
_REF = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,512}\Z")
_EVENT_KEY = re.compile(r"[A-Za-z0-9_]{1,32}\Z")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})\Z", re.ASCII)
_JSON_TYPES = ("application/json",)
# A JSON string, lexed as the parser does; an unterminated one runs to the end of the body (which
# keeps the scan linear: no string is ever rescanned from a later quote).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INT64 = 2**63
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class AnswerRejected(Exception):
    """The answer cannot be stored. ``status`` is the HTTP status, ``code`` the machine-readable reason,
    ``field`` the offending field (if one), ``progress`` the assignment's progress (some 409s)."""

    def __init__(
        self, message: str, *, status: int, code: str, field: str | None = None, progress: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field
        self.progress = progress or {}

    def as_json(self) -> dict:
        body = {"error": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body | self.progress


@dataclass(frozen=True)
class AnswerInput:
    idempotency_key: str
    assignment_ref: str
    position: int
    rating: int | None = None
    chosen_side: str = ""
    rt_ms: int | None = None
    play_count: int = 1
    presented_at: datetime | None = None
    answered_at: datetime | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    presentation: str | None = None  # the trial's presentation token, echoed
    skipped: str = ""  # "playback": the trial's media would not play, so it is skipped (no rating, no side)


# Why a worker may skip a trial: its media would not play (the runner offers it after repeated errors).
SKIP_REASONS = ("playback",)


def _refuse(code: str, message: str, *, name: str | None = None, status: int = 400) -> AnswerRejected:
    return AnswerRejected(message, status=status, code=code, field=name)


# --- the request: headers and body -------------------------------------------------------------------


def check_envelope(*, content_type: str, content_length: str | None, content_encoding: str = "") -> None:
    """Refuse a request by its headers, before its body is read."""
    media_type, _, params = (content_type or "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media_type.strip().lower() not in _JSON_TYPES or charset != "utf-8":
        raise _refuse("bad_content_type", "Send the answer as application/json (UTF-8).", status=415)
    if content_encoding.strip().lower() not in ("", "identity"):
        raise _refuse("bad_content_type", "Send the answer uncompressed.", status=415)
    if content_length and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES:
        raise _refuse("too_large", f"An answer is at most {MAX_BODY_BYTES} bytes.", status=413)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _max_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body``, without parsing it (strings are skipped)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    steps = (1 if b in b"[{" else -1 for b in brackets)
    return max(accumulate(steps, initial=0))


def _moment(data: dict, name: str) -> datetime | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    message = f"{name} must be an ISO 8601 timestamp with a time zone (2026-11-22T21:03:04.123Z)."
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP_CHARS or not _TIMESTAMP.match(value):
        raise _refuse("bad_time", message, name=name)
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # 2024-02-30, month 13, hour 24, an offset of 24 h or more
        raise _refuse("bad_time", f"{name} is not a real date and time.", name=name) from None


def parse(body: bytes) -> AnswerInput:
    """The answer in a request body; raises :class:`AnswerRejected` for anything that is not one.

    Only the JSON is checked here (size, depth, syntax, finite numbers, an object, timestamp syntax);
    the fields' types, ranges and sizes are :func:`check`'s, which ``record_answer`` runs.
    """
    if len(body) > MAX_BODY_BYTES:
        raise _refuse("too_large", f"An answer is at most {MAX_BODY_BYTES} bytes.", status=413)
    # Nesting can be no deeper than the number of brackets: the exact scan runs only when it might be.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _max_depth(body) > MAX_JSON_DEPTH:
        raise _refuse("too_deep", f"The answer's JSON may nest at most {MAX_JSON_DEPTH} levels deep.")
    try:
        data = json.loads(body.decode("utf-8"), parse_float=_finite_float, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _refuse("bad_json", "The body must be UTF-8 JSON with finite numbers (no NaN or Infinity).") from None
    if not isinstance(data, dict):
        raise _refuse("bad_json", "The body must be a JSON object.")
    play_count = data.get("play_count")
    return AnswerInput(
        idempotency_key=data.get("idempotency_key"),
        assignment_ref=data.get("assignment"),
        position=data.get("position"),
        rating=data.get("rating"),
        chosen_side=data.get("chosen_side") if data.get("chosen_side") is not None else "",
        rt_ms=data.get("rt_ms"),
        play_count=1 if play_count is None else play_count,
        presented_at=_moment(data, "presented_at"),
        answered_at=_moment(data, "answered_at"),
        events=data.get("events") if data.get("events") is not None else [],
        presentation=data.get("presentation") or None,
        skipped=data.get("skipped") if data.get("skipped") is not None else "",
    )


# --- the fields -------------------------------------------------------------------------------------


def check(answer: AnswerInput, *, now: datetime) -> AnswerInput:
    """Refuse an answer with a field of the wrong type, out of range or too large. Returns the answer
    with its timestamps in UTC. Checks nothing that needs the database (the service does that)."""
    if not isinstance(answer.idempotency_key, str) or not _KEY.match(answer.idempotency_key):
        raise _refuse("bad_field", "idempotency_key must be 8-64 characters of [A-Za-z0-9_-].", name="idempotency_key")
    if not isinstance(answer.assignment_ref, str) or not _REF.match(answer.assignment_ref):
        raise _refuse("bad_field", "assignment must be the handle the state API gave.", name="assignment")
    _whole_number("position", answer.position, 0, MAX_POSITION)
    if answer.rating is not None:
        _whole_number("rating", answer.rating, 1, 7)
    if not isinstance(answer.chosen_side, str) or answer.chosen_side not in SIDES:
        raise _refuse("bad_field", "chosen_side must be 'left' or 'right'.", name="chosen_side")
    if not isinstance(answer.skipped, str) or answer.skipped not in ("", *SKIP_REASONS):
        raise _refuse("bad_field", f"skipped must be one of {', '.join(SKIP_REASONS)}.", name="skipped")
    if answer.skipped and (answer.rating is not None or answer.chosen_side):
        raise _refuse("bad_field", "A skipped trial has no rating and no side.", name="skipped")
    if answer.rt_ms is not None:
        _whole_number("rt_ms", answer.rt_ms, 0, MAX_RT_MS)
    _whole_number("play_count", answer.play_count, 1, MAX_PLAY_COUNT)
    if answer.presentation is not None and (
        not isinstance(answer.presentation, str) or not _TOKEN.match(answer.presentation)
    ):
        raise _refuse("not_presented", "presentation must be the token the trial came with.", name="presentation")
    _check_events(answer.events)
    presented_at = _in_window("presented_at", answer.presented_at, now)
    answered_at = _in_window("answered_at", answer.answered_at, now)
    if presented_at is answer.presented_at and answered_at is answer.answered_at:  # already UTC (or none)
        return answer
    return replace(answer, presented_at=presented_at, answered_at=answered_at)


def _whole_number(name: str, value: Any, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:  # bool is not a number here
        raise _refuse("bad_field", f"{name} must be a whole number from {low} to {high}.", name=name)


def _in_window(name: str, value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise _refuse("bad_time", f"{name} must be a timestamp with a time zone.", name=name)
    if not now - OUTBOX_MAX_AGE - CLOCK_SKEW <= value <= now + CLOCK_SKEW:
        raise _refuse(
            "bad_time",
            f"{name} is too far from the server's time: check the date, time and time zone of your computer.",
            name=name,
        )
    return value.astimezone(UTC)


def _clean_text(text: str) -> bool:
    """No NUL (PostgreSQL's jsonb refuses it) and no lone surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_events(events: Any) -> None:
    def bad(message: str) -> AnswerRejected:
        return _refuse("bad_events", message, name="events")

    if not isinstance(events, list):
        raise bad("events must be a list of objects.")
    if len(events) > MAX_EVENTS:
        raise bad(f"At most {MAX_EVENTS} events per answer.")
    total = 0
    for event in events:
        if not isinstance(event, dict) or len(event) > MAX_EVENT_KEYS:
            raise bad(f"Each event must be an object with at most {MAX_EVENT_KEYS} keys.")
        for key, value in event.items():
            if not isinstance(key, str) or not _EVENT_KEY.match(key):
                raise bad("Event keys must be 1-32 characters of [A-Za-z0-9_].")
            if value is None or isinstance(value, bool):
                continue
            if isinstance(value, int):
                ok = -_INT64 <= value < _INT64
            elif isinstance(value, float):
                ok = math.isfinite(value)
            elif isinstance(value, str):
                ok = len(value) <= MAX_EVENT_TEXT and _clean_text(value)
            else:
                ok = False
            if not ok:
                raise bad(
                    "Event values must be null, booleans, 64-bit integers, finite numbers or strings of at most "
                    f"{MAX_EVENT_TEXT} characters without NUL."
                )
        size = len(_COMPACT_JSON.encode(event).encode("utf-8"))
        if size > MAX_EVENT_BYTES:
            raise bad(f"Each event is at most {MAX_EVENT_BYTES} bytes.")
        total += size
    if total > MAX_EVENTS_BYTES:
        raise bad(f"The events of one answer are at most {MAX_EVENTS_BYTES} bytes.")


def check_kind(*, is_choice: bool, answer: AnswerInput) -> None:
    """The answer fits the experiment: a side for a choice, a rating otherwise (never both); a skipped
    trial has neither (``check`` refused one that has)."""
    if answer.skipped:
        return
    if is_choice:
        if answer.chosen_side not in ("left", "right") or answer.rating is not None:
            raise _refuse("bad_answer", "Choose left or right.")
    elif answer.rating is None or answer.chosen_side:
        raise _refuse("bad_answer", "A rating must be a whole number from 1 to 7.")


# --- assignment handles and presentation tokens --------------------------------------------------------


def assignment_ref(assignment) -> str:
    """The opaque handle of an assignment (anything with a ``pk``) in worker JSON."""
    return assignment_ref_for(assignment.pk)


def assignment_ref_for(assignment_id: int) -> str:
    return salted_hmac("mvfit.experiments.assignment", str(assignment_id)).hexdigest()[:20]


def presentation_token(*, assignment_id: int, position: int) -> str:
    """The proof, handed out with a trial, that it was served to this assignment at this position."""
    return tokens.seal({"a": assignment_id, "p": position}, purpose=PRESENTATION_PURPOSE)


def presented_trial(token: str | None) -> tuple[int, int] | None:
    """(assignment id, position) that ``token`` was minted for; None if missing, forged or expired."""
    if not token:
        return None
    try:
        payload = tokens.unseal(token, purpose=PRESENTATION_PURPOSE, max_age_s=int(OUTBOX_MAX_AGE.total_seconds()))
    except tokens.BadToken:
        return None
    if not isinstance(payload, dict):
        return None
    return payload.get("a"), payload.get("p")


def not_presented() -> AnswerRejected:
    return _refuse(
        "not_presented",
        "This answer does not come with the trial it answers: reload the page and answer the trial again.",
        name="presentation",
    )
