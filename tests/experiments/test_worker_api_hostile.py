"""Hostile answers to the worker API get a 4xx with a machine-readable code, and change nothing.

Issue 10, findings 1 (a year-10000 timestamp broke every export), 6 (NaN, Infinity, impossible dates,
NUL, deep JSON answered 500), 7 (unbounded event payloads were stored) and 8 (answers to trials that
were never served were accepted).

``ATTACKS`` is one table: a bad request (body and headers) -> the expected HTTP status and ``code``.
Each row runs through the real view on PostgreSQL twice: as a mid-bundle answer (the hand-written
fast path) and as the bundle's last answer (the general ORM path, which would complete the
assignment). After every row the database must be exactly as before: no response row, and the
assignments' status, counters and ``last_activity_at`` unchanged. A valid answer to the same trial is
then stored, so every row was refused for its own fault, not the base answer's.

Only HTTP and the models are used, so this file runs unchanged against older code; there the
``test_finding_*`` tests fail (500s, or hostile answers stored) -- that is how the findings reproduce.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from experiments.models import Assignment, AssignmentStatus, Participant, Response
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from tests.factories.experiments import make_experiment, make_library
from tests.support.media import attach_rendered_media

pytestmark = pytest.mark.django_db

DROP = object()


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str = "application/json"
    environ: dict = field(default_factory=dict)


@dataclass
class Target:
    """The trial under attack, fetched by the attacker, and what the rows build their requests from."""

    valid: dict  # a valid answer to it
    unfetched_position: int  # a position of the bundle the attacker never fetched for this answer
    other_position_token: str  # the presentation token of another trial of the same assignment
    other_worker_token: str  # the presentation token of the same position in another worker's assignment
    media_token: str  # a sealed token minted for another purpose
    expired_token: str  # this trial's token, as if served 31 days ago


@dataclass(frozen=True)
class Attack:
    name: str
    make: Callable[[Target], Request]
    status: int
    code: str
    finding: int | None = None


def iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def with_fields(**changes) -> Callable[[Target], Request]:
    """The valid answer with fields replaced (a callable value gets the target), or dropped (``DROP``)."""

    def make(target: Target) -> Request:
        data = dict(target.valid)
        for name, value in changes.items():
            if value is DROP:
                data.pop(name, None)
            else:
                data[name] = value(target) if callable(value) else value
        return Request(json.dumps(data, allow_nan=True).encode())

    return make


def with_literal(name: str, literal: str) -> Callable[[Target], Request]:
    """The valid answer with one field's JSON replaced by a raw literal (NaN, 1e400, ...)."""

    def make(target: Target) -> Request:
        marker = "@@literal@@"
        return Request(json.dumps({**target.valid, name: marker}).replace(f'"{marker}"', literal).encode())

    return make


def raw(body: bytes | Callable[[Target], bytes]) -> Callable[[Target], Request]:
    return lambda target: Request(body(target) if callable(body) else body)


def with_headers(content_type: str, **environ) -> Callable[[Target], Request]:
    return lambda target: Request(json.dumps(target.valid).encode(), content_type, environ)


def events(count: int, **fields) -> list[dict]:
    return [{"type": "stalled", "slot": "main", "t": 1000 + i, **fields} for i in range(count)]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def now_plus(delta: timedelta) -> Callable[[Target], str]:
    return lambda target: iso(timezone.now() + delta)


