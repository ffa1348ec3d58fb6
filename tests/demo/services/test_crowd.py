"""The demo's simulated crowd: it answers through the worker services, leaves the last round open,
behaves as its latent model says, is marked simulated in the data model, and never runs twice."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.simulate import expected_pooled_share
from demo.services.crowd import (
    POPULATION,
    LatentTaste,
    crowd_record,
    draw_workers,
    enter_simulated_participant,
    save_crowd_record,
    simulate_crowd,
)
from demo.services.features import StandInFeatures
from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    BundleStatus,
    Participant,
    Response,
)
from experiments.selectors.progress import experiment_progress
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import make_experiment, make_library

pytestmark = pytest.mark.django_db


def taste_for(library, **kwargs) -> LatentTaste:
    n_clips, n_excerpts = len(library.clips), len(library.excerpts)
    features = StandInFeatures(
        clip_energy={c.pk: i / max(n_clips - 1, 1) for i, c in enumerate(library.clips)},
        excerpt_energy={e.pk: i / max(n_excerpts - 1, 1) for i, e in enumerate(library.excerpts)},
    )
    ground_truth = {e.pk: e.ground_truth_clip_id for e in library.excerpts if e.ground_truth_clip_id}
    return LatentTaste(features=features, ground_truth=ground_truth, **kwargs)


def opened(**kwargs):
    return open_experiment(experiment=make_experiment(**kwargs), allow_unrendered=True)


def test_fit_is_minus_the_energy_distance_plus_the_ground_truth_bonus():
    features = StandInFeatures(clip_energy={1: 0.25, 2: 1.0}, excerpt_energy={7: 0.75, 8: 0.0})
    taste = LatentTaste(features=features, ground_truth={7: 1}, gt_bonus=0.5)
    assert taste.fit(1, 7) == pytest.approx(-0.5 + 0.5)
    assert taste.fit(2, 7) == pytest.approx(-0.25)
    assert taste.fit(2, 8) == pytest.approx(-1.0)
    assert taste.fit(99, 8) == pytest.approx(-0.5)  # unknown clip: mid-scale energy


def test_the_crowd_completes_every_bundle_but_the_last_round_through_the_services():
    library = make_library(n_clips=4, n_excerpts=3)
    experiment = opened(library=library, judgments_per_item=3, trials_per_assignment=4, catch_trials_per_assignment=0)
    outcome = simulate_crowd(experiment=experiment, taste=taste_for(library), workers=5, seed=1, progress=False)

    bundles = Bundle.objects.filter(experiment=experiment)
    last_round = bundles.filter(round=2)
    assert bundles.filter(status=BundleStatus.COMPLETED).count() == bundles.count() - last_round.count()
    assert outcome.bundles_left == last_round.count() > 0
    participants = Participant.objects.filter(experiment=experiment)
    assert participants.count() == 5
    assert all(p.is_simulated for p in participants)
    assert all(p.consented_at and p.audio_check_passed_at for p in participants)
    assignments = Assignment.objects.filter(experiment=experiment)
    assert set(assignments.values_list("status", flat=True)) == {AssignmentStatus.COMPLETED}
    assert outcome.assignments == assignments.count()
    # One stored answer per trial; the re-sent first answer of each assignment was acknowledged, not stored.
    assert Response.objects.filter(assignment__experiment=experiment).count() == outcome.answers
    assert outcome.replays == outcome.assignments
    assert set(Response.objects.values_list("rating", flat=True)) <= set(range(1, 8))


def test_a_second_run_adds_nothing():
    library = make_library(n_clips=3, n_excerpts=3)
    experiment = opened(library=library, judgments_per_item=2, trials_per_assignment=3, catch_trials_per_assignment=0)
    simulate_crowd(experiment=experiment, taste=taste_for(library), workers=3, seed=1, progress=False)
    answers = Response.objects.count()

    again = simulate_crowd(experiment=experiment, taste=taste_for(library), workers=3, seed=1, progress=False)

    assert again.workers == [] and again.answers == 0
    assert Response.objects.count() == answers


def test_attentive_workers_choose_the_better_fitting_option_when_the_model_is_sharp():
    library = make_library(n_clips=4, n_excerpts=4)
    config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, "items_per_query": 3}
    experiment = opened(
        kind="afc", library=library, config=config, judgments_per_item=2, trials_per_assignment=6,
        catch_trials_per_assignment=0,
    )  # fmt: skip
    taste = taste_for(library, choice_sensitivity=1e6)
    outcome = simulate_crowd(experiment=experiment, taste=taste, workers=4, seed=3, progress=False)
    careless = {w.worker_id for w in outcome.workers if w.careless}

    checked = 0
    for response in Response.objects.select_related(
        "assignment__participant", "trial__item__first_pairing", "trial__item__second_pairing"
    ):
        if response.assignment.participant.worker_id in careless:
            continue
        item, trial = response.trial.item, response.trial
        first = taste.fit(item.first_pairing.clip_id, item.first_pairing.excerpt_id)
        second = taste.fit(item.second_pairing.clip_id, item.second_pairing.excerpt_id)
        if first == second:
            continue
        first_side = "left" if trial.first_on_left else "right"
        assert (response.chosen_side == first_side) == (first > second)
        checked += 1
    assert checked > 10


def test_preference_answers_record_the_models_share_per_condition():
    library = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    experiment = opened(
        kind="preference", library=library, config={"conditions": ["GR"]}, judgments_per_item=2,
        trials_per_assignment=4, catch_trials_per_assignment=0,
    )  # fmt: skip
    outcome = simulate_crowd(experiment=experiment, taste=taste_for(library), workers=4, seed=5, progress=False)

    shares = {condition for _, condition in outcome.p_first}
    assert shares == {"GR"}
    # Preference answers follow analysis.simulate's subject model: each worker's own P(G over R).
    attentive = [w for w in outcome.workers if not w.careless]
    realised = [p for values in outcome.p_first.values() for p in values]
    assert set(realised) <= {w.preference["GR"] for w in attentive}
    record = crowd_record(taste=taste_for(library), outcomes=[outcome], seed=5)
    assert 0.5 < record["p_first_model"]["GR"] < 1  # G planted as preferred (median subject 82 %)
    assert record["p_first_expected"] == {"GR": round(expected_pooled_share(0.82, POPULATION.subject_sd), 4)}
    assert len(record["experiments"][experiment.slug]["workers"]) == 4


def test_workers_are_drawn_from_the_analysis_simulators_population():
    workers = draw_workers(slug="x", count=400, rng=np.random.default_rng(0))
    assert sum(w.careless for w in workers) == round(400 * POPULATION.careless_share)
    assert np.std([w.bias for w in workers]) == pytest.approx(POPULATION.worker_bias_sd, rel=0.15)
    gs = np.array([w.preference["GS"] for w in workers])
    assert np.median(gs) == pytest.approx(POPULATION.p_gs, abs=0.03)
    assert gs.mean() == pytest.approx(expected_pooled_share(POPULATION.p_gs, POPULATION.subject_sd), abs=0.02)


def test_only_sim_namespaced_ids_can_enter_as_simulated_participants():
    experiment = opened(catch_trials_per_assignment=0)
    with pytest.raises(ValueError, match="sim:"):
        enter_simulated_participant(experiment=experiment, worker_id="A1REALWORKER")
    first = enter_simulated_participant(experiment=experiment, worker_id="sim:x-01")
    assert enter_simulated_participant(experiment=experiment, worker_id="sim:x-01") == first


def test_simulated_participants_are_marked_and_real_ones_are_not_and_progress_counts_them_apart():
    library = make_library(n_clips=3, n_excerpts=3)
    experiment = opened(library=library, judgments_per_item=2, trials_per_assignment=3, catch_trials_per_assignment=0)
    real = enter_via_mturk(experiment=experiment, worker_id="A1REALWORKER", assignment_id="a1")
    # A real worker whose id merely looks like a simulated one is still a person.
    lookalike = enter_via_mturk(experiment=experiment, worker_id="sim:lookalike", assignment_id="a2")
    simulate_crowd(experiment=experiment, taste=taste_for(library), workers=3, seed=2, progress=False)

    simulated = Participant.objects.filter(experiment=experiment, is_simulated=True)
    assert simulated.count() == 3
    assert not Participant.objects.get(pk=real.pk).is_simulated
    assert not Participant.objects.get(pk=lookalike.pk).is_simulated
    progress = experiment_progress(experiment)
    assert progress["participants"] == 5 and progress["simulated_participants"] == 3


def test_a_real_participant_is_never_taken_over_as_a_simulated_one():
    experiment = opened(catch_trials_per_assignment=0)
    real = enter_via_mturk(experiment=experiment, worker_id="sim:x-01", assignment_id="a1")
    Participant.objects.filter(pk=real.pk).update(assignment_id="")  # same key as a simulated entry
    with pytest.raises(ValueError, match="real participant"):
        enter_simulated_participant(experiment=experiment, worker_id="sim:x-01")
    assert not Participant.objects.get(pk=real.pk).is_simulated


def test_the_crowd_record_keeps_experiments_simulated_by_an_earlier_run(tmp_path):
    path = tmp_path / "demo" / "crowd.json"
    first = {"experiments": {"demo-fit-ratings": {"answers": 10}}, "p_first_model": {}}
    second = {"experiments": {"demo-preference": {"answers": 5}}, "p_first_model": {"GR": 0.8}}
    save_crowd_record(path, first)
    save_crowd_record(path, second)

    saved = json.loads(path.read_text())
    assert saved["experiments"] == {"demo-fit-ratings": {"answers": 10}, "demo-preference": {"answers": 5}}
    assert saved["p_first_model"] == {"GR": 0.8}
    assert [p.name for p in path.parent.iterdir()] == ["crowd.json"]  # no partial file left behind
