"""Property tests of whole experiments at study size, through the real allocator on PostgreSQL.

Simulated workers (some doing several assignments, some abandoning half-way) take bundles until
every bundle is completed; then every pairing must have exactly k ratings in completed work, no
worker may have answered a pairing twice, and each choice condition's first option must have
been on the left half the time (±1).

Answers are written in bulk except the last one of each assignment, which goes through
``record_answer`` so the real completion path runs; allocation, release and completion are the
services under test.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    BundleStatus,
    Item,
    Participant,
    Response,
    Trial,
)
from experiments.services.allocation import AllocationError, allocate_assignment, release_abandoned_assignments
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import answer_trial, make_experiment, make_library

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
SETTINGS = settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def answer(assignment: Assignment, trial: Trial, rng: random.Random, *, via_service: bool):
    choice = assignment.experiment.is_choice
    value = {"chosen_side": rng.choice(["left", "right"])} if choice else {"rating": rng.randint(1, 7)}
    if via_service:
        answer_trial(assignment, trial.position, **value)
        return None
    return Response(
        assignment=assignment,
        trial=trial,
        idempotency_key=uuid.uuid4().hex,
        is_catch=trial.catch_id is not None,
        catch_passed=True if trial.catch_id else None,
        **value,
    )


def work(assignment: Assignment, rng: random.Random, *, abandon: bool) -> None:
    trials = list(Trial.objects.filter(bundle_id=assignment.bundle_id).order_by("position"))
    upto = rng.randrange(len(trials)) if abandon else len(trials) - 1
    Response.objects.bulk_create([answer(assignment, t, rng, via_service=False) for t in trials[:upto]])
    Assignment.objects.filter(pk=assignment.pk).update(n_answered=upto)
    if not abandon:
        answer(assignment, trials[-1], rng, via_service=True)


def run_crowd(experiment, *, n_workers: int, abandon_rate: float, seed: int) -> None:
    rng = random.Random(seed)
    workers = [f"W{i:03d}" for i in range(n_workers)]
    exhausted: set[str] = set()
    clock = timezone.now()
    while Bundle.objects.filter(experiment=experiment).exclude(status=BundleStatus.COMPLETED).exists():
        candidates = [w for w in workers if w not in exhausted]
        if not candidates:  # everyone has seen too much: a fresh worker arrives
            workers.append(f"W{len(workers):03d}")
            continue
        worker = rng.choice(candidates)
        participant = enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=uuid.uuid4().hex)
        try:
            assignment = allocate_assignment(participant=participant, now=clock)
        except AllocationError:
            exhausted.add(worker)
            if not Bundle.objects.filter(experiment=experiment, status=BundleStatus.AVAILABLE).exists():
                # Remaining bundles are held by abandoned-but-not-yet-released assignments.
                clock += timedelta(seconds=experiment.abandon_after_s + 1)
                release_abandoned_assignments(now=clock)
                exhausted.clear()
            continue
        work(assignment, rng, abandon=rng.random() < abandon_rate)


def check_invariants(experiment) -> None:
    k = experiment.judgments_per_item
    completed = Response.objects.filter(
        assignment__experiment=experiment, assignment__status=AssignmentStatus.COMPLETED, is_catch=False
    )
    per_item = Counter(completed.values_list("trial__item_id", flat=True))
    items = list(Item.objects.filter(experiment=experiment).values_list("pk", "completed_count"))
    assert {pk: per_item[pk] for pk, _ in items} == dict.fromkeys((pk for pk, _ in items), k)
    assert {c for _, c in items} == {k}
    # No worker ever answered a pairing twice, in completed or abandoned work.
    shown = Counter()
    for worker, pairing, first, second in Response.objects.filter(
        assignment__experiment=experiment, is_catch=False
    ).values_list(
        "assignment__participant__worker_id",
        "trial__item__pairing_id",
        "trial__item__first_pairing_id",
        "trial__item__second_pairing_id",
    ):
        for p in (pairing, first, second):
            if p is not None:
                shown[(worker, p)] += 1
    assert max(shown.values()) == 1
    assert not Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.ACTIVE).exists()
    duplicates = (
        Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.COMPLETED)
        .values("bundle")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    n=st.sampled_from([40, 50, 60]),
    n_workers=st.integers(40, 120),
    abandon_rate=st.sampled_from([0.0, 0.15]),
)
def test_langlois_size_rating_study_gets_exactly_k_ratings_per_pairing(seed, n, n_workers, abandon_rate):
    library = make_library(n_clips=100, n_excerpts=20)
    experiment = make_experiment(
        library=library,
        slug=f"langlois-{uuid.uuid4().hex[:6]}",
        seed=seed,
        judgments_per_item=9,
        trials_per_assignment=n,
        catch_trials_per_assignment=1,
    )
    experiment = open_experiment(experiment=experiment, allow_unrendered=True)
    assert Item.objects.filter(experiment=experiment).count() == 2000
    run_crowd(experiment, n_workers=n_workers, abandon_rate=abandon_rate, seed=seed)
    check_invariants(experiment)
    assert Participant.objects.filter(experiment=experiment).values("worker_id").distinct().count() >= 9


@SETTINGS
@given(seed=st.integers(0, 2**31), n=st.sampled_from([30, 60]), abandon_rate=st.sampled_from([0.0, 0.15]))
def test_preference_study_balances_sides_per_condition_and_fills_every_item(tmp_path_factory, seed, n, abandon_rate):
    import csv

    library = make_library(n_clips=100, n_excerpts=100, music_videos=100)
    ranking = tmp_path_factory.mktemp("rank") / "rank.csv"
    rng = random.Random(seed)
    with ranking.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
        for clip in library.clip_ids:
            for rank, excerpt in enumerate(rng.sample(library.excerpt_ids, 3), start=1):
                writer.writerow(["clip", clip, excerpt, rank, 1 / rank, "prop"])
        for excerpt in library.excerpt_ids:
            for rank, clip in enumerate(rng.sample(library.clip_ids, 3), start=1):
                writer.writerow(["excerpt", excerpt, clip, rank, 1 / rank, "prop"])
    experiment = make_experiment(
        kind="preference",
        library=library,
        slug=f"vmnet-{uuid.uuid4().hex[:6]}",
        config={
            # Explicit pools: earlier Hypothesis examples' libraries live in the same test transaction.
            "clip_ids": library.clip_ids,
            "excerpt_ids": library.excerpt_ids,
            "search": {"kind": "ranking-file", "path": str(ranking)},
        },
        seed=seed,
        judgments_per_item=9,
        trials_per_assignment=n,
        catch_trials_per_assignment=1,
    )
    experiment = open_experiment(experiment=experiment, allow_unrendered=True)
    assert Item.objects.filter(experiment=experiment).count() == 600
    run_crowd(experiment, n_workers=60, abandon_rate=abandon_rate, seed=seed)
    check_invariants(experiment)
    balance = Counter()
    completed = Response.objects.filter(
        assignment__experiment=experiment, assignment__status=AssignmentStatus.COMPLETED, is_catch=False
    )
    for direction, condition, first_on_left in completed.values_list(
        "trial__item__direction", "trial__item__condition", "trial__first_on_left"
    ):
        balance[(direction, condition)] += 1 if first_on_left else -1
    assert set(balance) == {(d, c) for d in ("V2M", "M2V") for c in ("GR", "GS", "SR")}
    assert all(abs(v) <= 1 for v in balance.values()), balance
