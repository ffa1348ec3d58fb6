"""Property tests of the pure bundle planner at study sizes (no database)."""

import hashlib
import json
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.design.planner import PlanError, PlanItem, cross_bundle_pairs, plan_bundles


def rating_items(n_videos: int, n_songs: int) -> list[PlanItem]:
    return [PlanItem(pairings=(v * 1000 + s,)) for v in range(n_videos) for s in range(n_songs)]


def preference_items(n_queries: int, conditions=("GR", "GS", "SR")) -> list[PlanItem]:
    """Per query, G-R, G-S and S-R items that pairwise share a pairing (the hard case for bundling)."""
    items = []
    for direction_index, direction in enumerate(("V2M", "M2V")):
        for q in range(n_queries):
            base = (direction_index * 10_000 + q) * 10
            g, s, r1, r2 = base + 1, base + 2, base + 3, base + 4
            options = {"GR": (g, r1), "GS": (g, s), "SR": (s, r2)}
            items += [
                PlanItem(pairings=options[c], side_group=f"{direction}/{c}", direction=direction) for c in conditions
            ]
    return items


def check_plan(items, plan, *, k, n, catch_per_bundle=0):
    appearances = Counter()
    for bundle in plan:
        real = [t.item for t in bundle.trials if t.item is not None]
        assert 1 <= len(real) <= n
        assert sum(1 for t in bundle.trials if t.catch is not None) == catch_per_bundle
        shown = [p for i in real for p in items[i].pairings]
        assert len(shown) == len(set(shown)), "a bundle shows a pairing twice"
        appearances.update(real)
    assert appearances == Counter({i: k for i in range(len(items))}), "every item exactly k times"


def choice_trials(items, bundle):
    """A bundle's choice trials in order, as (counterbalancing group, first option on the left)."""
    return [
        (items[t.item].side_group if t.item is not None else f"catch/{t.direction}", t.first_on_left)
        for t in bundle.trials
    ]


def side_imbalance(items, plan):
    per_group = Counter()
    for bundle in plan:
        for group, left in choice_trials(items, bundle):
            per_group[group] += 1 if left else -1
    return per_group


def sides_by_position_in_group(items, plan):
    """(group, j) -> the sides of each bundle's j-th trial of that group."""
    sides = defaultdict(list)
    for bundle in plan:
        seen = Counter()
        for group, left in choice_trials(items, bundle):
            sides[(group, seen[group])].append(left)
            seen[group] += 1
    return sides


@settings(max_examples=25, deadline=None)
@given(
    n_videos=st.integers(1, 100),
    n_songs=st.integers(1, 20),
    k=st.integers(1, 9),
    n=st.integers(1, 80),
    seed=st.integers(0, 2**31),
)
def test_rating_plans_give_every_pairing_k_slots_without_repeats(n_videos, n_songs, k, n, seed):
    items = rating_items(n_videos, n_songs)
    plan = plan_bundles(items, k=k, n=n, seed=seed)
    check_plan(items, plan, k=k, n=n)
    # Bundles are full except where conflicts leave nothing else: at most the trailing ones are short.
    short = [b for b in plan if b.n_real < n]
    assert len(short) <= k + 1


def test_the_langlois_size_plans_full_bundles():
    items = rating_items(100, 20)
    plan = plan_bundles(items, k=9, n=50, seed=7, catch_per_bundle=2, n_catch=4)
    check_plan(items, plan, k=9, n=50, catch_per_bundle=2)
    assert len(plan) == 2000 * 9 // 50
    assert all(b.n_real == 50 for b in plan)
    # Offered in round order: the first bundles hold first replicas only (least-filled first).
    assert [b.round for b in plan] == sorted(b.round for b in plan)


@settings(max_examples=25, deadline=None)
@given(
    n_queries=st.integers(1, 60),
    conditions=st.sampled_from([("GR", "GS", "SR"), ("GR",), ("GS", "SR")]),
    k=st.integers(1, 9),
    n=st.integers(1, 60),
    seed=st.integers(0, 2**31),
    catch=st.integers(0, 2),
)
def test_preference_plans_separate_items_that_share_a_pairing_and_balance_sides(
    n_queries, conditions, k, n, seed, catch
):
    items = preference_items(n_queries, conditions)
    plan = plan_bundles(
        items, k=k, n=n, seed=seed, choice=True, catch_per_bundle=catch, n_catch=2, block_by_direction=True
    )
    check_plan(items, plan, k=k, n=n, catch_per_bundle=catch)
    # Over the whole design, per group (direction x condition, catch trials per direction), the first
    # option is on the left half the time (±1). Not within each bundle: that would make the side
    # predictable (tests/experiments/test_side_predictability.py).
    imbalance = side_imbalance(items, plan)
    groups = {i.side_group for i in items}
    assert groups <= set(imbalance) <= groups | ({"catch/V2M", "catch/M2V"} if catch else set())
    assert all(abs(v) <= 1 for v in imbalance.values()), imbalance
    # Sides are not a function of position: wherever 30 or more bundles have a j-th trial of a group,
    # both sides occur there (a false alarm has probability 2**-29 per position).
    for key, sides in sides_by_position_in_group(items, plan).items():
        if len(sides) >= 30:
            assert len(set(sides)) == 2, f"{key}: always {'left' if sides[0] else 'right'}"
    # Direction blocks, their order counterbalanced: V2M first in even bundles, M2V first in odd ones.
    for index, bundle in enumerate(plan):
        directions = [t.direction for t in bundle.trials]
        order = ("V2M", "M2V") if index % 2 == 0 else ("M2V", "V2M")
        assert directions == sorted(directions, key=order.index), f"bundle {index}: blocks in the order {order}"


