"""Can a worker predict the side of the first option (G in G-R) from the trials before it?

Sequential predictors -- the strategies a careless worker or a bot farm would try -- walk many
generated bundles trial by trial, each guessing the side of the first option (the catch target on
attention checks) from what the bundle has shown so far, or, for the learner, from every bundle
before as well. Planned with the current planner, none may beat chance beyond a one-sided binomial
bound (alpha = 1e-4) over at least 20,000 predictions per design family. The plans come from fixed seeds,
so the test is deterministic. The same predictors run against planner version 1 (the alternating
sides kept to rebuild old designs) must see through it, which shows they have the power to.

Pure: no database, about a second.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

import pytest
from scipy.stats import binom

from experiments.design.planner import PlanItem, plan_bundles

MIN_PREDICTIONS = 20_000
ALPHA = 1e-4


# --- design families --------------------------------------------------------------------------


def preference_items(n_queries: int, directions: tuple[str, ...], conditions: tuple[str, ...]) -> list[PlanItem]:
    items = []
    for d_index, direction in enumerate(directions):
        for q in range(n_queries):
            base = (d_index * 10_000 + q) * 10
            g, s, r1, r2 = base + 1, base + 2, base + 3, base + 4
            options = {"GR": (g, r1), "GS": (g, s), "SR": (s, r2)}
            items += [
                PlanItem(pairings=options[c], side_group=f"{direction}/{c}", direction=direction) for c in conditions
            ]
    return items


def afc_items(n_queries: int, directions: tuple[str, ...], per_query: int = 2) -> list[PlanItem]:
    """Two-option choices: per query, ``per_query`` distinct option pairs (pairings are query x option)."""
    items = []
    for d_index, direction in enumerate(directions):
        for q in range(n_queries):
            base = (d_index * 10_000 + q) * 100
            for j in range(per_query):
                items.append(
                    PlanItem(
                        pairings=(base + 2 * j, base + 2 * j + 1), side_group=f"{direction}/none", direction=direction
                    )
                )
    return items


FAMILIES: dict[str, Callable[[int], list[PlanItem]]] = {
    "preference GR, V2M": lambda q: preference_items(q, ("V2M",), ("GR",)),
    "preference GR, both directions": lambda q: preference_items(q, ("V2M", "M2V"), ("GR",)),
    "preference GR+GS+SR, both directions": lambda q: preference_items(q, ("V2M", "M2V"), ("GR", "GS", "SR")),
    "2AFC, V2M": lambda q: afc_items(q, ("V2M",)),
    "2AFC, both directions": lambda q: afc_items(q, ("V2M", "M2V")),
}


def bundles_of(family: str, *, version: int, min_predictions: int) -> Iterator[list[tuple[str, bool]]]:
    """Each bundle as its choice trials in presentation order: (group, first option on the left)."""
    rng = random.Random(family)
    n_predictions = 0
    while n_predictions < min_predictions:
        items = FAMILIES[family](rng.randint(20, 80))
        k = rng.randint(2, 9)
        n = rng.randint(6, min(60, max(6, len(items) * k // 4)))  # at least about four bundles
        catch = rng.randint(1, 2)
        plan = plan_bundles(
            items,
            k=k,
            n=n,
            seed=rng.randrange(2**31),
            catch_per_bundle=catch,
            n_catch=1,
            choice=True,
            block_by_direction=rng.random() < 0.5,
            version=version,
        )
        for bundle in plan:
            trials = [
                (items[t.item].side_group if t.item is not None else f"catch/{t.direction}", t.first_on_left)
                for t in bundle.trials
            ]
            n_predictions += len(trials) - 1
            yield trials


# --- predictors -------------------------------------------------------------------------------


class Seen:
    """What a worker has seen so far in the bundle, kept incrementally so the test stays fast."""

    def __init__(self) -> None:
        self.n = self.lefts = 0
        self.last: bool | None = None
        self.group_n: Counter[str] = Counter()
        self.group_lefts: Counter[str] = Counter()
        self.group_recent: dict[str, tuple[bool, ...]] = {}  # the group's last two sides

    def add(self, group: str, left: bool) -> None:
        self.n += 1
        self.lefts += left
        self.last = left
        self.group_n[group] += 1
        self.group_lefts[group] += left
        self.group_recent[group] = (*self.group_recent.get(group, ())[-1:], left)


# Each guesses whether the first option of the next trial (of ``group``) is on the left.


def global_alternation(seen: Seen, group: str) -> bool:
    return not seen.last


def blind_alternating_clicker(seen: Seen, group: str) -> bool:
    return seen.n % 2 == 0  # L, R, L, R, ... whatever is shown


def group_alternation(seen: Seen, group: str) -> bool:
    recent = seen.group_recent.get(group)
    return not (recent[-1] if recent else seen.last)


def repeat_last(seen: Seen, group: str) -> bool:
    return bool(seen.last)


def majority(seen: Seen, group: str) -> bool:
    return seen.lefts * 2 > seen.n if seen.lefts * 2 != seen.n else bool(seen.last)


def anti_majority(seen: Seen, group: str) -> bool:
    """Balance exploitation over the bundle: the side shown less often is 'due'."""
    return seen.lefts * 2 < seen.n if seen.lefts * 2 != seen.n else not seen.last


def group_count_remaining(seen: Seen, group: str) -> bool:
    """Balance exploitation per group: if each group is balanced in a bundle, its rarer side is due."""
    lefts, n = seen.group_lefts[group], seen.group_n[group]
    return lefts * 2 < n if lefts * 2 != n else group_alternation(seen, group)


class NGramLearner:
    """A bot farm sharing notes: learns P(left | condition, the group's last two sides, the last side
    shown) online over every bundle seen so far, and guesses the likelier side."""

    def __init__(self) -> None:
        self.counts: defaultdict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    @staticmethod
    def context(seen: Seen, group: str) -> tuple:
        return (group.rpartition("/")[2], seen.group_recent.get(group, ()), seen.last)

    def __call__(self, seen: Seen, group: str) -> bool:
        rights, lefts = self.counts[self.context(seen, group)]
        return lefts > rights

    def learn(self, seen: Seen, group: str, left: bool) -> None:
        self.counts[self.context(seen, group)][left] += 1


PREDICTORS = (
    global_alternation,
    blind_alternating_clicker,
    group_alternation,
    repeat_last,
    majority,
    anti_majority,
    group_count_remaining,
)


def accuracies(family: str, *, version: int, min_predictions: int = MIN_PREDICTIONS) -> tuple[int, dict[str, float]]:
    """Every trial but the first of each bundle is predicted, from what came before it."""
    learner = NGramLearner()
    predictors = {**{f.__name__: f for f in PREDICTORS}, "ngram_learner": learner}
    correct = dict.fromkeys(predictors, 0)
    n = 0
    for trials in bundles_of(family, version=version, min_predictions=min_predictions):
        seen = Seen()
        for group, left in trials:
            if seen.n:
                n += 1
                for name, predict in predictors.items():
                    correct[name] += predict(seen, group) == left
            learner.learn(seen, group, left)
            seen.add(group, left)
    return n, {name: hits / n for name, hits in correct.items()}


@pytest.mark.parametrize("family", FAMILIES)
def test_no_predictor_beats_chance_on_the_side_of_the_first_option(family):
    n, accuracy = accuracies(family, version=2)
    assert n >= MIN_PREDICTIONS
    # Under independent fair sides, each predictor's hits are Binomial(n, 1/2) whatever it does.
    bound = binom.isf(ALPHA, n, 0.5) / n
    beaten = {name: round(a, 4) for name, a in accuracy.items() if a > bound}
    assert not beaten, f"{family}: predictors beat chance (bound {bound:.4f} over {n} predictions): {beaten}"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_predictors_see_through_the_alternating_sides_of_planner_version_1(family):
    n, accuracy = accuracies(family, version=1, min_predictions=2_000)
    bound = binom.isf(ALPHA, n, 0.5) / n
    assert accuracy["group_alternation"] > 0.75
    assert accuracy["ngram_learner"] > 0.75
    assert accuracy["group_count_remaining"] > bound
