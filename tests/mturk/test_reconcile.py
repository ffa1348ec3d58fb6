"""Reconciliation on plain data: matched, submitted-but-unknown, known-but-never-submitted, reused ids."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mturk.client import RemoteAssignment
from mturk.reconcile import LocalParticipant, reconcile

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
HIT = "3HITXXXXXXXXXXXXXXXXXXXXXXXXXX"


def remote(worker, assignment, status="Submitted"):
    return RemoteAssignment(assignment_id=assignment, worker_id=worker, hit_id=HIT, status=status)


def local(worker, assignment, completed_minutes_ago=None):
    completed = None if completed_minutes_ago is None else NOW - dt.timedelta(minutes=completed_minutes_ago)
    return LocalParticipant(worker_id=worker, assignment_id=assignment, hit_id=HIT, completed_at=completed)


def test_matching_and_each_kind_of_discrepancy():
    result = reconcile(
        [remote("W1", "A1"), remote("W2", "A2", "Approved"), remote("W9", "A9")],
        [local("W1", "A1", 60), local("W2", "A2", 60), local("W3", "A3", 60), local("W4", "A4", 1), local("W5", "A5")],
        now=NOW,
    )
    assert [(r.worker_id, p.worker_id) for r, p in result.matched] == [("W1", "W1"), ("W2", "W2")]
    assert [r.worker_id for r in result.submitted_unknown] == ["W9"]
    assert [p.worker_id for p in result.known_not_submitted] == ["W3"]
    assert [p.worker_id for p in result.awaiting_submission] == ["W4"]  # within the grace period
    assert [p.worker_id for p in result.in_progress] == ["W5"]


def test_a_reused_assignment_id_belongs_to_the_worker_who_submitted_it():
    """W1 accepted A1 and returned it; MTurk gave A1 to W2, who finished and submitted."""
    result = reconcile([remote("W2", "A1")], [local("W1", "A1"), local("W2", "A1", 30)], now=NOW)
    assert [(r.worker_id, p.worker_id) for r, p in result.matched] == [("W2", "W2")]
    assert [p.worker_id for p in result.returned] == ["W1"]
    assert not result.submitted_unknown and not result.known_not_submitted


def test_a_reused_id_submitted_by_a_worker_we_never_saw_is_flagged():
    result = reconcile([remote("W2", "A1")], [local("W1", "A1")], now=NOW)
    assert [r.worker_id for r in result.submitted_unknown] == ["W2"]
    assert [p.worker_id for p in result.returned] == ["W1"]


keys = st.tuples(st.sampled_from(["W1", "W2", "W3", "W4"]), st.sampled_from(["A1", "A2", "A3"]))


@given(
    remote_keys=st.sets(keys, max_size=8),
    local_items=st.dictionaries(keys, st.one_of(st.none(), st.integers(min_value=0, max_value=120)), max_size=8),
)
def test_every_item_lands_in_exactly_one_bucket(remote_keys, local_items):
    remotes = [remote(w, a) for w, a in sorted(remote_keys)]
    locals_ = [local(w, a, minutes) for (w, a), minutes in sorted(local_items.items())]
    result = reconcile(remotes, locals_, now=NOW)
    assert len(result.matched) + len(result.submitted_unknown) == len(remotes)
    local_buckets = [
        p.key for p in result.known_not_submitted + result.awaiting_submission + result.returned + result.in_progress
    ] + [p.key for _, p in result.matched]
    assert sorted(local_buckets) == sorted(p.key for p in locals_)
    assert {r.worker_id for r, p in result.matched} == {p.worker_id for r, p in result.matched}
