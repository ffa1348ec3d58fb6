"""The worker API's fast answer path must behave exactly like the general ORM path.

``fastpath.record_answer_fast(session_token=...)`` (what the worker API calls) stores the common case
with hand-written SQL and hands every other case to the general path that ``answers.record_answer``
(by participant) always takes. Two identical studies receive the same random stream of answers -- fresh and replayed
keys, stale assignment handles, bad positions and values, missing, forged or misdirected presentation
tokens, answers after a timeout released the assignment -- one through each entry; receipts, refusals, stored rows and assignment state must match.
"""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.models import Pairing
from experiments.answer_input import presentation_token
from experiments.models import Assignment, Bundle, Item, Response
from experiments.selectors.worker import PRELOAD_WINDOW, may_fetch
from experiments.services.allocation import allocate_assignment, release_abandoned_assignments
from experiments.services.answers import AnswerInput, AnswerRejected, assignment_ref, record_answer
from experiments.services.fastpath import record_answer_fast, record_common_case
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import make_experiment, make_library
from tests.support.media import attach_rendered_media

pytestmark = pytest.mark.django_db(transaction=False)

N_TRIALS = 4  # real trials per assignment (a catch trial may come on top)

action = st.fixed_dictionaries(
    {
        # An honest step answers the next unanswered trial as the runner would (and so streams complete
        # assignments); the others draw each field, mostly wrong.
        "honest": st.booleans(),
        "position": st.sampled_from(["next"] * 3 + [0, 1, 2, 3, 4, 4, 5, -1]),
        "value": st.sampled_from([1, 4, 7, 0, 8, None, "left", "right"]),
        "key": st.sampled_from(["fresh", "fresh", "fresh", "reuse"]),
        "stale_ref": st.sampled_from([False] * 5 + [True]),
        "release_first": st.sampled_from([False] * 9 + [True]),
        "events": st.sampled_from([[], [{"type": "stall", "at_ms": 120}]]),
        "presentation": st.sampled_from(["served"] * 6 + ["missing", "other_position", "other_assignment", "forged"]),
    }
)


def presentation_for(kind, *, assignment, other_assignment, position):
    """The token an answer echoes: the one its trial was served with, or a wrong one."""
    if kind == "missing":
        return None
    if kind == "forged":
        return "A" * 120
    if kind == "other_assignment":
        return presentation_token(assignment_id=other_assignment.pk, position=position)
    return presentation_token(assignment_id=assignment.pk, position=position + (kind == "other_position"))


@pytest.fixture(params=["rating", "afc"])
def twin_studies(request, tmp_path, django_capture_on_commit_callbacks):
    """Two studies with the same design (same library and seed) and one working participant each."""
    library = make_library(n_clips=3, n_excerpts=3, duration_s=1.0)
    config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids}
    studies, pairings = [], set()
    for slug in ("fast", "general"):
        with django_capture_on_commit_callbacks(execute=True):
            experiment = make_experiment(
                kind=request.param,
                library=library,
                slug=slug,
                config=config,
                judgments_per_item=1,
                trials_per_assignment=N_TRIALS,
                catch_trials_per_assignment=1,
            )
        pairings |= {p for item in experiment.items.all() for p in item.pairing_ids}
        studies.append(experiment)
    attach_rendered_media(Pairing.objects.filter(pk__in=pairings), source_dir=tmp_path)
    participants = []
    for experiment in studies:
        experiment = open_experiment(experiment=experiment)
        participants.append(
            enter_via_mturk(experiment=experiment, worker_id="W1", assignment_id=f"A-{experiment.slug}")
        )
    return request.param, participants


def first_unanswered(assignment):
    answered = set(Response.objects.filter(assignment=assignment).values_list("trial__position", flat=True))
    return min(set(range(assignment.n_trials)) - answered, default=assignment.n_trials)


def outcome(call, *, current):
    try:
        receipt = call()
    except AnswerRejected as exc:
        return ("rejected", exc.status, exc.code, exc.message, exc.progress)
    # The trial the response carries on: the same position and question from both paths, always of the
    # session's current assignment (the twin studies' assignments differ only in their ids).
    upcoming = receipt.upcoming
    carried = None
    if upcoming is not None:
        assert upcoming.assignment_id == Assignment.objects.filter(participant=current.participant).latest("pk").pk
        carried = (upcoming.position, upcoming.direction, upcoming.is_choice)
    return ("stored", {k: v for k, v in receipt.as_json().items() if k != "key"}, carried)


