"""The fast answer path under a race on PostgreSQL: an answer that waited for its assignment's lock.

The fast path reads the trial and "was this key or trial seen?" in the statement that locks the
assignment, so when that statement waits for another transaction's lock, the read predates the other
transaction's commit. The insert then meets the unique key, stores nothing (``ON CONFLICT DO
NOTHING``), and the general path answers afresh: a retried key gets the stored receipt, a second key
for the same trial is refused -- exactly as without the race, and never a second row or a 500.

Likewise the answer that completes an assignment checks for skipped trials in a statement of its own,
after the lock: a skip committed while it waited is seen, and the skipped trial is re-offered.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, connections, transaction

from experiments.answer_input import presentation_token
from experiments.models import Assignment, Response
from experiments.services.allocation import allocate_assignment
from experiments.services.answers import AnswerInput, AnswerRejected, assignment_ref
from experiments.services.fastpath import record_answer_fast
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import make_experiment, make_library

pytestmark = pytest.mark.django_db(transaction=True)


def answer(assignment: Assignment, *, key: str, rating: int) -> AnswerInput:
    return AnswerInput(
        idempotency_key=key,
        assignment_ref=assignment_ref(assignment),
        position=0,
        rating=rating,
        presentation=presentation_token(assignment_id=assignment.pk, position=0),
    )


def wait_until_blocked_on_a_lock(backend_pid: int, timeout_s: float = 30.0) -> None:
    """Poll pg_stat_activity until that backend waits on a lock (no fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError("the second answer never waited for the assignment's lock")


def race(session_token: str, first: AnswerInput, second: AnswerInput) -> tuple[object, object]:
    """``first`` is stored in a transaction that keeps the assignment's lock until ``second`` (in another
    connection) waits for it; then both finish. Returns each one's receipt, or the exception it raised."""
    stored, release, pid_known = threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_answer() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = record_answer_fast(session_token=session_token, answer=first)
                stored.set()
                release.wait(30)  # keep the lock (and the uncommitted row) until the second waits
        except Exception as exc:  # returned to the test
            outcome["first"] = exc
            stored.set()
        finally:
            connection.close()

    def second_answer() -> None:
        outcome["pid"] = connection.cursor().connection.info.backend_pid
        pid_known.set()
        try:
            outcome["second"] = record_answer_fast(session_token=session_token, answer=second)
        except Exception as exc:  # returned to the test (an AnswerRejected is an outcome)
            outcome["second"] = exc
        finally:
            connection.close()

    one = threading.Thread(target=first_answer)
    one.start()
    assert stored.wait(30)
    two = threading.Thread(target=second_answer)
    two.start()
    assert pid_known.wait(30)
    try:
        wait_until_blocked_on_a_lock(outcome["pid"])
    finally:
        release.set()
        one.join(30)
        two.join(30)
    return outcome["first"], outcome["second"]


@pytest.mark.parametrize("second_key", ["same", "other"])
def test_an_answer_that_waited_for_the_lock_is_answered_as_without_the_race(second_key):
    experiment = make_experiment(
        library=make_library(n_clips=4, n_excerpts=3),
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=0,
    )
    experiment = open_experiment(experiment=experiment, allow_unrendered=True)
    participant = enter_via_mturk(experiment=experiment, worker_id="W1", assignment_id=uuid.uuid4().hex)
    assignment = allocate_assignment(participant=participant)
    first = answer(assignment, key="k" * 32, rating=3)
    second = answer(assignment, key="k" * 32 if second_key == "same" else "z" * 32, rating=6)

    first_outcome, second_outcome = race(participant.token, first, second)

    assert not isinstance(first_outcome, Exception), first_outcome
    assert first_outcome.replayed is False
    if second_key == "same":
        assert not isinstance(second_outcome, Exception), second_outcome
        assert second_outcome.replayed is True  # the stored receipt, not a second row
    else:
        assert isinstance(second_outcome, AnswerRejected), second_outcome
        assert (second_outcome.status, second_outcome.code) == (409, "already_answered")
    rows = Response.objects.filter(assignment=assignment)
    assert [(r.idempotency_key, r.rating) for r in rows] == [("k" * 32, 3)]
    assignment.refresh_from_db()
    assert assignment.n_answered == 1


def test_a_completion_that_waited_for_a_skip_sees_it_and_re_offers_the_skipped_trial():
    """The skip check of a completing answer runs after the lock, in a fresh snapshot: a skip committed
    while the last answer waited is seen, so the general path completes the assignment and the skipped
    trial goes to a make-up bundle (its item is not counted)."""
    from experiments.models import Bundle, Item

    experiment = make_experiment(
        library=make_library(n_clips=4, n_excerpts=3),
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=0,
    )
    experiment = open_experiment(experiment=experiment, allow_unrendered=True)
    participant = enter_via_mturk(experiment=experiment, worker_id="W1", assignment_id=uuid.uuid4().hex)
    assignment = allocate_assignment(participant=participant)
    last = assignment.n_trials - 1

    def at(position, **fields):
        return AnswerInput(
            idempotency_key=uuid.uuid4().hex,
            assignment_ref=assignment_ref(assignment),
            position=position,
            presentation=presentation_token(assignment_id=assignment.pk, position=position),
            **(fields or {"rating": 4}),
        )

    for position in range(last - 1):
        record_answer_fast(session_token=participant.token, answer=at(position))
    skip = at(last - 1, skipped="playback", events=[{"type": "error", "slot": "main", "code": 4}] * 2)
    skipped_outcome, last_outcome = race(participant.token, skip, at(last))

    assert not isinstance(skipped_outcome, Exception), skipped_outcome
    assert not isinstance(last_outcome, Exception), last_outcome
    assert last_outcome.progress["done"]
    skipped = assignment.bundle.trials.get(position=last - 1)
    assert Item.objects.get(pk=skipped.item_id).completed_count == 0
    assert Bundle.objects.filter(is_makeup=True, trials__item_id=skipped.item_id).exists()
