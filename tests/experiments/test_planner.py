"""Property tests of the pure bundle planner at study sizes (no database)."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.design.planner import PlanError, PlanItem, plan_bundles


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


def side_imbalance(items, plan):
    per_group = Counter()
    for bundle in plan:
        for t in bundle.trials:
            if t.item is not None and items[t.item].side_group:
                per_group[items[t.item].side_group] += 1 if t.first_on_left else -1
    return per_group


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
    assert all(abs(v) <= 1 for v in side_imbalance(items, plan).values())
    for bundle in plan:
        # Within a bundle too, each condition's first option is on the left half the time (±1).
        assert all(abs(v) <= 1 for v in side_imbalance(items, [bundle]).values())
        directions = [t.direction for t in bundle.trials]
        assert directions == sorted(directions, key=("V2M", "M2V").index), "V2M block before M2V block"


def test_catch_trials_are_never_first_and_the_same_seed_gives_the_same_plan():
    items = rating_items(10, 5)
    plan = plan_bundles(items, k=3, n=10, seed=42, catch_per_bundle=1, n_catch=3)
    assert all(b.trials[0].catch is None for b in plan)
    assert plan == plan_bundles(items, k=3, n=10, seed=42, catch_per_bundle=1, n_catch=3)
    assert plan != plan_bundles(items, k=3, n=10, seed=43, catch_per_bundle=1, n_catch=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0, "n": 5}, "at least 1"),
        ({"k": 2, "n": 0}, "at least 1"),
        ({"k": 2, "n": 5, "catch_per_bundle": 1, "n_catch": 0}, "catch pool is empty"),
    ],
)
def test_impossible_parameters_are_explained(kwargs, message):
    with pytest.raises(PlanError, match=message):
        plan_bundles(rating_items(2, 2), seed=1, **kwargs)