# One row per attack; kept one line each (fmt: off) so the table reads as a table.
# fmt: off
ENVELOPE = [
    Attack("content type text/plain", with_headers("text/plain"), 415, "bad_content_type"),
    Attack("no content type", with_headers(""), 415, "bad_content_type"),
    Attack("form-encoded", with_headers("application/x-www-form-urlencoded"), 415, "bad_content_type"),
    Attack("multipart", with_headers("multipart/form-data; boundary=x"), 415, "bad_content_type"),
    Attack("JSON declared as UTF-16", with_headers("application/json; charset=utf-16"), 415, "bad_content_type"),
    Attack("gzip content encoding", with_headers("application/json", HTTP_CONTENT_ENCODING="gzip"), 415, "bad_content_type"),
    Attack("declared length of 10 MB", with_headers("application/json", CONTENT_LENGTH="10000000"), 413, "too_large"),
]
BODY = [
    Attack("body over 32 KB", with_fields(padding="x" * 33_000), 413, "too_large"),
    Attack("1 MB of events", with_fields(events=events(1000, note="y" * 1000)), 413, "too_large", finding=7),
    Attack("2 MB in one event", with_fields(events=[{"type": "x", "blob": "z" * 2_000_000}]), 413, "too_large", finding=7),
    Attack("100,000 levels deep", raw(nested(100_000)), 413, "too_large", finding=6),
    Attack("10,000 levels deep", raw(nested(10_000)), 400, "too_deep", finding=6),
    Attack("deep inside events", with_literal("events", "[" * 5000 + "]" * 5000), 400, "too_deep", finding=6),
    Attack("5 levels deep", with_literal("events", '[{"a": [{"b": 1}]}]'), 400, "too_deep"),
    # (Django's test client sends no Content-Type with an empty body unless told to.)
    Attack("empty body", lambda t: Request(b"", environ={"CONTENT_TYPE": "application/json"}), 400, "bad_json"),
    Attack("not JSON", raw(b"rating=5"), 400, "bad_json"),
    Attack("truncated JSON", raw(lambda t: json.dumps(t.valid).encode()[:-5]), 400, "bad_json"),
    Attack("a JSON array", raw(b"[]"), 400, "bad_json"),
    Attack("a JSON string", raw(b'"answer"'), 400, "bad_json"),
    Attack("JSON null", raw(b"null"), 400, "bad_json"),
    Attack("UTF-16 bytes", raw(lambda t: json.dumps(t.valid).encode("utf-16")), 400, "bad_json"),
    Attack("Latin-1 bytes", raw(lambda t: json.dumps(t.valid)[:-1].encode() + ', "x": "\xe9"}'.encode("latin-1")), 400, "bad_json"),
    Attack("UTF-8 byte order mark", raw(lambda t: b"\xef\xbb\xbf" + json.dumps(t.valid).encode()), 400, "bad_json"),
    Attack("rt_ms NaN", with_fields(rt_ms=float("nan")), 400, "bad_json", finding=6),
    Attack("rt_ms Infinity", with_fields(rt_ms=float("inf")), 400, "bad_json", finding=6),
    Attack("rt_ms -Infinity", with_fields(rt_ms=float("-inf")), 400, "bad_json", finding=6),
    Attack("rt_ms 1e400 (a double's infinity)", with_literal("rt_ms", "1e400"), 400, "bad_json", finding=6),
    Attack("play_count Infinity", with_fields(play_count=float("inf")), 400, "bad_json", finding=6),
    Attack("NaN inside events", with_fields(events=[{"type": "x", "at": float("nan")}]), 400, "bad_json", finding=6),
    Attack("a 5,000-digit integer", with_literal("rt_ms", "9" * 5000), 400, "bad_json", finding=6),
]
FIELDS = [
    Attack("idempotency_key missing", with_fields(idempotency_key=DROP), 400, "bad_field"),
    Attack("idempotency_key too short", with_fields(idempotency_key="x"), 400, "bad_field"),
    Attack("idempotency_key too long", with_fields(idempotency_key="k" * 65), 400, "bad_field"),
    Attack("idempotency_key with NUL", with_fields(idempotency_key="key\x00" + "k" * 10), 400, "bad_field", finding=6),
    Attack("idempotency_key a number", with_fields(idempotency_key=12345678), 400, "bad_field"),
    Attack("assignment missing", with_fields(assignment=DROP), 400, "bad_field"),
    Attack("assignment too long", with_fields(assignment="a" * 65), 400, "bad_field"),
    Attack("assignment an object", with_fields(assignment={"id": 1}), 400, "bad_field"),
    Attack("position missing", with_fields(position=DROP), 400, "bad_field"),
    Attack("position a string", with_fields(position=lambda t: str(t.valid["position"])), 400, "bad_field"),
    Attack("position a float", with_fields(position=lambda t: t.valid["position"] + 0.0), 400, "bad_field"),
    Attack("position negative", with_fields(position=-1), 400, "bad_field"),
    Attack("position 2**70", with_fields(position=2**70), 400, "bad_field", finding=6),
    Attack("position true", with_fields(position=True), 400, "bad_field"),
    Attack("rating 0", with_fields(rating=0), 400, "bad_field"),
    Attack("rating 8", with_fields(rating=8), 400, "bad_field"),
    Attack("rating a string", with_fields(rating="5"), 400, "bad_field"),
    Attack("rating 5.5", with_fields(rating=5.5), 400, "bad_field"),
    Attack("rating true", with_fields(rating=True), 400, "bad_field"),
    Attack("chosen_side unknown", with_fields(chosen_side="up"), 400, "bad_field"),
    Attack("chosen_side a number", with_fields(chosen_side=1), 400, "bad_field"),
    Attack("a side in a rating study", with_fields(rating=DROP, chosen_side="left"), 400, "bad_answer"),
    Attack("both a rating and a side", with_fields(chosen_side="right"), 400, "bad_answer"),
    Attack("no rating", with_fields(rating=DROP), 400, "bad_answer"),
    Attack("rt_ms negative", with_fields(rt_ms=-1), 400, "bad_field"),
    Attack("rt_ms over a day", with_fields(rt_ms=86_400_001), 400, "bad_field"),
    Attack("rt_ms 10**30", with_fields(rt_ms=10**30), 400, "bad_field", finding=6),
    Attack("rt_ms a string", with_fields(rt_ms="812"), 400, "bad_field"),
    Attack("rt_ms a fraction", with_fields(rt_ms=812.5), 400, "bad_field"),
    Attack("play_count 0", with_fields(play_count=0), 400, "bad_field"),
    Attack("play_count 1001", with_fields(play_count=1001), 400, "bad_field"),
    Attack("play_count 1e300", with_fields(play_count=1e300), 400, "bad_field", finding=6),
    Attack("play_count a string", with_fields(play_count="2"), 400, "bad_field"),
]
TIMES = [
    Attack("presented_at 2024-02-30", with_fields(presented_at="2024-02-30T10:00:00Z"), 400, "bad_time", finding=6),
    Attack("presented_at month 13", with_fields(presented_at="2026-13-01T10:00:00Z"), 400, "bad_time", finding=6),
    Attack("presented_at hour 25", with_fields(presented_at="2026-01-01T25:00:00Z"), 400, "bad_time"),
    Attack("presented_at offset of 24 h", with_fields(presented_at="2026-01-01T10:00:00+24:00"), 400, "bad_time"),
    Attack("presented_at in year 10000 (UTC)", with_fields(presented_at="9999-12-31T23:59:59-23:59"), 400, "bad_time", finding=1),
    Attack("presented_at before year 1 (UTC)", with_fields(presented_at="0001-01-01T00:00:00+01:00"), 400, "bad_time", finding=1),
    Attack("answered_at in year 10000 (UTC)", with_fields(answered_at="9999-12-31T23:59:59-23:59"), 400, "bad_time", finding=1),
    Attack("answered_at 2024-02-30", with_fields(answered_at="2024-02-30T10:00:00Z"), 400, "bad_time", finding=6),
    Attack("presented_at in words", with_fields(presented_at="yesterday"), 400, "bad_time"),
    Attack("presented_at without a zone", with_fields(presented_at=lambda t: iso(timezone.now())[:-1]), 400, "bad_time"),
    Attack("presented_at a number", with_fields(presented_at=1764900000), 400, "bad_time"),
    Attack("presented_at with NUL", with_fields(presented_at=lambda t: iso(timezone.now()) + "\x00"), 400, "bad_time"),
    Attack("presented_at in full-width digits", with_fields(presented_at="\uff12\uff10\uff12\uff16-01-01T10:00:00Z"), 400, "bad_time"),
    Attack("presented_at 40 days ago", with_fields(presented_at=now_plus(timedelta(days=-40))), 400, "bad_time"),
    Attack("presented_at 2 days ahead", with_fields(presented_at=now_plus(timedelta(days=2))), 400, "bad_time"),
    Attack("answered_at 2 days ahead", with_fields(answered_at=now_plus(timedelta(days=2))), 400, "bad_time"),
]
EVENTS = [
    Attack("events a string", with_fields(events="stalled"), 400, "bad_events"),
    Attack("events an object", with_fields(events={"type": "stalled"}), 400, "bad_events"),
    Attack("events of strings", with_fields(events=["stalled"]), 400, "bad_events"),
    Attack("101 events", with_fields(events=events(101)), 400, "bad_events", finding=7),
    Attack("an event over 512 bytes", with_fields(events=[{"type": "x", "a": "y" * 200, "b": "y" * 200, "c": "y" * 200}]), 400, "bad_events", finding=7),
    Attack("events over 16 KB in all", with_fields(events=events(40, a="y" * 200, b="y" * 200)), 400, "bad_events", finding=7),
    Attack("an event string over 256 characters", with_fields(events=events(1, note="y" * 257)), 400, "bad_events", finding=7),
    Attack("an event with 17 keys", with_fields(events=[{f"k{i}": i for i in range(17)}]), 400, "bad_events"),
    Attack("NUL in an event value", with_fields(events=events(1, note="a\x00b")), 400, "bad_events", finding=6),
    Attack("NUL in an event key", with_fields(events=[{"type\x00": "x"}]), 400, "bad_events", finding=6),
    Attack("a lone surrogate in an event", with_literal("events", '[{"note": "\\ud800"}]'), 400, "bad_events", finding=6),
    Attack("an event key with a space", with_fields(events=[{"the type": "x"}]), 400, "bad_events"),
    Attack("an object inside an event", with_fields(events=[{"type": "x", "detail": {"a": 1}}]), 400, "bad_events"),
    Attack("an event integer over 64 bits", with_fields(events=[{"type": "x", "n": 2**64}]), 400, "bad_events"),
]
PRESENTATION = [
    Attack("no presentation token", with_fields(presentation=DROP), 400, "not_presented", finding=8),
    Attack("an empty presentation token", with_fields(presentation=""), 400, "not_presented", finding=8),
    Attack("a trial never fetched", with_fields(position=lambda t: t.unfetched_position), 400, "not_presented", finding=8),
    Attack("another trial's token", with_fields(presentation=lambda t: t.other_position_token), 400, "not_presented", finding=8),
    Attack("another worker's token", with_fields(presentation=lambda t: t.other_worker_token), 400, "not_presented", finding=8),
    Attack("a media token", with_fields(presentation=lambda t: t.media_token), 400, "not_presented", finding=8),
    Attack("a forged token", with_fields(presentation="gAAAAAB" + "A" * 113), 400, "not_presented", finding=8),
    Attack("an expired token", with_fields(presentation=lambda t: t.expired_token), 400, "not_presented", finding=8),
    Attack("a token that is a number", with_fields(presentation=12345), 400, "not_presented", finding=8),
    Attack("a token of 600 characters", with_fields(presentation="A" * 600), 400, "not_presented", finding=8),
]
ATTACKS = ENVELOPE + BODY + FIELDS + TIMES + EVENTS + PRESENTATION
# fmt: on


