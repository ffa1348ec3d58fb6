"""Writing planned rounds of bundles: the first rounds of every design (``designs.generate_design``) and
the later rounds of an adaptive design (:func:`extend_adaptive_design`, called by allocation when nothing is
on offer). A work module: it schedules no task, so ``experiments.tasks`` -> ``allocation`` -> here has no circle.
"""

from __future__ import annotations

import random

import numpy as np
from django.db import transaction
from django.db.models import Case, Count, Exists, F, IntegerField, Max, OuterRef, Q, Sum, Value, When

from experiments.design.adaptive import AdaptiveError, AdaptivePolicy, next_round
from experiments.design.config import DesignError, validate_config
from experiments.design.planner import PlanError, PlanItem, PlannedBundle, plan_bundles
from experiments.models import (
    AssignmentStatus,
    Bundle,
    BundlePairing,
    BundleStatus,
    CatchStimulus,
    Experiment,
    Item,
    Response,
    Side,
    Trial,
)


def adaptive_policy(experiment: Experiment, config: dict | None = None) -> AdaptivePolicy | None:
    """The experiment's adaptive-allocation policy, or None for fixed k (its cap is k)."""
    settings = (config if config is not None else experiment.config).get("adaptive")
    if not settings:
        return None
    try:
        return AdaptivePolicy(
            target_half_width=settings["target_half_width"],
            min_answers=settings["min_ratings"],
            cap=experiment.judgments_per_item,
            confidence=settings["confidence"],
        )
    except AdaptiveError as exc:
        raise DesignError(f"adaptive: {exc}") from None


def plan_round(
    experiment: Experiment, config: dict, plan_items: list[PlanItem], *, k: int, seed: str, n_catch: int
) -> list[PlannedBundle]:
    try:
        return plan_bundles(
            plan_items,
            k=k,
            n=experiment.trials_per_assignment,
            seed=seed,
            catch_per_bundle=experiment.catch_trials_per_assignment,
            n_catch=n_catch,
            choice=experiment.is_choice,
            # From planner version 3 every choice design that mixes directions runs them in blocks.
            block_by_direction=bool(config.get("block_by_direction", config["planner_version"] >= 3)),
            version=config["planner_version"],
        )
    except PlanError as exc:
        raise DesignError(str(exc)) from exc


def store_bundles(
    experiment: Experiment,
    plan: list[PlannedBundle],
    items: list[Item],
    catch_pool: list[CatchStimulus],
    *,
    first_index: int,
    first_round: int,
) -> None:
    """Write planned bundles with their trials and pairings; ``items`` is indexed like the plan's items."""
    bundles = Bundle.objects.bulk_create(
        [
            Bundle(experiment=experiment, index=first_index + i, round=first_round + b.round, n_trials=len(b.trials))
            for i, b in enumerate(plan)
        ],
        batch_size=2000,
    )
    trials, bundle_pairings = [], []
    for bundle, planned in zip(bundles, plan, strict=True):
        for position, t in enumerate(planned.trials):
            item = items[t.item] if t.item is not None else None
            trials.append(
                Trial(
                    bundle=bundle,
                    position=position,
                    item=item,
                    catch=catch_pool[t.catch] if t.catch is not None else None,
                    direction=t.direction,
                    first_on_left=t.first_on_left,
                )
            )
            if item is not None:
                bundle_pairings.extend(BundlePairing(bundle=bundle, pairing_id=p) for p in item.pairing_ids)
    Trial.objects.bulk_create(trials, batch_size=5000)
    BundlePairing.objects.bulk_create(bundle_pairings, batch_size=5000)


@transaction.atomic
def extend_adaptive_design(*, experiment: Experiment) -> int:
    """Plan the next round of an adaptive experiment once no bundle is on offer; returns its bundles.

    The round gives one more judgment to every item that ``experiments.design.adaptive.next_round``
    lists from the answers of completed assignments (answers in bundles still out count as pending),
    planned like the first rounds (conflict-free bundles, sides balanced within the round) and offered
    most uncertain first. Serialised on the experiment row; a no-op while any bundle is still on offer,
    for experiments with fixed k, and once no item needs more (the study is then done).
    """
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    policy = adaptive_policy(experiment)
    if policy is None or experiment.bundles.filter(status=BundleStatus.AVAILABLE).exists():
        return 0
    items = list(Item.objects.filter(experiment=experiment).order_by("index"))
    n, total, total_sq, pending = item_statistics(experiment=experiment, items=items)
    chosen = next_round(policy, n, total, total_sq, pending=pending)
    if not chosen.size:
        return 0
    last = experiment.bundles.aggregate(index=Max("index"), round=Max("round"))
    first_index = 0 if last["index"] is None else last["index"] + 1
    first_round = 0 if last["round"] is None else last["round"] + 1
    config = validate_config(experiment.kind, experiment.config)
    catch_pool = list(CatchStimulus.objects.filter(experiment=experiment).order_by("pk"))
    round_items = [items[i] for i in chosen]
    plan = plan_round(
        experiment,
        config,
        [
            PlanItem(
                pairings=item.stimulus_keys,
                side_group=f"{item.direction}/{item.condition}" if item.direction else None,
                direction=item.direction,
            )
            for item in round_items
        ],
        k=1,
        seed=f"{experiment.seed}:adaptive:{first_round}",
        n_catch=len(catch_pool),
    )
    # Offer order: bundles holding the most uncertain items first (round_items is sorted by priority).
    plan.sort(key=lambda b: min((t.item for t in b.trials if t.item is not None), default=len(round_items)))
    store_bundles(experiment, plan, round_items, catch_pool, first_index=first_index, first_round=first_round)
    return len(plan)


