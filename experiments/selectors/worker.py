"""Everything a worker's browser is allowed to see, built here and nowhere else.

Worker JSON carries trial *positions*, prompts, the answer scale, opaque sealed media URLs and the
trial's presentation token --
never database ids, option kinds (G/R/S), labels, ground-truth partners, catch flags or expected
answers. ``tests/experiments/test_answer_key.py`` checks every worker response for those.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from experiments import answer_input
from experiments.answer_input import assignment_ref
from experiments.models import CHOICE_KINDS, Assignment, AssignmentStatus, Experiment, Participant, Response, Trial
from experiments.selectors.questionnaire import owes_questionnaire
from experiments.selectors.screening import needs_headphone_screen
from webapp import tokens
from webapp.db import HotCursor, SqlNames, hot_cursor

MEDIA_PURPOSE = "media"
RATING_SCALE = [
    (1, "Extremely poor fit"),
    (2, "Poor fit"),
    (3, "Somewhat poor fit"),
    (4, "Neither good nor poor fit"),
    (5, "Somewhat good fit"),
    (6, "Good fit"),
    (7, "Extremely good fit"),
]
PROMPTS = {
    "": "How well do the music and the video fit?",
    "V2M": "Which music fits the video better?",
    "M2V": "Which video fits the music better?",
}
# Montage trials (direction "MV"): whole-song music videos; the kind of montage is never named.
MONTAGE_PROMPTS = {True: "Which video fits the song better?", False: "How well does this video fit the song?"}
# Trials a worker may fetch beyond the first unanswered one: the next trial preloads, and one
# more answer may be waiting in the browser's outbox while offline.
PRELOAD_WINDOW = 2


class Step:
    CONSENT = "consent"
    SCREENED_OUT = "screened_out"
    AUDIO = "audio"
    HEADPHONES = "headphones"
    QUESTIONNAIRE = "questionnaire"
    START = "start"
    TRIALS = "trials"
    DONE = "done"
    EXPIRED = "expired"


def participant_for_token(token: str) -> Participant | None:
    try:
        return Participant.objects.select_related("experiment").get(token=token)
    except Participant.DoesNotExist:
        return None


def current_assignment(participant: Participant) -> Assignment | None:
    return participant.assignments.select_related("bundle").order_by("-pk").first()


@dataclass(frozen=True)
class TrialRequest:
    """What serving one trial to a session needs to know, read in one query (the hottest path)."""

    assignment_id: int
    n_trials: int
    n_answered: int
    is_choice: bool
    direction: str  # "" for ratings, or when the position has no trial


@functools.cache
def _trial_request_sql() -> str:
    """The statement of ``trial_request_for_token``, named from the models' metadata (built once)."""
    a, p, e, t = (
        SqlNames(m, alias) for m, alias in ((Assignment, "a"), (Participant, "p"), (Experiment, "e"), (Trial, "t"))
    )
    return f"""
        SELECT {a.pk}, {a["n_trials"]}, {a["n_answered"]}, {e["kind"]}, {t["direction"]}
        FROM {a.table}
        JOIN {e.table} ON {e.pk} = {a["experiment"]}
        LEFT JOIN {t.table} ON {t["bundle"]} = {a["bundle"]} AND {t["position"]} = %s
        WHERE {a["participant"]} = (SELECT {p.pk} FROM {p.table} WHERE {p["token"]} = %s)
        ORDER BY {a.pk} DESC
        LIMIT 1
    """


def trial_request_for_token(token: str, position: int) -> TrialRequest | None:
    """The session's current assignment and the direction of its trial at ``position``.

    Hand-written SQL: the equivalent ORM queries cost more CPU to compile than to run.
    """
    with hot_cursor() as cursor:
        cursor.execute(_trial_request_sql(), [position, token])
        row = cursor.fetchone()
    if row is None:
        return None
    assignment_id, n_trials, n_answered, kind, direction = row
    return TrialRequest(
        assignment_id=assignment_id,
        n_trials=n_trials,
        n_answered=n_answered,
        is_choice=kind in CHOICE_KINDS,
        direction=direction or "",
    )


@dataclass(frozen=True)
class StateRow:
    """The session's current assignment and the positions it has answered, read in one query."""

    assignment: Assignment  # unsaved instance: pk, n_trials, status, last_activity_at only
    answered: frozenset[int]


