"""Broken media: a trial whose clip will not play can be skipped; the skip is stored (not a judgment),
the bundle still completes, the trial is offered again to someone else, and the export and the progress
page show it."""

from __future__ import annotations

import uuid

import pytest

from experiments.answer_input import AnswerInput, AnswerRejected, presentation_token
from experiments.models import AssignmentStatus, Bundle, BundleStatus, Item, Response
from experiments.selectors.progress import experiment_progress
from experiments.services.allocation import allocate_assignment
from experiments.services.answers import assignment_ref, record_answer
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from tests.factories.experiments import answer_trial, make_experiment, make_library

pytestmark = pytest.mark.django_db


def skip(assignment, position, events=None, **extra):
    return record_answer(
        participant=assignment.participant,
        answer=AnswerInput(
            idempotency_key=uuid.uuid4().hex,
            assignment_ref=assignment_ref(assignment),
            position=position,
            presentation=presentation_token(assignment_id=assignment.pk, position=position),
            skipped="playback",
            events=events if events is not None else [{"type": "error", "slot": "main", "code": 4}] * 2,
            **extra,
        ),
    )


def study():
    library = make_library(n_clips=3, n_excerpts=2)
    experiment = make_experiment(
        library=library, judgments_per_item=1, trials_per_assignment=3, catch_trials_per_assignment=0
    )
    return open_experiment(experiment=experiment, allow_unrendered=True)


def finish(assignment, *, skip_position=None):
    for trial in assignment.bundle.trials.order_by("position"):
        if trial.position == skip_position:
            skip(assignment, trial.position)
        else:
            answer_trial(assignment, trial.position, rating=5)


def test_a_skipped_trial_completes_the_bundle_and_is_offered_to_someone_else():
    experiment = study()
    first = allocate_assignment(participant=enter_via_mturk(experiment=experiment, worker_id="A1", assignment_id="X1"))
    skipped_trial = first.bundle.trials.get(position=1)
    finish(first, skip_position=1)
    first.refresh_from_db()
    assert first.status == AssignmentStatus.COMPLETED
    stored = Response.objects.get(assignment=first, trial=skipped_trial)
    assert (stored.skipped_reason, stored.rating, stored.chosen_side) == ("playback", None, "")
    assert Item.objects.get(pk=skipped_trial.item_id).completed_count == 0  # not a judgment
    makeup = Bundle.objects.get(is_makeup=True)
    assert makeup.status == BundleStatus.AVAILABLE and makeup.n_trials == 1
    assert makeup.trials.get().item_id == skipped_trial.item_id
    # The worker who skipped saw that pairing: never offered it again. Someone else gets it.
    others = []
    while True:
        participant = enter_via_mturk(
            experiment=experiment, worker_id=f"B{len(others)}", assignment_id=f"Y{len(others)}"
        )
        assignment = allocate_assignment(participant=participant)
        others.append(assignment)
        if assignment.bundle_id == makeup.pk:
            break
        finish(assignment)
    finish(others[-1])
    assert Item.objects.get(pk=skipped_trial.item_id).completed_count == 1


def test_the_progress_page_counts_skips_and_flags_pairings_skipped_twice():
    experiment = study()
    for worker in ("A1", "A2"):
        assignment = allocate_assignment(
            participant=enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=worker)
        )
        finish(assignment, skip_position=0)
    progress = experiment_progress(experiment)
    assert progress["skipped"] == 2
    pairing_skips = progress["skips_per_pairing"]
    assert sum(pairing_skips.values()) == 2
    assert set(progress["broken_pairings"]) == {p for p, n in pairing_skips.items() if n >= 2}


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"rating": 5}, "skipped"), ({"chosen_side": "left"}, "skipped")],
)
def test_a_skip_with_an_answer_or_an_unknown_reason_is_refused_and_stores_nothing(extra, field):
    experiment = study()
    assignment = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id="A1", assignment_id="X1")
    )
    with pytest.raises(AnswerRejected) as refused:
        skip(assignment, 0, **extra)
    assert refused.value.code == "bad_field"
    with pytest.raises(AnswerRejected):
        record_answer(
            participant=assignment.participant,
            answer=AnswerInput(
                idempotency_key=uuid.uuid4().hex,
                assignment_ref=assignment_ref(assignment),
                position=0,
                presentation=presentation_token(assignment_id=assignment.pk, position=0),
                skipped="bored",
            ),
        )
    assert not Response.objects.exists()


def test_the_export_lists_skips_apart_from_the_judgments(tmp_path):
    import exportformat
    from experiments.services.export import write_export

    experiment = study()
    assignment = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id="A1", assignment_id="X1")
    )
    finish(assignment, skip_position=2)
    export = exportformat.read_export(write_export(experiments=[experiment], out_dir=tmp_path / "e").directory)
    assert sorted(export.ratings["trial_index"]) == [0, 1]  # the skip is not a rating
    [row] = export.skipped_trials.itertuples()
    assert (row.trial_index, row.reason, row.playback_errors, row.is_catch) == (2, "playback", 2, False)
    assert row.pairing_ids.strip()
    assert export.participants.set_index("participant_id")["skipped_trials"].tolist() == [1]


def test_skipping_needs_the_reported_playback_errors_and_is_capped_per_assignment(settings):
    settings.MVFIT_SKIP_AFTER_FAILURES = 2
    experiment = study()
    assignment = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id="A1", assignment_id="X1")
    )
    with pytest.raises(AnswerRejected) as refused:
        skip(assignment, 0, events=[{"type": "error", "slot": "main"}])  # one error is not enough
    assert refused.value.code == "not_skippable"
    skip(assignment, 0)
    with pytest.raises(AnswerRejected) as refused:
        skip(assignment, 1)  # 3 trials: at most one skip
    assert refused.value.code == "too_many_skips"
    assert Response.objects.exclude(skipped_reason="").count() == 1
