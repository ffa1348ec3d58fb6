"""Montages (whole-song music videos) as stimuli: config, design, worker payloads and export.

Montage rows come from ``MontageFactory`` (no files): these tests look at the design, the payloads and
the tables; ``test_montage_browser`` plays real montages in Chromium.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from django.db import IntegrityError, transaction

from annotation.models import MontageKind, RenderState
from experiments.design.config import DesignError, validate_config
from experiments.models import Item, Trial
from experiments.selectors.worker import MONTAGE_PROMPTS, media_file_for, worker_trial_payload
from experiments.services.allocation import allocate_assignment
from experiments.services.designs import create_experiment
from experiments.services.export import write_export
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from exportformat import read_export
from tests.factories.annotation import MontageFactory, MusicTrackFactory
from tests.factories.experiments import answer_trial

pytestmark = pytest.mark.django_db

OTHER_MODEL = "other-model@2"


def song_with_montages(*, models=("test-embeddings@1",), kinds=("G", "S", "R", "anti")):
    song = MusicTrackFactory(duration_s=5.0)
    rows = {}
    for kind in kinds:
        for model in [""] if kind == "G" else models:
            rows[(kind, model)] = MontageFactory(song=song, kind=kind, **({"model": model} if model else {}))
    return song, rows


def montage_study(config, *, kind="afc", slug="mv", k=2, n=3, catch=1, seed=7):
    return create_experiment(
        slug=slug,
        title=slug,
        kind=kind,
        config=config,
        seed=seed,
        judgments_per_item=k,
        trials_per_assignment=n,
        catch_trials_per_assignment=catch,
    )


# --- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("afc", {"montages": []}, "'montages' must be an object"),
        ("afc", {"montages": {"songs": "some"}}, "'montages.songs' must be a list of integer ids"),
        ("afc", {"montages": {"songs": []}}, "'montages.songs' is empty"),
        ("afc", {"montages": {"pairs": [["S", "X"]]}}, "bad montage pair ['S', 'X']"),
        ("afc", {"montages": {"pairs": [["R", "R"]]}}, "two montages of one kind are compared only for S"),
        ("afc", {"montages": {"pairs": [["S", "R"], ["R", "S"]]}}, "lists ['S', 'R'] more than once"),
        ("afc", {"montages": {"pairs": [["S", "S"]], "model": "a@1"}}, "must name at least two"),
        ("afc", {"montages": {"kinds": ["S"]}}, "unknown montages parameter(s): kinds"),
        ("rating", {"montages": {"pairs": [["S", "R"]]}}, "unknown montages parameter(s): pairs"),
        ("rating", {"montages": {"kinds": ["X"]}}, "'kinds' must be a non-empty list"),
        ("afc", {"montages": {}, "clip_ids": [1]}, "montages and clip/excerpt pairings cannot be mixed"),
        ("afc", {"montages": {"model": 3}}, "'montages.model' must be a model name"),
    ],
)
def test_bad_montage_configs_are_refused_with_a_clear_error(kind, config, message):
    with pytest.raises(DesignError) as error:
        validate_config(kind, config, new=True)
    assert message in str(error.value)


def test_a_montage_config_is_normalised_and_others_keep_their_shape():
    got = validate_config("afc", {"montages": {"pairs": [["R", "S"]], "model": "m@1"}}, new=True)
    assert got["montages"] == {"songs": "all", "model": ["m@1"], "pairs": [["S", "R"]]}
    rating = validate_config("rating", {"montages": {"songs": [4]}}, new=True)
    assert rating["montages"] == {"songs": [4], "model": None, "kinds": ["G", "S", "R", "anti"]}
    assert "montages" not in validate_config("afc", {"clip_ids": [1, 2], "excerpt_ids": [3, 4]}, new=True)


def test_a_song_without_ready_montages_of_a_requested_kind_is_named():
    song, rows = song_with_montages(kinds=("G", "S"))
    with pytest.raises(DesignError, match=rf"song {song.pk} has no ready montages for the pair \['S', 'R'\]"):
        montage_study({"montages": {"songs": [song.pk], "pairs": [["S", "R"]]}})
    rows[("S", "test-embeddings@1")].state = RenderState.PENDING
    rows[("S", "test-embeddings@1")].save()
    with pytest.raises(DesignError, match="has 1 ready montage"):
        montage_study({"montages": {"songs": [song.pk]}})
    with pytest.raises(DesignError, match=r"1 song id\(s\) do not exist: 999999"):
        montage_study({"montages": {"songs": [999999]}})
    with pytest.raises(DesignError, match=rf"song {song.pk} has no ready montage of kind\(s\) S"):
        montage_study({"montages": {"songs": [song.pk], "kinds": ["S"], "model": "nobody@1"}}, kind="rating")
    bare = MusicTrackFactory()
    with pytest.raises(DesignError, match="no ready montages were found for the chosen songs"):
        montage_study({"montages": {"songs": [bare.pk]}})


# --- design -------------------------------------------------------------------------------------


def test_every_pair_among_a_songs_montages_by_default_and_the_invariants_hold():
    songs = [song_with_montages()[0] for _ in range(3)]
    experiment = montage_study({"montages": {"songs": [s.pk for s in songs]}}, k=4, n=4)
    items = list(experiment.items.select_related("first_montage", "second_montage"))
    assert len(items) == 3 * 6  # C(4, 2) pairs per song
    for item in items:
        assert item.direction == "MV" and item.pairing_ids == () and item.first_pairing_id is None
        assert item.first_montage.song_id == item.second_montage.song_id
        assert item.first_montage_id != item.second_montage_id
    kinds = Counter(f"{i.first_montage.kind}-{i.second_montage.kind}" for i in items)
    assert kinds == {"G-S": 3, "G-R": 3, "G-anti": 3, "S-R": 3, "S-anti": 3, "R-anti": 3}
    trials = list(Trial.objects.filter(bundle__experiment=experiment).select_related("item"))
    real = [t for t in trials if t.item_id]
    assert Counter(t.item_id for t in real) == {i.pk: 4 for i in items}  # k judgments each
    assert sum(1 for t in trials if t.catch_id) == experiment.bundles.count()  # one catch per bundle
    # No montage twice in a bundle (so never twice for one worker's assignment).
    for bundle in experiment.bundles.all():
        shown = [m for t in real if t.bundle_id == bundle.pk for m in t.item.montage_ids]
        assert len(shown) == len(set(shown))
    # Counterbalanced per kind pair: first montage on the left in half the trials (±1).
    by_group = Counter()
    lefts = Counter()
    group_of = {i.pk: f"{i.first_montage.kind}-{i.second_montage.kind}" for i in items}
    for t in real:
        by_group[group_of[t.item_id]] += 1
        lefts[group_of[t.item_id]] += t.first_on_left
    for group, n in by_group.items():
        assert abs(2 * lefts[group] - n) <= 1, (group, lefts[group], n)


def test_the_same_seed_gives_the_same_montage_design():
    song, _ = song_with_montages(models=("test-embeddings@1", OTHER_MODEL))
    config = {"montages": {"songs": [song.pk], "pairs": [["S", "R"], ["S", "S"], ["G", "S"]]}}

    def layout(experiment):
        return [
            (
                t.bundle.index,
                t.position,
                t.item and (t.item.first_montage_id, t.item.second_montage_id),
                t.first_on_left,
            )
            for t in Trial.objects.filter(bundle__experiment=experiment).select_related("bundle", "item")
        ]

    a, b = montage_study(config, slug="a"), montage_study(config, slug="b")
    assert layout(a) == layout(b)
    items = list(a.items.select_related("first_montage", "second_montage"))
    pairs = Counter(
        (i.first_montage.kind, i.first_montage.model, i.second_montage.kind, i.second_montage.model) for i in items
    )
    # S-R: each model's S against each model's R; S-S: the two models once; G-S: G against each S.
    assert sum(n for (k1, _, k2, _), n in pairs.items() if (k1, k2) == ("S", "S")) == 1
    assert sum(n for (k1, _, k2, _), n in pairs.items() if (k1, k2) == ("S", "R")) == 4
    assert sum(n for (k1, _, k2, _), n in pairs.items() if (k1, k2) == ("G", "S")) == 2
    assert len(items) == 7


def test_a_model_filter_keeps_that_models_montages_and_the_original():
    song, rows = song_with_montages(models=("test-embeddings@1", OTHER_MODEL))
    experiment = montage_study({"montages": {"songs": [song.pk], "model": OTHER_MODEL}})
    shown = {m for i in experiment.items.all() for m in i.montage_ids}
    assert shown == {m.pk for (kind, model), m in rows.items() if model in ("", OTHER_MODEL)}


def test_a_rating_design_rates_each_chosen_montage():
    song, rows = song_with_montages()
    experiment = montage_study({"montages": {"songs": [song.pk], "kinds": ["S", "G"]}}, kind="rating", k=3)
    assert {i.montage_id for i in experiment.items.all()} == {rows[("S", "test-embeddings@1")].pk, rows[("G", "")].pk}
    assert all(i.direction == "MV" and i.first_montage_id is None for i in experiment.items.all())


def test_the_database_refuses_mixed_or_degenerate_montage_items():
    song, rows = song_with_montages()
    experiment = montage_study({"montages": {"songs": [song.pk]}})
    s = rows[("S", "test-embeddings@1")]
    for bad in (
        {"first_montage": s, "second_montage": s},  # the same montage twice
        {"first_montage": s},  # one option missing
        {"montage": s, "first_montage": s, "second_montage": rows[("R", "test-embeddings@1")]},  # both sorts
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.create(experiment=experiment, index=999, direction="MV", **bad)
    with pytest.raises(IntegrityError), transaction.atomic():  # montages need direction MV
        Item.objects.create(experiment=experiment, index=999, montage=s)


# --- worker payloads and export -------------------------------------------------------------------


def take_assignment(experiment, worker):
    participant = enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=uuid.uuid4().hex)
    return allocate_assignment(participant=participant)


def test_the_worker_payload_says_nothing_of_kind_model_or_montage(settings):
    song, _ = song_with_montages()
    experiment = open_experiment(experiment=montage_study({"montages": {"songs": [song.pk]}}), allow_unrendered=True)
    assignment = take_assignment(experiment, "W1")
    trial = Trial.objects.filter(bundle=assignment.bundle, item__isnull=False).select_related("item").first()
    payload = worker_trial_payload(assignment_id=assignment.pk, position=trial.position, direction="MV", is_choice=True)
    assert payload["prompt"] == MONTAGE_PROMPTS[True] == "Which video fits the song better?"
    assert [m["slot"] for m in payload["media"]] == ["left", "right"]
    text = str(payload).lower()
    for word in ("montage", "anti", "random", "nearest", "farthest", "original", "test-embeddings", "model"):
        assert word not in text
    # The media URL resolves, on the server only, to the montage on its side.
    left = media_file_for(trial, "left").name
    right = media_file_for(trial, "right").name
    first, second = trial.item.first_montage.file.name, trial.item.second_montage.file.name
    assert (left, right) == ((first, second) if trial.first_on_left else (second, first))
    assert media_file_for(trial, "main") is None


def test_montage_answers_are_exported_to_the_montage_tables(tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k" * 32
    song, rows = song_with_montages()
    choice = open_experiment(
        experiment=montage_study({"montages": {"songs": [song.pk], "pairs": [["S", "R"], ["S", "G"]]}}, k=1, n=2),
        allow_unrendered=True,
    )
    rating = open_experiment(
        experiment=montage_study(
            {"montages": {"songs": [song.pk], "kinds": ["S", "anti"]}, "catch": {"kinds": ["rating_instruction"]}},
            kind="rating",
            slug="mvr",
            k=1,
            n=2,
        ),
        allow_unrendered=True,
    )
    answered = Counter()
    for experiment, value in ((choice, {"chosen_side": "right"}), (rating, {"rating": 6})):
        for n in range(experiment.bundles.count()):  # items sharing a montage sit in different bundles
            assignment = take_assignment(experiment, f"RAWWORKER{n}")
            for trial in assignment.bundle.trials.order_by("position"):
                answer_trial(assignment, trial.position, rt_ms=700, play_count=1, **value)
            answered[experiment.pk] += assignment.n_trials
    write_export(experiments=[choice, rating], out_dir=tmp_path / "out", parquet=False)
    tables = read_export(tmp_path / "out", verify=True).tables
    assert len(tables["ratings"]) == 0 and len(tables["choices"]) == 0
    choices = tables["montage_choices"]
    assert len(choices) == answered[choice.pk] == 2 + choice.bundles.count()  # two items + a catch per bundle
    real = choices[~choices["is_catch"]]
    assert set(real["song_id"]) == {song.pk}
    assert (real["chosen_montage_id"] == real["right_montage_id"]).all()
    assert {frozenset(p) for p in zip(real["left_kind"], real["right_kind"], strict=True)} == {
        frozenset(("S", "R")),
        frozenset(("S", "G")),
    }
    assert all(w.startswith("W") and "RAWWORKER" not in w for w in choices["worker_id"])
    ratings = tables["montage_ratings"]
    assert len(ratings) == answered[rating.pk] == 2 + rating.bundles.count() and set(
        ratings[~ratings["is_catch"]]["kind"]
    ) == {"S", "anti"}
    assert set(ratings[~ratings["is_catch"]]["rating"]) == {6}
    montages = tables["montages"]
    shown = {
        rows[k].pk
        for k in [("S", "test-embeddings@1"), ("R", "test-embeddings@1"), ("G", ""), ("anti", "test-embeddings@1")]
    }
    assert set(montages["montage_id"]) == shown
    g = montages[montages["kind"] == MontageKind.ORIGINAL].iloc[0]
    assert g["strategy"] == "original" and g["song_id"] == song.pk


def test_a_worker_taking_several_assignments_never_meets_a_montage_twice():
    from experiments.services.allocation import AllocationError

    song, _ = song_with_montages()
    # Every pair of 4 montages, one item per bundle: each montage is in 3 of the 6 items, so after the
    # first bundle 4 of the other 5 show a montage again; only the complementary pair may follow.
    experiment = open_experiment(
        experiment=montage_study({"montages": {"songs": [song.pk]}}, k=1, n=1, catch=0), allow_unrendered=True
    )
    given: list[set[int]] = []
    participant = enter_via_mturk(experiment=experiment, worker_id="W7", assignment_id=uuid.uuid4().hex)
    while True:
        try:
            assignment = allocate_assignment(participant=participant)
        except AllocationError as error:
            assert error.code == "no_work"
            break
        given.append({m for t in assignment.bundle.trials.select_related("item") for m in t.item.montage_ids})
        for trial in assignment.bundle.trials.all():
            answer_trial(assignment, trial.position, chosen_side="left")
        assignment.refresh_from_db()
        assert assignment.status == "completed"
    assert len(given) == 2
    for i, a in enumerate(given):
        for b in given[i + 1 :]:
            assert not a & b
    # Another worker still gets work.
    assert take_assignment(experiment, "W8").bundle_id


def test_the_staff_preview_shows_a_montage_bundle_with_its_answer_key(staff_client):
    from django.urls import reverse

    song, rows = song_with_montages()
    experiment = montage_study({"montages": {"songs": [song.pk], "pairs": [["S", "R"]]}}, k=1, n=1)
    url = reverse("experiments:preview_trial", args=[experiment.pk, 0]) + "?bundle=0"
    keys = [staff_client.get(url.replace("/0?", f"/{p}?")).json() for p in range(2)]
    real = next(k["debug"] for k in keys if not k["debug"]["catch"])
    assert real["song"] == song.pk
    assert {real["left"].split(":")[0], real["right"].split(":")[0]} == {
        f"montage {rows[('S', 'test-embeddings@1')].pk}",
        f"montage {rows[('R', 'test-embeddings@1')].pk}",
    }
    assert all(k["prompt"] == "Which video fits the song better?" for k in keys)


def test_a_montage_rating_studys_silence_check_shows_a_montage_as_long_as_the_montages(
    tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from annotation.models import Montage
    from annotation.services.montages import MontageOptions
    from annotation.services.scheduling import request_montages
    from tests.support.montage import TEST_MODEL, make_montage_library
    from training.montage.media import media_duration

    library = make_montage_library(tmp_path, clips=8, song_s=3.0)
    options = MontageOptions(segments="fixed:1.5", max_segment_s=2.0, fps=10)
    with django_capture_on_commit_callbacks(execute=True):
        request_montages(song=library.song, model=TEST_MODEL, options=options, baselines=["R"])
    assert set(Montage.objects.filter(state=RenderState.READY).values_list("kind", flat=True)) == {"S", "R"}
    with django_capture_on_commit_callbacks(execute=True):
        experiment = montage_study(
            {"montages": {"songs": [library.song.pk]}, "catch": {"kinds": ["rating_silence"]}}, kind="rating", n=2
        )
    catch = experiment.catch_stimuli.get()
    assert catch.state == RenderState.READY, catch.error
    assert abs(media_duration(default_storage.path(catch.file.name)) - 3.0) < 0.2
    trial = (
        Trial.objects.filter(bundle__experiment=experiment, item__isnull=False).select_related("item__montage").first()
    )
    assert media_file_for(trial, "main").name == trial.item.montage.file.name
    assert media_file_for(trial, "left") is None


def test_skipped_montage_trials_that_share_a_montage_go_to_different_makeup_bundles():
    from experiments.models import Bundle
    from tests.experiments.test_skips import skip

    song, _ = song_with_montages()
    experiment = open_experiment(
        experiment=montage_study(
            {"montages": {"songs": [song.pk], "pairs": [["S", "R"], ["S", "G"]]}}, k=1, n=2, catch=0
        ),
        allow_unrendered=True,
    )
    assert experiment.bundles.count() == 2  # the two items share the S montage
    for worker in ("A", "B"):
        assignment = take_assignment(experiment, worker)
        assert assignment.bundle.is_makeup is False
        skip(assignment, 0, events=[{"type": "error", "slot": "left", "code": 4}] * 2)
    makeups = Bundle.objects.filter(experiment=experiment, is_makeup=True)
    assert sorted(b.n_trials for b in makeups) == [1, 1]
