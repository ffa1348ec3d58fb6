"""Adaptive allocation on PostgreSQL: opt-in config, rounds planned from the answers, invariants kept."""

import uuid
from collections import Counter

import pytest

from experiments.design.config import DesignError
from experiments.models import Assignment, AssignmentStatus, Bundle, BundlePairing, Exposure, Item, Trial
from experiments.services.allocation import AllocationError, allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from experiments.services.rounds import extend_adaptive_design
from tests.factories.experiments import answer_trial, make_experiment, make_library
from tests.support.concurrency import at_once

ADAPTIVE = {"target_half_width": 1.0, "min_ratings": 2}


def adaptive_study(*, kind="rating", adaptive=ADAPTIVE, k=6, n=4, library=None, **config):
    library = library or make_library(n_clips=4, n_excerpts=3)
    base = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids}
    experiment = make_experiment(
        kind=kind,
        library=library,
        config={**base, **config, "adaptive": adaptive},
        judgments_per_item=k,
        trials_per_assignment=n,
        catch_trials_per_assignment=0,
    )
    return open_experiment(experiment=experiment, allow_unrendered=True)


def start(experiment, worker):
    participant = enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=uuid.uuid4().hex)
    return allocate_assignment(participant=participant)


def finish(assignment, answer):
    """Answer every trial of the assignment; ``answer(item)`` gives the answer kwargs for an item."""
    for trial in Trial.objects.filter(bundle=assignment.bundle).select_related("item").order_by("position"):
        answer_trial(assignment, trial.position, **answer(trial.item))


def run_crowd(experiment, answer, *, max_workers=200):
    """Workers W0, W1, ... each take one bundle and finish it, until the study has no work left."""
    for w in range(max_workers):
        try:
            assignment = start(experiment, f"W{w}")
        except AllocationError as exc:
            assert exc.code == "no_work"
            return w
        finish(assignment, answer)
    raise AssertionError("the study never ran out of work")


def ratings_per_item(experiment):
    return dict(Item.objects.filter(experiment=experiment).values_list("pk", "completed_count"))


