"""The worker API's answer path: the common case in four prepared statements, the rest through the ORM.

During a study the answer endpoint takes hundreds of requests a second, and the ORM spent more CPU
compiling its queries than PostgreSQL spent running them. So :func:`record_answer_fast` -- the entry
the worker API calls, by session token -- stores the common case (an active assignment, a fresh key,
a presented and unanswered trial that is not the last one) as lock, check, insert, count (which also
reads the trial the response carries on, ``answers.upcoming_position``), and hands
every other case (replays, stale or finished assignments, bad positions, unpresented trials,
completion, revival after a timeout) to the general path,
``experiments.services.answers.record_checked_answer``, in the same transaction.

What the answer must satisfy and what is stored are not decided here: the field checks, the
assignment-handle and presentation checks, the kind check, the catch check and the stored values are
the functions the general path uses (``answers.checked_answer``, ``answers.assignment_refusal``,
``answers.response_values``). The statements name no table or column literally: they are built, once
per process, from the models' metadata (``webapp.db.SqlNames``), and the values go through each
field's own ``get_db_prep_save``, as the ORM's would. ``tests/experiments/test_answer_fast_path.py``
replays random answer streams through both entries and demands identical receipts, refusals, rows
and assignment state.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from experiments.answer_input import AnswerInput
from experiments.models import (
    CHOICE_KINDS,
    Assignment,
    AssignmentStatus,
    CatchStimulus,
    Experiment,
    Participant,
    Response,
    Trial,
)
from experiments.services import answers
from experiments.services.answers import AnswerReceipt, Presented, Upcoming
from webapp.db import SqlNames, hot_cursor

__all__ = ["record_answer_fast"]


@transaction.atomic
def record_answer_fast(*, session_token: str, answer: AnswerInput, now: datetime | None = None) -> AnswerReceipt:
    """Store the answer of the session ``session_token`` once; as ``answers.record_answer`` in every outcome.

    Raises ``AnswerRejected`` (``no_assignment`` for a session without an assignment) exactly where the
    general path would.
    """
    now = now or timezone.now()
    answer, presented = answers.checked_answer(answer, now=now)
    receipt = record_common_case(answer=answer, presented=presented, session_token=session_token, now=now)
    if receipt is None:
        owner = Q(participant__token=session_token)
        receipt = answers.record_checked_answer(owner=owner, answer=answer, presented=presented, now=now)
    return receipt


def record_common_case(
    *, answer: AnswerInput, presented: Presented, session_token: str, now: datetime
) -> AnswerReceipt | None:
    """Store a checked answer in the common case, or return None (nothing written) to take the general path.

    Runs inside the caller's transaction. The assignment row is locked first, exactly as in the
    general path, so answers of one assignment stay serialised.
    """
    if answer.skipped:
        return None  # rare, and checked against the assignment's other skips: the general path
    sql = _statements()
    with hot_cursor() as cursor:
        cursor.execute(sql.lock_current_assignment, [session_token])
        row = cursor.fetchone()
        if row is None:
            return None
        assignment_id, status, n_trials, n_answered, bundle_id, kind = row
        if (
            status != AssignmentStatus.ACTIVE
            or n_answered + 1 >= n_trials  # the last answer completes the assignment: general path
            or answers.assignment_refusal(answer=answer, presented=presented, assignment_id=assignment_id)
        ):
            return None
        cursor.execute(sql.trial_if_unanswered, [answer.idempotency_key, assignment_id, bundle_id, answer.position])
        row = cursor.fetchone()
        if row is None or row[4]:  # no such trial, a replayed key or an answered trial: general path
            return None
        trial_id, catch_id, first_on_left, expected_rating, _ = row
        values = answers.response_values(
            answer=answer,
            is_choice=kind in CHOICE_KINDS,
            is_catch=catch_id is not None,
            first_on_left=first_on_left,
            expected_rating=expected_rating,
        )
        # received_at is auto_now_add: the ORM path stamps it at save time, this path with ``now``.
        values |= {"assignment": assignment_id, "trial": trial_id, "received_at": now}
        insert = _insert_response(tuple(values))
        cursor.execute(insert.sql, [field.get_db_prep_save(values[field.name], connection) for field in insert.fields])
        position = answers.upcoming_position(position=answer.position, n_trials=n_trials, n_answered=n_answered + 1)
        # The count, and the direction of the trial the response carries (NULL: none), in one statement.
        cursor.execute(
            sql.count_answer,
            [
                _LAST_ACTIVITY.get_db_prep_save(now, connection),
                assignment_id,
                bundle_id,
                -1 if position is None else position,
            ],
        )
        (direction,) = cursor.fetchone()
    upcoming = None
    if direction is not None:
        upcoming = Upcoming(
            assignment_id=assignment_id, position=position, direction=direction, is_choice=kind in CHOICE_KINDS
        )
    progress = {"answered": n_answered + 1, "total": n_trials, "done": False}
    return AnswerReceipt(
        key=answer.idempotency_key, position=answer.position, replayed=False, progress=progress, upcoming=upcoming
    )


# --- the statements, from model metadata --------------------------------------------------------------

_LAST_ACTIVITY = Assignment._meta.get_field("last_activity_at")


class _Statements:
    def __init__(self) -> None:
        a, p, e = SqlNames(Assignment, "a"), SqlNames(Participant, "p"), SqlNames(Experiment, "e")
        t, c, r = SqlNames(Trial, "t"), SqlNames(CatchStimulus, "c"), SqlNames(Response, "r")
        lock_of = f" FOR UPDATE OF {a.alias}" if connection.features.has_select_for_update_of else ""
        # The session's current (newest) assignment, locked. The token is resolved in a subquery, so the
        # plan probes the token's index, then the assignment's participant index (a join let PostgreSQL
        # walk every assignment backwards by id, filtering on the token: hundreds of buffers per answer).
        self.lock_current_assignment = f"""
            SELECT {a.pk}, {a["status"]}, {a["n_trials"]}, {a["n_answered"]}, {a["bundle"]}, {e["kind"]}
            FROM {a.table}
            JOIN {e.table} ON {e.pk} = {a["experiment"]}
            WHERE {a["participant"]} = (SELECT {p.pk} FROM {p.table} WHERE {p["token"]} = %s)
            ORDER BY {a.pk} DESC
            LIMIT 1{lock_of}
        """
        # The trial at a position of the bundle, its catch target, and whether the key was used or the trial answered.
        self.trial_if_unanswered = f"""
            SELECT {t.pk}, {t["catch"]}, {t["first_on_left"]}, {c["expected_rating"]},
                   EXISTS (SELECT 1 FROM {r.table}
                           WHERE {r["idempotency_key"]} = %s OR ({r["assignment"]} = %s AND {r["trial"]} = {t.pk}))
            FROM {t.table}
            LEFT JOIN {c.table} ON {c.pk} = {t["catch"]}
            WHERE {t["bundle"]} = %s AND {t["position"]} = %s
        """
        a, t = SqlNames(Assignment), SqlNames(Trial)
        # The count, and the direction of the trial the response carries (``answers.upcoming_position``).
        self.count_answer = (
            f"UPDATE {a.table} SET {a['n_answered']} = {a['n_answered']} + 1, {a['last_activity_at']} = %s "
            f"WHERE {a.pk} = %s "
            f"RETURNING (SELECT {t['direction']} FROM {t.table} WHERE {t['bundle']} = %s AND {t['position']} = %s)"
        )


@functools.cache
def _statements() -> _Statements:
    return _Statements()


class _Insert:
    def __init__(self, field_names: tuple[str, ...]) -> None:
        r = SqlNames(Response)
        self.fields: list[Any] = [Response._meta.get_field(name) for name in field_names]
        columns = ", ".join(r.column(name) for name in field_names)
        self.sql = f"INSERT INTO {r.table} ({columns}) VALUES ({', '.join(['%s'] * len(field_names))})"


@functools.cache
def _insert_response(field_names: tuple[str, ...]) -> _Insert:
    """The INSERT of a response with these fields (the keys of ``answers.response_values`` and the keys)."""
    return _Insert(field_names)