@functools.cache
def _state_sql() -> str:
    """The statement of ``state_for_token``: one row per answered position (one row, NULL, for none)."""
    a, p, r, t = (
        SqlNames(m, alias) for m, alias in ((Assignment, "a"), (Participant, "p"), (Response, "r"), (Trial, "t"))
    )
    a2 = SqlNames(Assignment, "a2")
    return f"""
        SELECT {a.pk}, {a["n_trials"]}, {a["status"]}, {a["last_activity_at"]}, {t["position"]}
        FROM {a.table}
        LEFT JOIN {r.table} ON {r["assignment"]} = {a.pk}
        LEFT JOIN {t.table} ON {t.pk} = {r["trial"]}
        WHERE {a.pk} = (SELECT MAX({a2.pk}) FROM {a2.table}
                        WHERE {a2["participant"]} = (SELECT {p.pk} FROM {p.table} WHERE {p["token"]} = %s))
    """


def state_for_token(token: str) -> StateRow | None:
    """What ``GET api/state`` needs, in one query (joins are bursts: each statement counts)."""
    with hot_cursor() as cursor:
        cursor.execute(_state_sql(), [token])
        rows = cursor_rows(cursor)
    if not rows:
        return None
    assignment_id, n_trials, status, last_activity_at, _ = rows[0]
    assignment = Assignment(
        pk=assignment_id, n_trials=n_trials, status=status, last_activity_at=_db_datetime(last_activity_at)
    )
    return StateRow(assignment=assignment, answered=frozenset(row[4] for row in rows if row[4] is not None))


def warm_statements(cursor: HotCursor) -> None:
    """The trial fetch's and the state's statements, run for a token that matches no session
    (``webapp.db.warm_pool``)."""
    cursor.execute(_trial_request_sql(), [0, ""])
    cursor.fetchone()
    cursor.execute(_state_sql(), [""])
    cursor.fetchone()


def fresh_state(assignment: Assignment) -> StateRow:
    """The state of an assignment handed out just now (nothing answered), without a query."""
    return StateRow(assignment=assignment, answered=frozenset())


def _db_datetime(value):
    """A timestamp from a raw cursor as the ORM would give it: PostgreSQL returns an aware datetime, SQLite
    (the embedded demo) a naive UTC one or its text."""
    if value is None or (isinstance(value, datetime) and timezone.is_aware(value)):
        return value
    parsed = Assignment._meta.get_field("last_activity_at").to_python(value)
    return timezone.make_aware(parsed, UTC) if parsed is not None and timezone.is_naive(parsed) else parsed


def cursor_rows(cursor) -> list[tuple]:
    rows = []
    while (row := cursor.fetchone()) is not None:
        rows.append(row)
    return rows


def state_json(state: StateRow) -> dict:
    """The worker's progress: which positions are left, in the bundle's order."""
    assignment = state.assignment
    return {
        "assignment": assignment_ref(assignment),
        "total": assignment.n_trials,
        "answered": len(state.answered),
        "done": assignment.status == AssignmentStatus.COMPLETED,
        "unanswered": [p for p in range(assignment.n_trials) if p not in state.answered],
    }


def runner_config(token: str, *, ready_to_begin: bool = False) -> dict:
    """What the trial runner script of the worker page needs: its API URLs and where it keeps its outbox.

    ``ready_to_begin``: the page shows the start card, and the runner joins (``POST api/begin``) when the
    worker presses Start, without leaving the page."""
    return {
        "mode": "live",
        "stateUrl": reverse("experiments:api_state", args=[token]),
        "beginUrl": reverse("experiments:api_begin", args=[token]) if ready_to_begin else "",
        "trialUrl": reverse("experiments:api_trial", args=[token, 0]),
        "answerUrl": reverse("experiments:api_answer", args=[token]),
        "storageKey": token[:16],
        "reloadUrl": reverse("experiments:worker", args=[token]),
        "skipAfterFailures": settings.MVFIT_SKIP_AFTER_FAILURES,
        "preloadWindow": PRELOAD_WINDOW,  # an answer's response carries the trial this far on
    }


def bundle_id_of_assignment(assignment_id: object) -> int | None:
    """The bundle of the assignment a media token names (None for a missing or malformed id)."""
    if type(assignment_id) is not int:
        return None
    return Assignment.objects.filter(pk=assignment_id).values_list("bundle_id", flat=True).first()


def worker_step(participant: Participant, assignment: Assignment | None) -> str:
    if participant.consented_at is None:
        return Step.CONSENT
    if participant.screened_out_at is not None:
        return Step.SCREENED_OUT
    if participant.audio_check_passed_at is None:
        return Step.AUDIO
    if needs_headphone_screen(participant):
        return Step.HEADPHONES
    if assignment is None:
        return Step.QUESTIONNAIRE if owes_questionnaire(participant, when="before") else Step.START
    if assignment.status == AssignmentStatus.COMPLETED:
        return Step.QUESTIONNAIRE if owes_questionnaire(participant, when="after") else Step.DONE
    if assignment.status == AssignmentStatus.ABANDONED:
        return Step.EXPIRED
    return Step.TRIALS