def stored_rows(participant):
    return list(
        Response.objects.filter(assignment__participant=participant)
        .order_by("assignment_id", "trial__position")
        .values_list(
            "trial__position", "rating", "chosen_side", "is_catch", "catch_passed", "rt_ms", "play_count", "events"
        )
    )


def assignment_state(participant):
    """Each assignment's row, its bundle's status and the judgment counts of the bundle's items."""
    return [
        (
            a.status,
            a.n_answered,
            a.n_trials,
            a.completed_at is None,
            a.abandoned_at is None,
            a.bundle.status,
            [t.item.completed_count if t.item_id else None for t in a.bundle.trials.order_by("position")],
        )
        for a in Assignment.objects.filter(participant=participant).select_related("bundle").order_by("pk")
    ]


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(action, min_size=1, max_size=16))
def test_fast_and_general_paths_agree_on_every_answer_stream(twin_studies, actions):
    kind, (fast, general) = twin_studies
    with transaction.atomic():
        for participant in (fast, general):
            allocate_assignment(participant=participant)
        used = []
        clock = timezone.now()
        for step in actions:
            if step["release_first"]:
                clock += timedelta(hours=2)
                release_abandoned_assignments(now=clock)
            if step["honest"]:
                step = step | {"position": "next", "value": "left" if kind == "afc" else 4, "key": "fresh"}
                step |= {"stale_ref": False, "presentation": "served"}
            value = step["value"]
            if kind == "afc":
                answer = {"chosen_side": value} if isinstance(value, str) else {"rating": value}
            else:
                answer = {"rating": value} if not isinstance(value, str) else {"chosen_side": value}
            key = used[-1] if step["key"] == "reuse" and used else uuid.uuid4().hex[:24]
            used.append(key)
            results = []
            currents = [Assignment.objects.filter(participant=p).order_by("-pk").first() for p in (fast, general)]
            for participant, prefix, who, current, other in (
                (fast, "f", "token", *currents),
                (general, "g", "participant", *reversed(currents)),
            ):
                ref = "0" * 20 if step["stale_ref"] else assignment_ref(current)
                position = first_unanswered(current) if step["position"] == "next" else step["position"]
                token = presentation_for(
                    step["presentation"], assignment=current, other_assignment=other, position=position
                )
                submitted = AnswerInput(
                    idempotency_key=f"{prefix}{key}",
                    assignment_ref=ref,
                    position=position,
                    rt_ms=900,
                    play_count=2,
                    events=step["events"],
                    presentation=token,
                    **answer,
                )
                if who == "token":
                    call = functools.partial(record_answer_fast, session_token=participant.token)
                else:
                    call = functools.partial(record_answer, participant=participant)
                results.append(outcome(functools.partial(call, answer=submitted, now=clock), current=current))
            assert results[0] == results[1], step
            if results[0][0] == "stored" and not results[0][1]["replayed"] and not results[0][1]["done"]:
                # A fresh answer carries the trial PRELOAD_WINDOW on when the worker may fetch it (and only then).
                position, progress = results[0][1]["position"], results[0][1]
                may = may_fetch(
                    n_trials=progress["total"], n_answered=progress["answered"], position=position + PRELOAD_WINDOW
                )
                assert (results[0][2] is not None) == may, (step, results[0])
                if may:
                    assert results[0][2][0] == position + PRELOAD_WINDOW
            elif results[0][0] == "stored":
                assert results[0][2] is None  # replays and the completing answer carry nothing
        assert stored_rows(fast) == stored_rows(general)
        assert assignment_state(fast) == assignment_state(general)
        transaction.set_rollback(True)


