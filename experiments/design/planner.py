"""Pure planning of assignment bundles: which trials go together, in which order, on which side.

No Django here, so the invariants can be property-tested at full study size in milliseconds:

* every item appears in exactly ``k`` bundles (one *replica round* after another), so completing all
  bundles once gives every item exactly ``k`` judgments;
* no bundle shows a pairing twice (items that share a pairing -- e.g. G-R and G-S of one query --
  land in different bundles), which is what lets the allocator promise "no worker sees a pairing
  twice" by handing out whole bundles;
* per counterbalancing group (direction x condition, and catch trials), the first option is on the
  left in half the trials, within ±1, over the whole design and within every bundle;
* everything follows from one ``random.Random(seed)``: the same inputs give the same plan.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

DIRECTION_ORDER = {"": 0, "V2M": 0, "M2V": 1}


@dataclass(frozen=True)
class PlanItem:
    """What the planner needs to know about one item."""

    pairings: tuple[int, ...]
    side_group: str | None = None  # choice items: counterbalancing group, e.g. "V2M/GR"; None for ratings
    direction: str = ""


@dataclass(frozen=True)
class PlannedTrial:
    item: int | None  # index into the items sequence
    catch: int | None  # index into the catch pool
    direction: str
    first_on_left: bool


@dataclass(frozen=True)
class PlannedBundle:
    round: int
    trials: tuple[PlannedTrial, ...]

    @property
    def n_real(self) -> int:
        return sum(1 for t in self.trials if t.item is not None)


class PlanError(ValueError):
    """The parameters cannot produce a design (explains which one and why)."""


def plan_bundles(
    items: Sequence[PlanItem],
    *,
    k: int,
    n: int,
    seed: int,
    catch_per_bundle: int = 0,
    n_catch: int = 0,
    choice: bool = False,
    block_by_direction: bool = False,
) -> list[PlannedBundle]:
    if k < 1:
        raise PlanError(f"judgments per item (k) must be at least 1, not {k}.")
    if n < 1:
        raise PlanError(f"trials per assignment (n) must be at least 1, not {n}.")
    if catch_per_bundle and not n_catch:
        raise PlanError("catch trials were requested but the catch pool is empty.")
    for index, item in enumerate(items):
        if len(set(item.pairings)) != len(item.pairings) or not item.pairings:
            raise PlanError(f"item {index} must show one or more distinct pairings, got {item.pairings}.")
    rng = random.Random(seed)
    groups = _fill_bundles(items, k=k, n=n, rng=rng)
    bundles = []
    for slots in groups:
        order = [item for _, item in slots]
        rng.shuffle(order)
        if block_by_direction:
            # VM-NET ran the video->music block before the music->video block; keep that order.
            order.sort(key=lambda i: DIRECTION_ORDER[items[i].direction])
        bundles.append((min(r for r, _ in slots), order))
    return _add_catch_and_sides(
        bundles, items, rng=rng, catch_per_bundle=catch_per_bundle, n_catch=n_catch, choice=choice
    )


def _fill_bundles(items: Sequence[PlanItem], *, k: int, n: int, rng: random.Random) -> list[list[tuple[int, int]]]:
    """Cut ``k`` shuffled rounds of slots into bundles of at most ``n`` conflict-free slots.

    A slot that conflicts with the bundle being filled (shares a pairing with a slot already in it)
    is deferred to the next bundle, where deferred slots go first; so bundles stay in round order
    and nothing is lost. Bundles are short only where conflicts leave no alternative.
    """
    pending: deque[tuple[int, int]] = deque()
    for round_ in range(k):
        order = list(range(len(items)))
        rng.shuffle(order)
        pending.extend((round_, i) for i in order)
    deferred: list[tuple[int, int]] = []
    bundles: list[list[tuple[int, int]]] = []
    # Bound the scan per bundle so a pathological design (many conflicts) stays linear-ish.
    max_skips = max(4 * n, 256)
    while pending or deferred:
        current: list[tuple[int, int]] = []
        used: set[int] = set()
        still_deferred: list[tuple[int, int]] = []
        for slot in deferred:
            if len(current) < n and used.isdisjoint(items[slot[1]].pairings):
                current.append(slot)
                used.update(items[slot[1]].pairings)
            else:
                still_deferred.append(slot)
        skips = 0
        while len(current) < n and pending and skips < max_skips:
            slot = pending.popleft()
            if used.isdisjoint(items[slot[1]].pairings):
                current.append(slot)
                used.update(items[slot[1]].pairings)
            else:
                still_deferred.append(slot)
                skips += 1
        deferred = still_deferred
        bundles.append(current)
    return bundles


def _add_catch_and_sides(
    bundles: list[tuple[int, list[int]]],
    items: Sequence[PlanItem],
    *,
    rng: random.Random,
    catch_per_bundle: int,
    n_catch: int,
    choice: bool,
) -> list[PlannedBundle]:
    # Catch stimuli rotate through a shuffled pool so each is used about equally often.
    catch_cycle: list[int] = []
    # One alternating toggle per counterbalancing group, each starting on a seeded side. Walking
    # bundles in order and trials in presentation order keeps every bundle balanced as well.
    next_left: dict[str, bool] = {}

    def take_side(group: str) -> bool:
        side = next_left.setdefault(group, rng.random() < 0.5)
        next_left[group] = not side
        return side

    planned = []
    for round_, order in bundles:
        entries: list[tuple[int | None, int | None]] = [(i, None) for i in order]
        for _ in range(catch_per_bundle if n_catch else 0):
            if not catch_cycle:
                catch_cycle = list(range(n_catch))
                rng.shuffle(catch_cycle)
            # Never first: the worker should meet a real trial before an attention check.
            position = rng.randint(1, len(entries)) if entries else 0
            entries.insert(position, (None, catch_cycle.pop()))
        trials = []
        previous_direction = items[order[0]].direction if order else ""
        for item, catch in entries:
            if item is not None:
                direction = items[item].direction
                group = items[item].side_group
                first_on_left = take_side(group) if choice and group else True
            else:
                # A catch trial takes the direction of the block it sits in, so it looks like its neighbours.
                direction = previous_direction
                first_on_left = take_side(f"catch/{direction}") if choice else True
            previous_direction = direction
            trials.append(PlannedTrial(item=item, catch=catch, direction=direction, first_on_left=first_on_left))
        planned.append(PlannedBundle(round=round_, trials=tuple(trials)))
    return planned