def unanswered_positions(assignment: Assignment) -> list[int]:
    answered = set(Response.objects.filter(assignment=assignment).order_by().values_list("trial__position", flat=True))
    return [p for p in range(assignment.n_trials) if p not in answered]


def may_fetch(*, n_trials: int, n_answered: int, position: int) -> bool:
    """No scanning ahead: a worker sees at most ``PRELOAD_WINDOW`` trials beyond as many as they answered.

    (The first unanswered position is never above the number answered, so this admits the current
    trial and the preloaded ones without a query.)
    """
    return 0 <= position < n_trials and position <= n_answered + PRELOAD_WINDOW


def trial_for(bundle_id: int, position: int) -> Trial | None:
    try:
        return Trial.objects.select_related(
            "catch",
            "item__pairing",
            "item__first_pairing",
            "item__second_pairing",
            "item__montage",
            "item__first_montage",
            "item__second_montage",
        ).get(bundle_id=bundle_id, position=position)
    except Trial.DoesNotExist:
        return None


def trial_payload(
    *, position: int, direction: str, is_choice: bool, media_scope: dict, presentation: str | None = None
) -> dict:
    """The worker-facing description of one trial. ``media_scope`` names who may fetch its media;
    ``presentation`` is the token an answer to it must echo (none in the staff preview).

    Everything here follows from the experiment, the position and the direction; which files play
    is resolved only when a media URL is fetched (``media_file_for``).
    """
    slots = ["left", "right"] if is_choice else ["main"]
    return {
        "position": position,
        "prompt": MONTAGE_PROMPTS[is_choice] if direction == "MV" else PROMPTS[direction if is_choice else ""],
        "answer": "choice" if is_choice else "rating",
        "scale": [{"value": v, "label": label} for v, label in RATING_SCALE] if not is_choice else None,
        "media": [
            {"slot": slot, "kind": "video", "url": media_url({**media_scope, "p": position, "s": slot})}
            for slot in slots
        ],
        "presentation": presentation,
    }


def worker_trial_payload(*, assignment_id: int, position: int, direction: str, is_choice: bool) -> dict:
    """A trial as the worker API serves it -- from the trial fetch, or carried by an answer's response
    (``next``): media URLs scoped to the assignment, and the presentation token its answer must echo."""
    return trial_payload(
        position=position,
        direction=direction,
        is_choice=is_choice,
        media_scope={"t": assignment_id},
        presentation=answer_input.presentation_token(assignment_id=assignment_id, position=position),
    )


def media_url(payload: dict) -> str:
    """A URL of ``/w/m/<token>`` whose token is sealed: it names ``payload`` (ids) to the server only.

    Sealed tokens are URL-safe base64, so the URL is exactly what ``reverse()`` would build -- which
    costs about 0.1 ms a call, and a trial fetch makes one or two.
    """
    return f"{get_script_prefix()}{_media_route()}{tokens.seal(payload, purpose=MEDIA_PURPOSE)}"


@functools.cache
def _media_route() -> str:
    """``w/m/``: the media view's path below the script prefix, without its token."""
    return reverse("experiments:media", args=["-"]).removeprefix(get_script_prefix())[:-1]


def read_media_token(token: str) -> dict:
    """The payload of a media URL; raises ``tokens.BadToken`` if forged, expired or not a media token."""
    payload = tokens.unseal(token, purpose=MEDIA_PURPOSE, max_age_s=settings.MVFIT_MEDIA_URL_MAX_AGE_S)
    if not isinstance(payload, dict):
        raise tokens.BadToken("not a media token")
    return payload


@dataclass(frozen=True)
class MediaFile:
    name: str  # storage name; never sent to the browser
    content_type: str


def media_file_for(trial: Trial, slot: str) -> MediaFile | None:
    """Which stored file plays in a slot of a trial (resolving left/right and catch targets)."""
    if trial.catch_id:
        catch = trial.catch
        if slot == "main":
            name = catch.file.name
        elif slot in ("left", "right"):
            target_left = trial.first_on_left
            name = catch.file.name if (slot == "left") == target_left else catch.foil_file.name
        else:
            return None
    elif trial.item.montage_id:
        if slot != "main":
            return None
        name = trial.item.montage.file.name
    elif trial.item.first_montage_id:
        if slot not in ("left", "right"):
            return None
        first, second = trial.item.first_montage, trial.item.second_montage
        name = (first if (slot == "left") == trial.first_on_left else second).file.name
    elif trial.item.pairing_id:
        if slot != "main":
            return None
        name = trial.item.pairing.rendered_file.name
    elif slot in ("left", "right"):
        first, second = trial.item.first_pairing, trial.item.second_pairing
        pairing = first if (slot == "left") == trial.first_on_left else second
        name = pairing.rendered_file.name
    else:
        return None
    return MediaFile(name=name, content_type="video/mp4") if name else None
