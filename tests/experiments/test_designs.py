"""Designs built by the services from the stimulus library: rating, 2AFC and the G/R/S preference test."""

import csv
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest

from annotation.models import Pairing
from experiments.design.config import DesignError
from experiments.design.planner import PLANNER_VERSION
from experiments.models import Bundle, CatchStimulus, Experiment, ExperimentStatus, Item, Trial
from experiments.services.designs import generate_design
from tests.factories.experiments import make_experiment, make_library

pytestmark = pytest.mark.django_db


def design_snapshot(experiment):
    items = list(
        Item.objects.filter(experiment=experiment)
        .order_by("index")
        .values_list("pairing_id", "first_pairing_id", "second_pairing_id", "condition", "first_kind", "second_kind")
    )
    trials = list(
        Trial.objects.filter(bundle__experiment=experiment)
        .order_by("bundle__index", "position")
        .values_list("bundle__index", "position", "item__index", "catch__kind", "first_on_left")
    )
    return items, trials


def test_a_full_factorial_rating_design_has_every_pairing_k_times():
    library = make_library(n_clips=5, n_excerpts=4)
    experiment = make_experiment(library=library, judgments_per_item=3, trials_per_assignment=6)
    assert experiment.status == ExperimentStatus.DESIGNED
    assert Item.objects.filter(experiment=experiment).count() == 20
    assert Pairing.objects.count() == 20
    per_item = Counter(
        Trial.objects.filter(bundle__experiment=experiment, item__isnull=False).values_list("item", flat=True)
    )
    assert set(per_item.values()) == {3}
    assert Bundle.objects.filter(experiment=experiment).count() == 10
    # One catch trial per bundle, drawn from the experiment's pool of attention checks.
    assert Trial.objects.filter(bundle__experiment=experiment, catch__isnull=False).count() == 10
    assert set(CatchStimulus.objects.filter(experiment=experiment).values_list("kind", flat=True)) == {
        "rating_instruction",
        "rating_silence",
    }


def test_the_same_seed_regenerates_the_same_design():
    experiment = make_experiment(
        library=make_library(n_clips=6, n_excerpts=3), judgments_per_item=2, trials_per_assignment=4
    )
    before = design_snapshot(experiment)
    generate_design(experiment=experiment)
    assert design_snapshot(experiment) == before


def test_a_rating_subset_samples_pairs_reproducibly():
    library = make_library(n_clips=6, n_excerpts=5)
    config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "sample_pairs": 7}
    a = make_experiment(library=library, slug="a", config=config, seed=5)
    b = make_experiment(library=library, slug="b", config=config, seed=5)
    assert Item.objects.filter(experiment=a).count() == 7
    assert list(Item.objects.filter(experiment=a).values_list("pairing_id", flat=True)) == list(
        Item.objects.filter(experiment=b).values_list("pairing_id", flat=True)
    )


def test_a_2afc_design_pairs_each_video_with_two_distinct_excerpts():
    library = make_library(n_clips=4, n_excerpts=5)
    experiment = make_experiment(
        kind="afc",
        library=library,
        config={"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "items_per_query": 2},
        judgments_per_item=2,
        trials_per_assignment=4,
    )
    items = list(Item.objects.filter(experiment=experiment).select_related("first_pairing", "second_pairing"))
    assert len(items) == 8
    for item in items:
        assert item.direction == "V2M" and item.condition == "none"
        assert item.first_pairing.clip_id == item.second_pairing.clip_id == item.query_clip_id
        assert item.first_pairing.excerpt_id != item.second_pairing.excerpt_id


def sides_per_group(experiment):
    """Per counterbalancing group, the sides of the first option in walking order (bundles, positions)."""
    sides = {}
    for direction, condition, catch, left in (
        Trial.objects.filter(bundle__experiment=experiment)
        .order_by("bundle__index", "position")
        .values_list("direction", "item__condition", "catch_id", "first_on_left")
    ):
        sides.setdefault(f"catch/{direction}" if catch else f"{direction}/{condition}", []).append(left)
    return sides


def test_new_designs_record_the_planner_version_and_stored_older_ones_rebuild_with_theirs():
    library = make_library(n_clips=6, n_excerpts=5)
    config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "items_per_query": 3}
    experiment = make_experiment(kind="afc", library=library, config=config, judgments_per_item=4)
    assert experiment.config["planner_version"] == PLANNER_VERSION
    current = sides_per_group(experiment)
    assert len(current["V2M/none"]) == 72
    assert all(abs(sum(1 if left else -1 for left in sides)) <= 1 for sides in current.values())
    # Version 2 draws coins: 72 sides strictly alternating would have probability 2**-71.
    assert any(a == b for a, b in pairwise(current["V2M/none"]))

    # A design stored before versions existed has no planner_version: it was planned by version 1,
    # which alternated each group's side while walking the bundles, and it rebuilds that way.
    stored = {key: value for key, value in experiment.config.items() if key != "planner_version"}
    Experiment.objects.filter(pk=experiment.pk).update(config=stored)
    generate_design(experiment=experiment)
    experiment.refresh_from_db()
    assert experiment.config["planner_version"] == 1
    legacy = sides_per_group(experiment)
    for sides in legacy.values():
        assert all(a != b for a, b in pairwise(sides))
    before = design_snapshot(experiment)
    generate_design(experiment=experiment)
    assert design_snapshot(experiment) == before


