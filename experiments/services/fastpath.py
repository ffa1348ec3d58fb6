"""The worker API's answer path: the common case in two prepared statements, the rest through the ORM.

During a study the answer endpoint takes hundreds of requests a second, and the ORM spent more CPU
compiling its queries than PostgreSQL spent running them. So :func:`record_answer_fast` -- the entry
the worker API calls, by session token -- stores the common case (an active assignment, a fresh key,
a presented and unanswered trial; the last one too, which completes the assignment through
``allocation.count_completion``, the same statements the general path runs) in two statements --
lock the assignment and read the trial; insert the response and count it (which also reads the trial
the response carries on, ``answers.upcoming_position``) -- and hands every other case (replays,
stale or finished assignments, bad positions, unpresented trials, skips and the completion of an
assignment with skipped trials, revival after a timeout) to the general path,
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
from experiments.services import allocation, answers
from experiments.services.answers import AnswerReceipt, Presented, Upcoming
from webapp.db import HotCursor, SqlNames, hot_cursor

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
        # 1. The session's current assignment, locked, with the trial at the answer's position.
        cursor.execute(sql.lock_current_assignment, [answer.idempotency_key, answer.position, session_token])
        row = cursor.fetchone()
        if row is None:
            return None
        assignment_id, status, n_trials, n_answered, bundle_id, kind, trial_id, catch_id, first_on_left = row[:9]
        expected_rating, seen = row[9:]
        completes = n_answered + 1 >= n_trials
        if (
            status != AssignmentStatus.ACTIVE
            or trial_id is None  # no trial at that position
            or seen  # a replayed key or an answered trial
            or answers.assignment_refusal(answer=answer, presented=presented, assignment_id=assignment_id)
        ):
            return None
        if completes:
            cursor.execute(sql.assignment_has_skips, [assignment_id])
            if cursor.fetchone()[0]:
                return None  # the skipped trials go to make-up bundles: the general path completes it
        values = answers.response_values(
            answer=answer,
            is_choice=kind in CHOICE_KINDS,
            is_catch=catch_id is not None,
            first_on_left=first_on_left,
            expected_rating=expected_rating,
        )
        # received_at is auto_now_add: the ORM path stamps it at save time, this path with ``now``.
        values |= {"assignment": assignment_id, "trial": trial_id, "received_at": now}
        position = answers.upcoming_position(position=answer.position, n_trials=n_trials, n_answered=n_answered + 1)
        # 2. Insert and count, and read the direction of the trial the response carries (NULL: none).
        stamp = _LAST_ACTIVITY.get_db_prep_save(now, cursor.db)
        row = _store_statement(tuple(values), completes).run(
            cursor,
            values,
            count=[
                stamp,
                *([stamp] if completes else []),
                assignment_id,
                bundle_id,
                -1 if position is None else position,
            ],
        )
        if row is None:
            # Nothing stored: a concurrent transaction committed this key or trial after statement 1's
            # snapshot (its EXISTS can be stale when it waited for the lock). The general path, in this
            # transaction, reads afresh and answers the replay or the refusal.
            return None
        (direction,) = row
    if completes:
        allocation.count_completion(assignment_id=assignment_id, bundle_id=bundle_id)
    upcoming = None
    if direction is not None:
        upcoming = Upcoming(
            assignment_id=assignment_id, position=position, direction=direction, is_choice=kind in CHOICE_KINDS
        )
    progress = {"answered": n_answered + 1, "total": n_trials, "done": completes}
    return AnswerReceipt(
        key=answer.idempotency_key, position=answer.position, replayed=False, progress=progress, upcoming=upcoming
    )


def warm_statements(cursor: HotCursor) -> None:
    """The answer's first statement, run with values that match no row (``webapp.db.warm_pool``). The
    second inserts, so it is prepared by the first answer on each connection."""
    cursor.execute(_statements().lock_current_assignment, ["", 0, ""])
    cursor.fetchone()


# --- the statements, from model metadata --------------------------------------------------------------

_LAST_ACTIVITY = Assignment._meta.get_field("last_activity_at")


class _Statements:
    def __init__(self) -> None:
        a, p, e = SqlNames(Assignment, "a"), SqlNames(Participant, "p"), SqlNames(Experiment, "e")
        t, c, r = SqlNames(Trial, "t"), SqlNames(CatchStimulus, "c"), SqlNames(Response, "r")
        lock_of = f" FOR UPDATE OF {a.alias}" if connection.features.has_select_for_update_of else ""
        # The session's current (newest) assignment, locked, with the trial at the answer's position,
        # its catch target, and whether the key was used or the trial answered. The token is resolved
        # in a subquery, so the plan probes the token's index, then the assignment's participant index
        # (a join let PostgreSQL walk every assignment backwards by id, filtering on the token).
        # The EXISTS is evaluated in the statement's snapshot, which may predate a lock wait: the
        # insert below is therefore ``ON CONFLICT DO NOTHING`` and stores nothing if it was stale.
        self.lock_current_assignment = f"""
            SELECT {a.pk}, {a["status"]}, {a["n_trials"]}, {a["n_answered"]}, {a["bundle"]}, {e["kind"]},
                   {t.pk}, {t["catch"]}, {t["first_on_left"]}, {c["expected_rating"]},
                   EXISTS (SELECT 1 FROM {r.table}
                           WHERE {r["idempotency_key"]} = %s OR ({r["assignment"]} = {a.pk} AND {r["trial"]} = {t.pk}))
            FROM {a.table}
            JOIN {e.table} ON {e.pk} = {a["experiment"]}
            LEFT JOIN {t.table} ON {t["bundle"]} = {a["bundle"]} AND {t["position"]} = %s
            LEFT JOIN {c.table} ON {c.pk} = {t["catch"]}
            WHERE {a["participant"]} = (SELECT {p.pk} FROM {p.table} WHERE {p["token"]} = %s)
            ORDER BY {a.pk} DESC
            LIMIT 1{lock_of}
        """
        # Run only for the answer that completes an assignment, as a statement of its own, after the lock:
        # READ COMMITTED gives it a fresh snapshot, so a skip committed while this answer waited for the
        # lock is seen (in the statement above it might not be, and a missed skip would not be re-offered).
        s = SqlNames(Response, "s")
        self.assignment_has_skips = (
            f"SELECT EXISTS (SELECT 1 FROM {s.table} WHERE {s['assignment']} = %s AND {s['skipped_reason']} <> '')"
        )


@functools.cache
def _statements() -> _Statements:
    return _Statements()


class _Store:
    """Insert a response and count it on its assignment, returning the direction of the trial at a
    position of the bundle (NULL: none); no row when the insert met a unique key (nothing changed).

    On PostgreSQL one statement (the insert as a data-modifying CTE); elsewhere (SQLite has no such
    CTEs) the insert, then the count in a second statement run only when the insert stored a row.
    """

    def __init__(self, field_names: tuple[str, ...], completes: bool = False) -> None:
        r, a, t = SqlNames(Response), SqlNames(Assignment), SqlNames(Trial)
        self.fields: list[Any] = [Response._meta.get_field(name) for name in field_names]
        columns = ", ".join(r.column(name) for name in field_names)
        insert = (
            f"INSERT INTO {r.table} ({columns}) VALUES ({', '.join(['%s'] * len(field_names))}) "
            f"ON CONFLICT DO NOTHING RETURNING {r.pk}"
        )
        # The last answer completes the assignment (``allocation.complete_assignment``'s row fields).
        completion = (
            f", {a['status']} = '{AssignmentStatus.COMPLETED.value}', {a['completed_at']} = %s" if completes else ""
        )
        count = (
            f"UPDATE {a.table} SET {a['n_answered']} = {a['n_answered']} + 1, {a['last_activity_at']} = %s{completion} "
            f"WHERE {a.pk} = %s{{stored}} "
            f"RETURNING (SELECT {t['direction']} FROM {t.table} WHERE {t['bundle']} = %s AND {t['position']} = %s)"
        )
        self.merged = connection.vendor == "postgresql"
        if self.merged:
            self.sql = f"WITH stored AS ({insert}) " + count.format(stored=" AND EXISTS (SELECT 1 FROM stored)")
        else:
            self.insert, self.count = insert, count.format(stored="")

    def run(self, cursor: HotCursor, values: dict[str, Any], *, count: list[Any]) -> tuple | None:
        """Store ``values``; ``count``: last activity (and completion time), assignment id, bundle id and
        the carried position."""
        row = [field.get_db_prep_save(values[field.name], cursor.db) for field in self.fields]
        if self.merged:
            cursor.execute(self.sql, [*row, *count])
            return cursor.fetchone()
        cursor.execute(self.insert, row)
        if cursor.fetchone() is None:
            return None
        cursor.execute(self.count, count)
        return cursor.fetchone()


@functools.cache
def _store_statement(field_names: tuple[str, ...], completes: bool) -> _Store:
    """The store statement for a response with these fields (the keys of ``answers.response_values``
    and the keys), completing the assignment or not."""
    return _Store(field_names, completes)