def test_the_table_is_large_and_names_are_unique():
    assert len(ATTACKS) >= 60
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)
    assert {a.finding for a in ATTACKS} >= {1, 6, 7, 8}


# --- a study, an attacker and another worker ----------------------------------------------------------


@pytest.fixture
def study(tmp_path, django_capture_on_commit_callbacks):
    library = make_library(n_clips=3, n_excerpts=2, duration_s=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        experiment = make_experiment(
            library=library, judgments_per_item=2, trials_per_assignment=3, catch_trials_per_assignment=1
        )
    attach_rendered_media([i.pairing for i in experiment.items.select_related("pairing")], source_dir=tmp_path)
    return open_experiment(experiment=experiment)


def join(client: Client, experiment) -> Participant:
    """A worker with an assignment: invite link, then (past consent and the sound check) begin."""
    ((_, invite),) = create_invite_links(experiment=experiment, count=1)
    location = client.get(reverse("experiments:invite", args=[invite]))["Location"]
    participant = Participant.objects.get(token=location.rstrip("/").split("/")[-1])
    participant.consented_at = participant.audio_check_passed_at = timezone.now()
    participant.save(update_fields=["consented_at", "audio_check_passed_at"])
    assert client.post(reverse("experiments:begin", args=[participant.token])).status_code == 302
    return participant


def fetch(client: Client, participant: Participant, position: int) -> dict:
    response = client.get(reverse("experiments:api_trial", args=[participant.token, position]))
    assert response.status_code == 200, response.content
    return response.json()


def post(client: Client, participant: Participant, request: Request):
    return client.generic(
        "POST",
        reverse("experiments:api_answer", args=[participant.token]),
        request.body,
        content_type=request.content_type,
        **request.environ,
    )


def valid_answer(state: dict, trial: dict) -> dict:
    presented = timezone.now() - timedelta(seconds=8)
    return {
        "idempotency_key": uuid.uuid4().hex,
        "assignment": state["assignment"],
        "position": trial["position"],
        "rating": 5,
        "rt_ms": 812,
        "play_count": 2,
        "presented_at": iso(presented),
        "answered_at": iso(presented + timedelta(seconds=6)),
        "events": [{"type": "waiting", "slot": "main", "t": 5120, "at": 0.52}],
        "presentation": trial.get("presentation"),
    }


def answer_validly(client: Client, participant: Participant, position: int) -> None:
    state = client.get(reverse("experiments:api_state", args=[participant.token])).json()
    body = json.dumps(valid_answer(state, fetch(client, participant, position))).encode()
    assert post(client, participant, Request(body)).status_code == 200


@dataclass
class Scene:
    client: Client
    attacker: Participant
    target: Target
    path: str


def stage(study, path: str) -> Scene:
    """The attacker's assignment with the trial under attack fetched: the first trial (``fast``) or,
    with every other trial answered, the last one (``orm``)."""
    client = Client()
    attacker, other = join(client, study), join(client, study)
    n = attacker.assignments.get().n_trials
    if path == "orm":
        for worker in (attacker, other):  # the other worker, too, so that it may fetch the last trial
            for position in range(n - 1):
                answer_validly(client, worker, position)
    position = 0 if path == "fast" else n - 1
    sibling = 1 if path == "fast" else n - 2
    unfetched = 2 if path == "fast" else 0
    with mock.patch("time.time", return_value=time.time() - 31 * 24 * 3600):
        expired = fetch(client, attacker, position).get("presentation")
    trial = fetch(client, attacker, position)
    state = client.get(reverse("experiments:api_state", args=[attacker.token])).json()
    target = Target(
        valid=valid_answer(state, trial),
        unfetched_position=unfetched,
        other_position_token=fetch(client, attacker, sibling).get("presentation"),
        other_worker_token=fetch(client, other, position).get("presentation"),
        media_token=trial["media"][0]["url"].rstrip("/").split("/")[-1],
        expired_token=expired,
    )
    return Scene(client=client, attacker=attacker, target=target, path=path)


def database_state():
    responses = list(Response.objects.order_by("pk").values_list("pk", "idempotency_key", "assignment_id"))
    assignments = list(
        Assignment.objects.order_by("pk").values_list(
            "pk", "status", "n_answered", "last_activity_at", "completed_at", "abandoned_at"
        )
    )
    return responses, assignments


def run_attacks(scene: Scene, attacks: list[Attack]) -> list[str]:
    """Send each attack; return what went wrong (a wrong status or code, or a change in the database)."""
    failures = []
    for attack in attacks:
        with transaction.atomic():  # a savepoint: an answer wrongly stored must not affect the next row
            before = database_state()
            try:
                response = post(scene.client, scene.attacker, attack.make(scene.target))
            except Exception as exc:  # the test client re-raises what became a 500
                failures.append(f"{attack.name}: server error {exc!r}"[:300])
                transaction.set_rollback(True)
                continue
            body = response.json() if response.get("Content-Type") == "application/json" else {}
            got = (response.status_code, body.get("code"))
            if got != (attack.status, attack.code):
                failures.append(f"{attack.name}: got {got}, expected {(attack.status, attack.code)}")
            if database_state() != before:
                failures.append(f"{attack.name}: the database changed")
            if response.status_code < 500 and response.status_code != 200 and not body.get("error"):
                failures.append(f"{attack.name}: no error message")
            transaction.set_rollback(True)
    return failures


def assert_the_valid_answer_is_stored(scene: Scene) -> None:
    assignment = scene.attacker.assignments.get()
    answered = assignment.n_answered
    response = post(scene.client, scene.attacker, Request(json.dumps(scene.target.valid).encode()))
    assert response.status_code == 200, response.content
    assignment.refresh_from_db()
    assert assignment.n_answered == answered + 1
    stored = Response.objects.get(idempotency_key=scene.target.valid["idempotency_key"])
    assert (stored.rating, stored.rt_ms, stored.play_count) == (5, 812, 2)
    assert stored.events == scene.target.valid["events"]
    expected_status = AssignmentStatus.COMPLETED if scene.path == "orm" else AssignmentStatus.ACTIVE
    assert assignment.status == expected_status


# --- the table -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["fast", "orm"])
def test_every_hostile_request_gets_its_code_and_changes_nothing(study, path):
    scene = stage(study, path)
    failures = run_attacks(scene, ATTACKS)
    assert not failures, "\n".join(failures)
    assert_the_valid_answer_is_stored(scene)


@pytest.mark.parametrize("path", ["fast", "orm"])
@pytest.mark.parametrize("finding", [6, 7, 8])
def test_finding_reproduces_on_old_code_and_is_fixed(study, path, finding):
    """Finding 6: 500s on NaN/Infinity/impossible dates/NUL/deep JSON; 7: unbounded events stored;
    8: answers to trials never served stored. Each row of the finding must be refused, storing nothing."""
    scene = stage(study, path)
    failures = run_attacks(scene, [a for a in ATTACKS if a.finding == finding])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ["fast", "orm"])