def item_statistics(*, experiment: Experiment, items: list[Item]) -> tuple[np.ndarray, ...]:
    """Per item (in the order of ``items``): answers in completed assignments, their sum and sum of
    squares (a choice answers 1 when the first option was chosen), and judgments pending in bundles out."""
    position = {item.pk: i for i, item in enumerate(items)}
    n, total, total_sq, pending = (np.zeros(len(items)) for _ in range(4))
    answers = Response.objects.filter(
        assignment__experiment=experiment,
        assignment__status=AssignmentStatus.COMPLETED,
        trial__item__isnull=False,
        skipped_reason="",  # a skipped trial is not a judgment
    )
    if experiment.is_choice:
        first = Q(chosen_side=Side.LEFT, trial__first_on_left=True) | Q(
            chosen_side=Side.RIGHT, trial__first_on_left=False
        )
        value = Case(When(first, then=Value(1)), default=Value(0), output_field=IntegerField())
        square = value
    else:
        value, square = F("rating"), F("rating") * F("rating")
    rows = answers.values("trial__item_id").annotate(count=Count("pk"), total=Sum(value), total_sq=Sum(square))
    for row in rows:
        i = position[row["trial__item_id"]]
        n[i], total[i], total_sq[i] = row["count"], row["total"], row["total_sq"]
    out = (
        Trial.objects.filter(bundle__experiment=experiment, bundle__status=BundleStatus.ASSIGNED, item__isnull=False)
        .values("item_id")
        .annotate(count=Count("pk"))
    )
    for row in out:
        pending[position[row["item_id"]]] = row["count"]
    return n, total, total_sq, pending


def reoffer_skipped(*, assignment) -> int:
    """Offer the trials the worker skipped (their media would not play) to others: each goes into a
    make-up bundle of the experiment that is still on offer, has room (``trials_per_assignment``) and
    shows none of its pairings yet, or into a new one. Called inside the completion's transaction;
    returns how many trials were re-offered. Workers who saw a pairing are never given it again
    (allocation's exposure rule), so the worker who skipped gets someone else's make-up bundle at most.
    """

    skipped = list(
        Trial.objects.filter(
            responses__assignment=assignment, item__isnull=False, responses__skipped_reason__gt=""
        ).select_related("item", "bundle")
    )
    experiment = assignment.experiment
    rng = random.Random(f"{experiment.seed}:makeup:{assignment.pk}")
    for trial in skipped:
        pairings = list(trial.item.pairing_ids)
        candidates = (
            Bundle.objects.select_for_update(skip_locked=True)
            .filter(experiment=experiment, status=BundleStatus.AVAILABLE, is_makeup=True)
            .filter(n_trials__lt=experiment.trials_per_assignment)
            .exclude(bundle_pairings__pairing_id__in=pairings)
        )
        montages = list(trial.item.montage_ids)
        if montages:  # a montage item: no make-up bundle may show one of its montages already
            candidates = candidates.exclude(
                Exists(
                    Trial.objects.filter(bundle_id=OuterRef("pk")).filter(
                        Q(item__montage__in=montages)
                        | Q(item__first_montage__in=montages)
                        | Q(item__second_montage__in=montages)
                    )
                )
            )
        bundle = candidates.order_by("index").first()
        if bundle is None:
            last = experiment.bundles.aggregate(index=Max("index"))["index"]
            bundle = Bundle.objects.create(
                experiment=experiment,
                index=0 if last is None else last + 1,
                round=trial.bundle.round,
                n_trials=0,
                is_makeup=True,
            )
        Trial.objects.create(
            bundle=bundle,
            position=bundle.n_trials,
            item=trial.item,
            direction=trial.direction,
            first_on_left=rng.random() < 0.5 if experiment.is_choice else True,
        )
        BundlePairing.objects.bulk_create([BundlePairing(bundle=bundle, pairing_id=p) for p in pairings])
        Bundle.objects.filter(pk=bundle.pk).update(n_trials=bundle.n_trials + 1)
    return len(skipped)
