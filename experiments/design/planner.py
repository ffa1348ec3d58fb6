"""Pure planning of assignment bundles: which trials go together, in which order, on which side.

No Django here, so the invariants can be property-tested at full study size in milliseconds:

* every item appears in exactly ``k`` bundles (one *replica round* after another), so completing all
  bundles once gives every item exactly ``k`` judgments;
* no bundle shows a pairing twice (items that share a pairing -- e.g. G-R and G-S of one query --
  land in different bundles), which is what lets the allocator promise "no worker sees a pairing
  twice" by handing out whole bundles;
* per counterbalancing group (direction x condition, and catch trials), the first option is on the
  left in half the trials, within ±1, over the whole design, while inside a bundle the sides are
  independent fair coins, so earlier trials say nothing about the next one (see ``_paired_coin_sides``);
* everything follows from one ``random.Random(seed)``: the same inputs give the same plan.

Versions: a stored design is rebuilt from its seed, so what a seed produces may never change
silently. ``version`` selects the algorithm a design was planned with; designs record it
(``planner_version`` in the experiment's config). Version 1 alternated the side per group while
walking the bundles, which balanced every bundle but let a worker predict the side of the first
option (always answering the side opposite the previous trial's picked it in about 80 % of trials,
with one condition in both directions); it is kept only to rebuild designs planned with it.
Version 2 draws paired coins. Rating plans are the same in both. Version 3 counterbalances the order
of direction blocks (``block_by_direction``): every other bundle runs music→video before video→music,
so half the participants (±1 bundle) meet each order; everything else is version 2's.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

DIRECTION_ORDER = {"": 0, "V2M": 0, "M2V": 1, "MV": 0}
PLANNER_VERSIONS = (1, 2, 3)
PLANNER_VERSION = 3  # what new designs use; 1 and 2 only rebuild designs that were planned with them


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
    version: int = PLANNER_VERSION,
) -> list[PlannedBundle]:
    if version not in PLANNER_VERSIONS:
        raise PlanError(f"planner version must be one of {', '.join(map(str, PLANNER_VERSIONS))}, not {version!r}.")
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
            # VM-NET ran the video->music block before the music->video block; from version 3 every
            # other bundle reverses the blocks, so that order effects cancel across participants.
            reverse = version >= 3 and len(bundles) % 2 == 1
            order.sort(key=lambda i: DIRECTION_ORDER[items[i].direction] != reverse)
        bundles.append((min(r for r, _ in slots), order))
    return _add_catch_and_sides(
        bundles,
        items,
        rng=rng,
        catch_per_bundle=catch_per_bundle,
        n_catch=n_catch,
        choice=choice,
        alternate_sides=version == 1,
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
    alternate_sides: bool,
) -> list[PlannedBundle]:
    # Catch stimuli rotate through a shuffled pool so each is used about equally often.
    catch_cycle: list[int] = []
    # Version 1 only: one alternating toggle per counterbalancing group, each starting on a seeded
    # side, drawn while walking (the random stream must stay exactly as it was).
    next_left: dict[str, bool] = {}

    def take_side(group: str) -> bool:
        side = next_left.setdefault(group, rng.random() < 0.5)
        next_left[group] = not side
        return side

    # Version 2: each group's trials as (bundle, position), in walking order; sides are drawn at the end.
    members: dict[str, list[tuple[int, int]]] = {}
    planned: list[list[list]] = []  # per bundle: [item, catch, direction, first_on_left] per trial
    for _, order in bundles:
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
                group = items[item].side_group if choice else None
            else:
                # A catch trial takes the direction of the block it sits in, so it looks like its neighbours.
                direction = previous_direction
                group = f"catch/{direction}" if choice else None
            previous_direction = direction
            first_on_left = True
            if group and alternate_sides:
                first_on_left = take_side(group)
            elif group:
                members.setdefault(group, []).append((len(planned), len(trials)))
            trials.append([item, catch, direction, first_on_left])
        planned.append(trials)
    for slots in members.values():
        for (b, position), left in zip(slots, _paired_coin_sides([b for b, _ in slots], rng), strict=True):
            planned[b][position][3] = left
    return [
        PlannedBundle(round=round_, trials=tuple(PlannedTrial(*t) for t in trials))
        for (round_, _), trials in zip(bundles, planned, strict=True)
    ]


def _paired_coin_sides(bundle_of: Sequence[int], rng: random.Random) -> list[bool]:
    """Sides of one counterbalancing group's trials, given the bundle of each trial.

    The trials are matched in pairs, the two of a pair in *different* bundles (``cross_bundle_pairs``),
    and each pair tosses one fair coin: the first option goes left in one trial of the pair and right
    in the other; an odd trial out tosses its own coin. So the group is balanced within ±1 over the
    whole design, and inside any one bundle every trial's side comes from a coin no other trial of
    that bundle shares: the sides a worker meets in a bundle are independent fair coins, and no
    history of earlier trials -- alternation, counts, patterns -- predicts the next one better than
    chance. Exact balance inside a bundle would be exploitable (after more lefts, rights are due),
    which is why balance is kept across bundles instead.
    """
    pairs, odd = cross_bundle_pairs(bundle_of, rng)
    sides = [False] * len(bundle_of)
    if odd is not None:
        sides[odd] = rng.random() < 0.5
    for a, b in pairs:
        sides[a] = rng.random() < 0.5
        sides[b] = not sides[a]
    return sides


def cross_bundle_pairs(bundle_of: Sequence[int], rng: random.Random) -> tuple[list[tuple[int, int]], int | None]:
    """A seeded random matching of trials ``0 .. len(bundle_of) - 1`` (and the odd one out, if any)
    with as few pairs inside one bundle as possible: none unless one bundle holds more than half of
    the trials (a design of one or two bundles), where the excess must pair up inside it.

    Built by the classic construction -- bundles as contiguous blocks in random order, trial ``i``
    paired with trial ``i + half``, so a block no longer than ``half`` holds no pair -- then mixed by
    random re-pairings that never add a pair inside a bundle, so a bundle's partners are spread over
    the design rather than concentrated in the few bundles facing it (which a worker might also take).
    """
    by_bundle: dict[int, list[int]] = {}
    for trial, bundle in enumerate(bundle_of):
        by_bundle.setdefault(bundle, []).append(trial)
    blocks = list(by_bundle.values())
    rng.shuffle(blocks)
    for block in blocks:
        rng.shuffle(block)
    # The odd one out comes from a largest bundle, which keeps pairs inside a bundle minimal.
    odd = max(blocks, key=len).pop() if len(bundle_of) % 2 else None
    order = [trial for block in blocks for trial in block]
    half = len(order) // 2
    pairs = [(order[i], order[i + half]) for i in range(half)]
    # Each proposal touches two pairs; (half/2)·ln(half) of them touch every pair once on average
    # (coupon collector), and (half/2)·log2(half) is about 1.4 times that.
    random_ = rng.random
    for _ in range(half * half.bit_length() // 2 if half > 1 else 0):
        p, q = int(random_() * half), int(random_() * half)
        (a, b), (c, d) = pairs[p], pairs[q]
        if random_() < 0.5:
            c, d = d, c
        inside_before = (bundle_of[a] == bundle_of[b]) + (bundle_of[c] == bundle_of[d])
        if p != q and (bundle_of[a] == bundle_of[c]) + (bundle_of[b] == bundle_of[d]) <= inside_before:
            pairs[p], pairs[q] = (a, c), (b, d)
    return pairs, odd