def test_the_fast_path_stores_a_complete_row_and_counts_it(twin_studies):
    """A plain check of the hand-written INSERT: every column as the general path would write it."""
    kind, (fast, _general) = twin_studies
    assignment = allocate_assignment(participant=fast)
    value = {"chosen_side": "right"} if kind == "afc" else {"rating": 6}
    presented = timezone.now() - timedelta(seconds=5)
    with CaptureQueriesContext(connection) as queries:
        receipt = record_answer_fast(
            session_token=fast.token,
            answer=AnswerInput(
                idempotency_key="k" * 32,
                assignment_ref=assignment_ref(assignment),
                position=0,
                rt_ms=1234,
                play_count=3,
                presented_at=presented,
                answered_at=presented + timedelta(seconds=4),
                events=[{"type": "error", "code": 4}],
                presentation=presentation_token(assignment_id=assignment.pk, position=0),
                **value,
            ),
        )
    # The hot cursor's statements bypass Django's query log: an ORM query would mean the general path ran.
    # (The trial the response carries is read by the counting UPDATE: no statement more.)
    assert [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]] == []
    assert receipt.as_json() == {
        "key": "k" * 32,
        "position": 0,
        "stored": True,
        "replayed": False,
        "answered": 1,
        "total": assignment.n_trials,
        "done": False,
    }
    upcoming = assignment.bundle.trials.get(position=PRELOAD_WINDOW)
    assert receipt.upcoming is not None
    assert (receipt.upcoming.assignment_id, receipt.upcoming.position) == (assignment.pk, PRELOAD_WINDOW)
    assert (receipt.upcoming.direction, receipt.upcoming.is_choice) == (upcoming.direction, kind == "afc")
    row = Response.objects.get(idempotency_key="k" * 32)
    assert (row.rt_ms, row.play_count, row.events) == (1234, 3, [{"type": "error", "code": 4}])
    assert row.presented_at == presented and row.answered_at == presented + timedelta(seconds=4)
    assert row.received_at is not None and row.trial.position == 0
    assert (row.rating, row.chosen_side) == ((None, "right") if kind == "afc" else (6, ""))
    assert row.is_catch == (row.trial.catch_id is not None)
    assignment.refresh_from_db()
    assert assignment.n_answered == 1 and assignment.last_activity_at >= presented


def test_the_common_case_takes_the_fast_path_and_the_rest_falls_through(twin_studies):
    kind, (fast, _general) = twin_studies
    assignment = allocate_assignment(participant=fast)
    value = {"chosen_side": "left"} if kind == "afc" else {"rating": 2}

    def attempt(position, key, ref=None, presented=None):
        answer = AnswerInput(
            idempotency_key=key, assignment_ref=ref or assignment_ref(assignment), position=position, **value
        )
        with transaction.atomic():
            return record_common_case(
                answer=answer,
                presented=presented or (assignment.pk, position),
                session_token=fast.token,
                now=timezone.now(),
            )

    assert attempt(0, "first-key", presented=(assignment.pk, 1)) is None  # served for another position
    assert attempt(0, "first-key", presented=(assignment.pk + 1, 0)) is None  # ... for another assignment
    assert attempt(0, "first-key") is not None
    assert attempt(0, "first-key") is None  # a replay: the general path answers it
    assert attempt(0, "another-key") is None  # an answered trial
    assert attempt(1, "second-key", ref="0" * 20) is None  # a stale assignment handle
    assert attempt(99, "third-key") is None  # no such trial
    for position in range(1, assignment.n_trials - 1):
        assert attempt(position, f"answer-key-{position}") is not None
    last = attempt(assignment.n_trials - 1, "last-key")  # the last answer completes it, on the fast path too
    assert last is not None and last.progress["done"] and last.upcoming is None
    assignment.refresh_from_db()
    assert assignment.status == "completed" and assignment.completed_at is not None
    assert assignment.bundle.status == "completed"
    counted = Item.objects.filter(trials__bundle=assignment.bundle).values_list("completed_count", flat=True)
    assert list(counted) and set(counted) == {1}


def test_a_completion_with_a_skipped_trial_takes_the_general_path(twin_studies):
    """The skipped trial's item is not counted and goes to a make-up bundle (``rounds.reoffer_skipped``)."""
    kind, (fast, _general) = twin_studies
    assignment = allocate_assignment(participant=fast)
    value = {"chosen_side": "left"} if kind == "afc" else {"rating": 2}

    def answer(position, **extra):
        return AnswerInput(
            idempotency_key=uuid.uuid4().hex,
            assignment_ref=assignment_ref(assignment),
            position=position,
            presentation=presentation_token(assignment_id=assignment.pk, position=position),
            **(extra or value),
        )

    record_answer_fast(
        session_token=fast.token,
        answer=answer(0, skipped="playback", events=[{"type": "error", "slot": "main", "code": 4}] * 2),
    )
    for position in range(1, assignment.n_trials - 1):
        record_answer_fast(session_token=fast.token, answer=answer(position))
    last = answer(assignment.n_trials - 1)
    with transaction.atomic():
        assert (
            record_common_case(
                answer=last, presented=(assignment.pk, last.position), session_token=fast.token, now=timezone.now()
            )
            is None
        )
    receipt = record_answer_fast(session_token=fast.token, answer=last)
    assert receipt.progress["done"]
    skipped = assignment.bundle.trials.get(position=0)
    counts = dict(Item.objects.filter(trials__bundle=assignment.bundle).values_list("pk", "completed_count"))
    if skipped.item_id is not None:
        assert counts.pop(skipped.item_id) == 0
        assert Bundle.objects.filter(is_makeup=True, trials__item_id=skipped.item_id).exists()
    assert set(counts.values()) == {1}
