"""Handing out bundles: order, idempotence, no repeated pairing per worker, concurrency, timeouts."""

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from annotation.models import Pairing
from experiments.answer_input import presentation_token
from experiments.models import Assignment, AssignmentStatus, Bundle, BundlePairing, BundleStatus, Exposure, Trial
from experiments.models.participation import EXPOSURE_IN_ITS_ASSIGNMENT
from experiments.services.allocation import (
    AllocationError,
    allocate_assignment,
    release_abandoned_assignments,
    revive_assignment,
)
from experiments.services.answers import AnswerInput, assignment_ref, record_answer
from experiments.services.lifecycle import close_experiment, open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import answer_trial, make_experiment, make_library
from tests.support.concurrency import at_once


def open_study(**kwargs):
    kwargs.setdefault("library", make_library(n_clips=6, n_excerpts=4))
    kwargs.setdefault("judgments_per_item", 3)
    kwargs.setdefault("trials_per_assignment", 8)
    kwargs.setdefault("catch_trials_per_assignment", 0)
    experiment = make_experiment(**kwargs)
    return open_experiment(experiment=experiment, allow_unrendered=True)


def participant(experiment, worker="W1", assignment=None):
    return enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=assignment or uuid.uuid4().hex)


def answer_all(assignment, *, skip_last=False):
    trials = list(Trial.objects.filter(bundle=assignment.bundle).order_by("position"))
    if skip_last:
        trials = trials[:-1]
    for trial in trials:
        answer_trial(assignment, trial.position, rating=4)


def start_at_once(participants) -> tuple[list[Assignment], list[str], list[Exception]]:
    """Every participant presses Start at the same moment: the assignments handed out, the refusal codes,
    and any other error."""
    started, raised = at_once(lambda p: allocate_assignment(participant=p), participants)
    refused = [exc.code for exc in raised if isinstance(exc, AllocationError)]
    return started, refused, [exc for exc in raised if not isinstance(exc, AllocationError)]


@pytest.mark.django_db
def test_bundles_go_out_least_filled_first_and_a_repeat_start_returns_the_same_one():
    experiment = open_study()
    a = allocate_assignment(participant=participant(experiment, "W1"))
    b = allocate_assignment(participant=participant(experiment, "W2"))
    assert (a.bundle.index, b.bundle.index) == (0, 1)
    assert allocate_assignment(participant=a.participant).pk == a.pk
    assert Bundle.objects.get(pk=a.bundle_id).status == BundleStatus.ASSIGNED


@pytest.mark.django_db
def test_a_worker_with_a_second_mturk_assignment_never_gets_a_pairing_twice():
    experiment = open_study()
    first = allocate_assignment(participant=participant(experiment, "W1", "A1"))
    answer_all(first)
    second = allocate_assignment(participant=participant(experiment, "W1", "A2"))
    seen_first = set(first.exposures.values_list("pairing_id", flat=True))
    seen_second = set(second.exposures.values_list("pairing_id", flat=True))
    assert seen_first and seen_second and not seen_first & seen_second


@pytest.mark.django_db
def test_the_database_refuses_a_repeated_pairing_for_a_worker():
    experiment = open_study()
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    exposure = assignment.exposures.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Exposure.objects.create(
            experiment=experiment, worker_id="W1", pairing_id=exposure.pairing_id, assignment=assignment
        )


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the composite key is PostgreSQL's (migration 0015)")
def test_an_exposure_belongs_to_an_existing_assignment_of_its_own_experiment():
    experiment = open_study()
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    other_study = open_study(slug="other")
    pairing = assignment.exposures.first().pairing_id
    # One composite key, (assignment, experiment) -> assignment (id, experiment), checked at commit
    # (check_constraints checks the deferred keys now): a row naming another experiment, or an
    # assignment that does not exist, is refused.
    for wrong in (
        {"experiment": other_study, "assignment": assignment},
        {"experiment": experiment, "assignment_id": 10**9},
    ):
        with pytest.raises(IntegrityError, match=EXPOSURE_IN_ITS_ASSIGNMENT), transaction.atomic():
            Exposure.objects.create(worker_id="W9", pairing_id=pairing, **wrong)
            connection.check_constraints()
    # ON DELETE CASCADE in the database too: an assignment deleted without Django takes its exposures.
    held = assignment.exposures.count()
    assert held > 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM experiments_assignment WHERE id = %s", [assignment.pk])
    assert not Exposure.objects.filter(assignment_id=assignment.pk).exists()