@pytest.mark.parametrize(
    ("version", "message"),
    [(1, "only rebuilds designs that were planned with it"), (4, "must be one of 1, 2, 3"), (True, "must be one of")],
)
def test_a_new_design_cannot_choose_an_old_or_unknown_planner_version(version, message):
    library = make_library(n_clips=3, n_excerpts=3)
    config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "planner_version": version}
    with pytest.raises(DesignError, match=message):
        make_experiment(kind="afc", library=library, config=config)
    assert not Experiment.objects.exists()


def write_ranking(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
        writer.writerows(rows)


def test_a_preference_design_takes_g_from_the_music_video_and_s_from_the_ranking_file(tmp_path):
    library = make_library(n_clips=6, n_excerpts=6, music_videos=6)
    clips, excerpts = library.clip_ids, library.excerpt_ids
    ranking = tmp_path / "rank.csv"
    rows = []
    for i, clip in enumerate(clips):
        # The ranking puts the ground truth first; S must skip it and take rank 2.
        rows.append(["clip", clip, excerpts[i], 1, 0.9, "vmnet-3"])
        rows.append(["clip", clip, excerpts[(i + 1) % 6], 2, 0.8, "vmnet-3"])
    for i, excerpt in enumerate(excerpts):
        rows.append(["excerpt", excerpt, clips[(i + 2) % 6], 1, 0.7, "vmnet-3"])
    write_ranking(ranking, rows)
    experiment = make_experiment(
        kind="preference",
        library=library,
        config={"search": {"kind": "ranking-file", "path": str(ranking)}},
        judgments_per_item=3,
        trials_per_assignment=5,
    )
    items = list(Item.objects.filter(experiment=experiment).select_related("first_pairing", "second_pairing"))
    assert Counter((i.direction, i.condition) for i in items) == {
        (d, c): 6 for d in ("V2M", "M2V") for c in ("GR", "GS", "SR")
    }
    for item in items:
        if item.direction == "V2M":
            query = clips.index(item.query_clip_id)
            options = {"first": item.first_pairing.excerpt_id, "second": item.second_pairing.excerpt_id}
            g, s = excerpts[query], excerpts[(query + 1) % 6]
        else:
            query = excerpts.index(item.query_excerpt_id)
            options = {"first": item.first_pairing.clip_id, "second": item.second_pairing.clip_id}
            g, s = clips[query], clips[(query + 2) % 6]
        expected = {"G": g, "S": s}
        for role, kind in (("first", item.first_kind), ("second", item.second_kind)):
            if kind == "R":
                assert options[role] not in (g, s)
            else:
                assert options[role] == expected[kind]
        if "S" in item.condition:
            assert item.search_source == f"ranking-file:{ranking}@vmnet-3"
            assert item.search_rank == (2 if item.direction == "V2M" else 1)
        else:
            assert item.search_source == "" and item.search_rank is None
    # Items that share a pairing (G-R and G-S of one query) never share a bundle.
    for bundle in Bundle.objects.filter(experiment=experiment):
        pairings = [
            p
            for t in Trial.objects.filter(bundle=bundle, item__isnull=False).select_related("item")
            for p in t.item.pairing_ids
        ]
        assert len(pairings) == len(set(pairings))


def test_nearest_neighbours_on_stored_features_supply_the_search_option(tmp_path):
    library = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    clip_vectors = np.eye(4)
    # Excerpt i is closest to clip (i + 1) % 4 -> for clip c the nearest excerpt is (c - 1) % 4.
    excerpt_vectors = np.roll(np.eye(4), 1, axis=1) + 0.01
    features = tmp_path / "emb.npz"
    np.savez(
        features,
        clip_ids=np.array(library.clip_ids),
        clip_vectors=clip_vectors,
        excerpt_ids=np.array(library.excerpt_ids),
        excerpt_vectors=excerpt_vectors,
        model_version="toy",
    )
    experiment = make_experiment(
        kind="preference",
        library=library,
        config={"directions": ["V2M"], "conditions": ["GS"], "search": {"kind": "features", "path": str(features)}},
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=0,
    )
    for item in Item.objects.filter(experiment=experiment).select_related("second_pairing"):
        c = library.clip_ids.index(item.query_clip_id)
        assert item.second_kind == "S"
        assert item.second_pairing.excerpt_id == library.excerpt_ids[(c - 1) % 4]
        assert item.search_rank == 1
        assert item.search_source == f"features:{features}@toy"


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("rating", {"clip_ids": [1]}, "'excerpt_ids' is required"),
        ("rating", {"clip_ids": [999999], "excerpt_ids": [999998]}, "do not exist"),
        ("rating", {"clip_ids": [1], "excerpt_ids": [2], "colour": "red"}, "unknown design parameter"),
        ("afc", {"clip_ids": [1], "excerpt_ids": [1]}, "at least two options"),
        ("preference", {"conditions": ["GS"]}, "need a search source"),
        ("preference", {"conditions": ["GR"]}, "ground-truth pairs"),
        ("preference", {"search": {"kind": "ranking-file", "path": "/nonexistent.csv"}}, "does not exist"),
        ("nonsense", {}, "experiment kind must be"),
    ],
)
def test_bad_design_parameters_get_a_clear_error_and_store_nothing(kind, config, message):
    make_library(n_clips=2, n_excerpts=2)
    with pytest.raises(DesignError, match=message):
        make_experiment(kind=kind, config=config, slug="bad")
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("slug", "message"),
    [("bad slug!", "only letters, digits, hyphens and underscores"), ("x" * 81, "longer than 80 characters")],
)
def test_a_slug_that_cannot_appear_in_a_worker_url_is_refused(slug, message):
    make_library(n_clips=2, n_excerpts=2)
    with pytest.raises(DesignError, match=message):
        make_experiment(slug=slug)
    assert not Experiment.objects.exists()