def test_finding_1_a_hostile_timestamp_cannot_break_the_export_api_or_the_admin(study, staff_client, tmp_path, path):
    """A year-10000 ``presented_at`` was stored (on the fast path) and then every export of the study and
    the admin list of responses answered 500 until the row was repaired by hand."""
    scene = stage(study, path)
    hostile = {**scene.target.valid, "presented_at": "9999-12-31T23:59:59-23:59", "idempotency_key": "y" * 32}
    refused = post(scene.client, scene.attacker, Request(json.dumps(hostile).encode()))
    # The worker then answers every trial left properly, and the assignment completes.
    state = scene.client.get(reverse("experiments:api_state", args=[scene.attacker.token])).json()
    for position in state["unanswered"]:
        answer_validly(scene.client, scene.attacker, position)
    assert scene.attacker.assignments.get().status == AssignmentStatus.COMPLETED

    export = staff_client.get(reverse("experiments_api:export") + f"?experiment={study.pk}")
    assert export.status_code == 200 and b"".join(export.streaming_content)
    call_command("export_responses", study.slug, "--out", str(tmp_path / "export"))
    assert (tmp_path / "export" / "ratings.csv").read_text().count("\n") == 1 + state["total"]
    assert staff_client.get(reverse("admin:experiments_response_changelist")).status_code == 200
    for response in Response.objects.all():
        assert staff_client.get(reverse("admin:experiments_response_change", args=[response.pk])).status_code == 200

    assert (refused.status_code, refused.json()["code"]) == (400, "bad_time")
    assert not Response.objects.filter(idempotency_key="y" * 32).exists()