def test_version_2_kept_video_to_music_first_in_every_bundle():
    items = preference_items(30)
    plan = plan_bundles(items, k=3, n=12, seed=5, choice=True, block_by_direction=True, version=2)
    for bundle in plan:
        directions = [t.direction for t in bundle.trials]
        assert directions == sorted(directions, key=("V2M", "M2V").index)
    both = [
        b
        for b in plan_bundles(items, k=3, n=12, seed=5, choice=True, block_by_direction=True)
        if len({t.direction for t in b.trials}) == 2
    ]
    assert {b.trials[0].direction for b in both} == {"V2M", "M2V"}  # version 3 counterbalances


@settings(max_examples=200, deadline=None)
@given(bundle_of=st.lists(st.integers(0, 12), max_size=300), seed=st.integers(0, 2**31))
def test_side_pairs_cross_bundles_wherever_the_bundle_sizes_allow(bundle_of, seed):
    """Each group's sides are paired coins; a pair inside one bundle would balance (and so betray) it."""
    pairs, odd = cross_bundle_pairs(bundle_of, random.Random(seed))
    matched = [t for pair in pairs for t in pair] + ([odd] if odd is not None else [])
    assert sorted(matched) == list(range(len(bundle_of))), "every trial exactly once"
    assert (odd is not None) == (len(bundle_of) % 2 == 1)
    # Only a bundle holding more than half of the (even) rest must pair its excess inside itself.
    largest = max(Counter(bundle_of).values(), default=0) - (len(bundle_of) % 2)
    inside = sum(bundle_of[a] == bundle_of[b] for a, b in pairs)
    assert inside == max(0, largest - len(pairs))


def test_catch_trials_are_never_first_and_the_same_seed_gives_the_same_plan():
    items = rating_items(10, 5)
    plan = plan_bundles(items, k=3, n=10, seed=42, catch_per_bundle=1, n_catch=3)
    assert all(b.trials[0].catch is None for b in plan)
    assert plan == plan_bundles(items, k=3, n=10, seed=42, catch_per_bundle=1, n_catch=3)
    assert plan != plan_bundles(items, k=3, n=10, seed=43, catch_per_bundle=1, n_catch=3)


def fingerprint(plan) -> str:
    rows = [[b.round, [[t.item, t.catch, t.direction, t.first_on_left] for t in b.trials]] for b in plan]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


# Fingerprints of plans made by the planner before it was versioned (commit bf9ac9f): stored designs
# rebuild from their seed, so version 1 must go on producing exactly these, and rating plans (which
# have no sides) must be the same in every version.
LEGACY_PLANS = {
    "preference": (
        preference_items(40),
        {"k": 9, "n": 30, "seed": "1234:plan", "catch_per_bundle": 1, "n_catch": 1, "choice": True}
        | {"block_by_direction": True},
        "218303a4c55f9393b6ab0f3d930d560ad4e2f21a9d7ac55180bf58e0aa8a931c",
    ),
    "preference GR": (
        preference_items(25, ("GR",)),
        {"k": 3, "n": 7, "seed": 99, "catch_per_bundle": 2, "n_catch": 1, "choice": True},
        "583eb262725edfba72fba0d4bc385de8bc4b38824b03e5f3e6750f5d7799b81a",
    ),
    "rating": (
        rating_items(30, 7),
        {"k": 5, "n": 20, "seed": "5:plan", "catch_per_bundle": 1, "n_catch": 4},
        "ec42f21aae9167a0cc30a07e014efe73b4e4fc0df0b147ae39dc501f5b684bd9",
    ),
}


@pytest.mark.parametrize("name", LEGACY_PLANS)
def test_planner_version_1_rebuilds_the_designs_stored_before_versions_exactly(name):
    items, kwargs, expected = LEGACY_PLANS[name]
    assert fingerprint(plan_bundles(items, **kwargs, version=1)) == expected
    current = fingerprint(plan_bundles(items, **kwargs))
    assert (current == expected) == (name == "rating"), "only choice sides changed in version 2"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0, "n": 5}, "at least 1"),
        ({"k": 2, "n": 0}, "at least 1"),
        ({"k": 2, "n": 5, "catch_per_bundle": 1, "n_catch": 0}, "catch pool is empty"),
        ({"k": 2, "n": 5, "version": 4}, "planner version must be one of 1, 2, 3"),
    ],
)
def test_impossible_parameters_are_explained(kwargs, message):
    with pytest.raises(PlanError, match=message):
        plan_bundles(rating_items(2, 2), seed=1, **kwargs)