@pytest.mark.django_db
def test_adaptive_config_is_validated_and_stored_normalised():
    experiment = adaptive_study()
    assert experiment.config["adaptive"] == {"target_half_width": 1.0, "min_ratings": 2, "confidence": 0.95}
    # Only the first min_ratings rounds are planned up front.
    assert set(Bundle.objects.filter(experiment=experiment).values_list("round", flat=True)) == {0, 1}
    assert set(
        Counter(Trial.objects.filter(bundle__experiment=experiment).values_list("item_id", flat=True)).values()
    ) == {2}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("adaptive", "k", "message"),
    [
        ({"target_half_width": 0, "min_ratings": 2}, 6, "target_half_width"),
        ({"target_half_width": 1.0, "min_ratings": 1}, 6, "min_ratings"),
        ({"target_half_width": 1.0, "min_ratings": 4}, 3, "judgments_per_item"),
        ({"target_half_width": 1.0, "confidence": 1.5}, 6, "confidence"),
        ({"target_half_width": "1"}, 6, "numbers"),
        ({"target_half_width": 1.0, "stop": True}, 6, "unknown adaptive parameter"),
        ([1.0], 6, "must be an object"),
    ],
)
def test_impossible_adaptive_settings_are_refused_and_store_nothing(adaptive, k, message):
    library = make_library(n_clips=2, n_excerpts=2)
    with pytest.raises(DesignError, match=message):
        make_experiment(
            library=library,
            config={"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "adaptive": adaptive},
            judgments_per_item=k,
        )
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_the_preference_test_has_no_adaptive_option():
    library = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    with pytest.raises(DesignError, match="unknown design parameter"):
        make_experiment(kind="preference", library=library, config={"conditions": ["GR"], "adaptive": ADAPTIVE})


@pytest.mark.django_db
def test_agreed_pairings_stop_early_and_contested_ones_get_up_to_k():
    # Pooled spread 6 after two rounds; an agreed pairing's variance shrinks towards it, so it needs a
    # third rating to reach +-2: 1.96 * sqrt((2 * 6 + 0) / (2 + 2) / 3) = 1.96.
    experiment = adaptive_study(adaptive={"target_half_width": 2.0, "min_ratings": 2})
    items = list(Item.objects.filter(experiment=experiment).order_by("index"))
    contested = {item.pk for item in items[::3]}
    flips = Counter()

    def answer(item):
        if item.pk in contested:
            flips[item.pk] += 1
            return {"rating": 1 if flips[item.pk] % 2 else 7}
        return {"rating": 4}

    run_crowd(experiment, answer)
    counts = ratings_per_item(experiment)
    assert {counts[pk] for pk in contested} == {6}  # k, never more
    assert {c for pk, c in counts.items() if pk not in contested} == {3}
    # Rounds after the agreed pairings stopped held only the contested ones; nobody saw a pairing twice.
    later = Trial.objects.filter(bundle__experiment=experiment, bundle__round__gte=3)
    assert set(later.values_list("item_id", flat=True)) == contested
    exposures = Exposure.objects.filter(experiment=experiment).values_list("worker_id", "pairing_id")
    assert len(exposures) == len(set(exposures))


@pytest.mark.django_db
def test_with_a_loose_target_nothing_is_planned_after_the_first_rounds():
    experiment = adaptive_study(adaptive={"target_half_width": 6.0, "min_ratings": 2})
    run_crowd(experiment, lambda item: {"rating": 1 + item.index % 7})
    assert set(ratings_per_item(experiment).values()) == {2}
    assert not Bundle.objects.filter(experiment=experiment, round__gte=2).exists()


@pytest.mark.django_db
def test_a_clear_2afc_pair_stops_early_and_a_split_one_continues():
    library = make_library(n_clips=2, n_excerpts=4)
    experiment = adaptive_study(
        kind="afc", library=library, adaptive={"target_half_width": 0.3, "min_ratings": 4}, k=10, n=2
    )
    split, clear = list(Item.objects.filter(experiment=experiment).order_by("index"))
    turns = Counter()

    def finish_choice(assignment):
        # Sides are counterbalanced: choose the wanted option through the side it is shown on.
        for trial in Trial.objects.filter(bundle=assignment.bundle).order_by("position"):
            turns[trial.item_id] += 1
            wants_first = trial.item_id == clear.pk or turns[trial.item_id] % 2 == 0
            left = wants_first == trial.first_on_left
            answer_trial(assignment, trial.position, chosen_side="left" if left else "right")

    for w in range(100):
        try:
            assignment = start(experiment, f"W{w}")
        except AllocationError:
            break
        finish_choice(assignment)
    counts = ratings_per_item(experiment)
    assert counts[clear.pk] == 4  # all chose the first option: precise after the minimum
    assert counts[split.pk] == 10  # a 50/50 split stays uncertain up to k


@pytest.mark.django_db
def test_no_round_is_planned_while_a_bundle_is_still_on_offer_or_for_fixed_k():
    experiment = adaptive_study()
    assert extend_adaptive_design(experiment=experiment) == 0  # the first rounds are still on offer
    library = make_library(n_clips=2, n_excerpts=2)
    fixed = open_experiment(
        experiment=make_experiment(
            library=library, slug="fixed", judgments_per_item=2, trials_per_assignment=4, catch_trials_per_assignment=0
        ),
        allow_unrendered=True,
    )
    run_crowd(fixed, lambda item: {"rating": 4})
    assert extend_adaptive_design(experiment=fixed) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_after_the_first_rounds_plan_one_round_and_never_share_a_bundle():
    experiment = adaptive_study(library=make_library(n_clips=6, n_excerpts=4), n=2)
    # Everything contested: the first two rounds leave every pairing imprecise.
    flips = Counter()

    def answer(item):
        flips[item.pk] += 1
        return {"rating": 1 if flips[item.pk] % 2 else 7}

    first_rounds = Bundle.objects.filter(experiment=experiment).count()
    for w in range(first_rounds):
        finish(start(experiment, f"early{w}"), answer)
    participants = [
        enter_via_mturk(experiment=experiment, worker_id=f"C{i}", assignment_id=uuid.uuid4().hex) for i in range(12)
    ]
    results, errors = at_once(lambda p: allocate_assignment(participant=p).bundle_id, participants)
    assert not errors
    assert len(results) == len(set(results)) == 12
    # One new round (24 pairings in bundles of 2 = 12 bundles), not one per concurrent start.
    assert set(Bundle.objects.filter(experiment=experiment).values_list("round", flat=True)) == {0, 1, 2}
    assert Bundle.objects.filter(experiment=experiment, round=2).count() == 12
    live = Assignment.objects.filter(experiment=experiment, status=AssignmentStatus.ACTIVE)
    assert live.count() == 12
    pairs = BundlePairing.objects.filter(bundle__experiment=experiment).values_list("bundle_id", "pairing_id")
    assert len(pairs) == len(set(pairs))