@pytest.mark.django_db
def test_a_pairing_an_exposure_names_cannot_be_deleted_by_django_or_by_hand():
    """The exposure's own key to its pairing is gone (migration 0016, one index less per exposure row);
    the pairing is held through the bundle's pairings instead."""
    experiment = open_study()
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    exposure = assignment.exposures.first()
    # Every exposure names a pairing of its assignment's bundle: that is what holds the pairing.
    in_bundle = set(BundlePairing.objects.filter(bundle=assignment.bundle).values_list("pairing_id", flat=True))
    assert set(assignment.exposures.values_list("pairing_id", flat=True)) == in_bundle
    with pytest.raises(ProtectedError):
        exposure.pairing.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM annotation_pairing WHERE id = %s", [exposure.pairing_id])
        connection.check_constraints()
    assert Pairing.objects.filter(pk=exposure.pairing_id).exists()


@pytest.mark.django_db
def test_the_database_refuses_two_live_assignments_for_one_bundle():
    experiment = open_study()
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    other = participant(experiment, "W2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            experiment=experiment,
            bundle=assignment.bundle,
            participant=other,
            n_trials=1,
            completion_code="X",
            last_activity_at=timezone.now(),
        )


@pytest.mark.django_db
def test_when_everything_is_taken_or_seen_the_worker_is_told_so():
    experiment = open_study(
        library=make_library(n_clips=2, n_excerpts=1), judgments_per_item=1, trials_per_assignment=2
    )
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    answer_all(assignment)
    with pytest.raises(AllocationError) as info:
        allocate_assignment(participant=participant(experiment, "W2"))
    assert info.value.code == "no_work"


@pytest.mark.django_db
def test_a_closed_experiment_hands_out_nothing_new():
    experiment = open_study()
    p = participant(experiment, "W1")
    close_experiment(experiment=experiment)
    with pytest.raises(AllocationError) as info:
        allocate_assignment(participant=p)
    assert info.value.code == "closed"


@pytest.mark.django_db
def test_an_idle_assignment_is_released_and_re_offered_and_keeps_only_answered_exposures():
    experiment = open_study(trials_per_assignment=4)
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    first = Trial.objects.filter(bundle=assignment.bundle).order_by("position").first()
    record_answer(
        participant=assignment.participant,
        answer=AnswerInput(
            idempotency_key="answer-key-1",
            assignment_ref=assignment_ref(assignment),
            position=first.position,
            rating=5,
            presentation=presentation_token(assignment_id=assignment.pk, position=first.position),
        ),
    )
    assert release_abandoned_assignments(now=timezone.now() + timedelta(seconds=60)) == 0
    later = timezone.now() + timedelta(seconds=experiment.abandon_after_s + 1)
    assert release_abandoned_assignments(now=later) == 1
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ABANDONED
    assert list(assignment.exposures.values_list("pairing_id", flat=True)) == [first.item.pairing_id]
    # The released bundle is offered first again (lowest round/index).
    again = allocate_assignment(participant=participant(experiment, "W2"))
    assert again.bundle_id == assignment.bundle_id


@pytest.mark.django_db
def test_a_worker_who_comes_back_gets_their_released_bundle_back_if_nobody_took_it():
    experiment = open_study(trials_per_assignment=4)
    assignment = allocate_assignment(participant=participant(experiment, "W1"))
    release_abandoned_assignments(now=timezone.now() + timedelta(seconds=experiment.abandon_after_s + 1))
    assert revive_assignment(assignment=assignment)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ACTIVE
    assert assignment.exposures.count() == 4
    release_abandoned_assignments(now=timezone.now() + timedelta(seconds=experiment.abandon_after_s + 1))
    allocate_assignment(participant=participant(experiment, "W2"))
    assert not revive_assignment(assignment=assignment)


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_on_postgresql_never_share_a_bundle():
    experiment = open_study(library=make_library(n_clips=10, n_excerpts=4), trials_per_assignment=4)
    participants = [participant(experiment, f"W{i}") for i in range(12)]
    started, refused, errors = start_at_once(participants)
    assert not errors and not refused
    results = [assignment.bundle_id for assignment in started]
    assert len(results) == len(set(results)) == 12


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_more_starts_than_bundles_claims_each_bundle_once():
    """More workers than bundles start at once: every bundle goes to exactly one of them (the one-statement
    claim skips rows other starts hold), the others are told there is no work, and each claimed bundle
    exposed exactly its own pairings to its worker."""
    experiment = open_study(library=make_library(n_clips=6, n_excerpts=4), trials_per_assignment=4)
    n_bundles = Bundle.objects.filter(experiment=experiment).count()
    participants = [participant(experiment, f"B{i}") for i in range(n_bundles + 6)]
    started, refused, errors = start_at_once(participants)
    claimed = [assignment.bundle_id for assignment in started]
    assert not errors
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == n_bundles
    assert refused == ["no_work"] * 6
    assert not Bundle.objects.filter(experiment=experiment, status=BundleStatus.AVAILABLE).exists()
    for assignment in Assignment.objects.filter(experiment=experiment):
        exposed = set(assignment.exposures.values_list("pairing_id", flat=True))
        assert exposed == set(
            BundlePairing.objects.filter(bundle=assignment.bundle).values_list("pairing_id", flat=True)
        )
    assert (
        Exposure.objects.filter(experiment=experiment).count()
        == BundlePairing.objects.filter(bundle__experiment=experiment).count()
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_of_bundles_sharing_items_all_count():
    from experiments.models import Item

    experiment = open_study(
        library=make_library(n_clips=4, n_excerpts=2), judgments_per_item=6, trials_per_assignment=8
    )
    assignments = [allocate_assignment(participant=participant(experiment, f"W{i}")) for i in range(6)]
    for assignment in assignments:
        answer_all(assignment, skip_last=True)
    last = {a.pk: Trial.objects.filter(bundle=a.bundle).order_by("-position").first().position for a in assignments}
    _, errors = at_once(lambda a: answer_trial(a, last[a.pk], rating=2), assignments)
    assert not errors
    assert set(Item.objects.filter(experiment=experiment).values_list("completed_count", flat=True)) == {6}
    assert Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.COMPLETED).count() == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_starts_of_one_worker_never_share_a_pairing():
    """A worker's first start claims without checking overlap (they have seen nothing in the study): first
    starts of the same worker at once (several MTurk assignments) may pick overlapping bundles, and the
    unique constraint then fails all but one of them, whose retries see the others' exposures and take
    bundles that do not overlap (or, when none is left that fits, are told there is no work)."""
    experiment = open_study(library=make_library(n_clips=20, n_excerpts=4), judgments_per_item=6)
    workers = ["X1", "X2", "X3"]
    participants = [participant(experiment, w, f"{w}-{n}") for n in range(4) for w in workers]
    started, refused, errors = start_at_once(participants)
    assert not errors and set(refused) <= {"no_work"} and len(started) >= 2 * len(workers)
    for worker in workers:
        bundles = Assignment.objects.filter(participant__worker_id=worker).values_list("bundle", flat=True)
        shown = list(BundlePairing.objects.filter(bundle__in=bundles).values_list("pairing_id", flat=True))
        assert len(bundles) >= 2 and len(shown) == len(set(shown))  # no pairing in two of their bundles
        exposed = Exposure.objects.filter(experiment=experiment, worker_id=worker).values_list("pairing_id", flat=True)
        assert sorted(exposed) == sorted(shown)


@pytest.mark.django_db(transaction=True)
def test_a_refused_join_keeps_the_prepared_statements_of_its_connection():
    """A refusal that wrote nothing commits instead of rolling back: psycopg forgets every prepared
    statement of a connection at a ROLLBACK, and the worker API's statements would be prepared again."""
    from experiments.services.allocation import begin_work

    def prepared() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), count(*) FROM pg_prepared_statements")
            return cursor.fetchone()

    experiment = open_study()
    allocate_assignment(participant=participant(experiment, "W1"))  # a join: its statements are prepared
    unready = participant(experiment, "W2")  # has not consented yet
    with pytest.raises(AllocationError) as refusal:
        begin_work(session_token=unready.token)
    assert refusal.value.code == "not_ready"
    backend, after_refusal = prepared()
    assert after_refusal >= 3  # the lock by participant, the claim and the lock by token are still prepared
    close_experiment(experiment=experiment)
    with pytest.raises(AllocationError, match="not accepting new work"):
        allocate_assignment(participant=participant(experiment, "W3"))
    assert prepared() == (backend, after_refusal)


@pytest.mark.django_db(transaction=True)
def test_a_refusal_after_an_adaptive_round_was_planned_keeps_nothing_of_it(monkeypatch):
    """The one refusal that comes after a write (nothing fit even after the next adaptive round was
    planned) still rolls its transaction back."""
    from experiments.services import allocation

    experiment = open_study()
    late = participant(experiment, "W1")

    def plan_a_round(*, experiment):
        Bundle.objects.filter(experiment=experiment).update(round=99)  # what the refusal must not keep
        return 1

    monkeypatch.setattr(allocation, "adaptive_policy", lambda experiment: object())
    monkeypatch.setattr(allocation, "_claim", lambda **kwargs: None)  # nothing fits this worker
    monkeypatch.setattr(allocation, "extend_adaptive_design", plan_a_round)
    with pytest.raises(AllocationError) as refusal:
        allocate_assignment(participant=late)
    assert refusal.value.code == "no_work" and refusal.value.wrote
    assert Bundle.objects.filter(experiment=experiment).exists()
    assert not Bundle.objects.filter(experiment=experiment, round=99).exists()
