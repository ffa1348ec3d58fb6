"""The experiment wizard: kind → stimuli → design → review → create, with the services' errors on their fields."""

from __future__ import annotations

import pytest
from django.test import TestCase
from django.urls import reverse

from experiments.models import Experiment, ExperimentStatus
from tests.factories.experiments import make_experiment, make_library
from workspace.models import Job, JobState

pytestmark = pytest.mark.django_db


def _post(client, name, data, **kwargs):
    # The design step queues the review's counts as a Celery task (eager here) once its transaction commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse(f"workspace:{name}"), data, **kwargs)


def _design(**overrides):
    data = {
        "judgments_per_item": 2,
        "trials_per_assignment": 3,
        "catch_trials_per_assignment": 1,
        "catch_kinds": ["rating_instruction"],
        "headphones": "none",
        "questionnaire_when": "after",
        "instructions": "Rate the fit.",
        "consent_text": "You agree.",
        "seed": 7,
    }
    data.update(overrides)
    return data


def test_a_rating_experiment_is_created_through_every_step(staff_client, django_capture_on_commit_callbacks):
    library = make_library(n_clips=3, n_excerpts=2)
    assert _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-w", "kind": "rating"}).status_code == 302
    response = _post(staff_client, "wizard_stimuli", {"source": "all"})
    assert response["Location"] == reverse("workspace:wizard_design")
    response = _post(staff_client, "wizard_design", _design())
    assert response["Location"] == reverse("workspace:wizard_review")
    review = staff_client.get(reverse("workspace:wizard_review") + "?reward=1.00&channel=mturk").content.decode()
    # 3 clips x 2 excerpts = 6 items, k = 2: 12 judgments in bundles of 3 -> 4 bundles (the planner's count).
    assert '<dd data-testid="judgments">12</dd>' in review
    assert '<dd data-testid="bundles">4</dd>' in review
    assert "rewards   4 x $1.00 = $4.00" in review
    assert "Rate the fit." in review and "You agree." in review
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(staff_client, "wizard_review", {})
    experiment = Experiment.objects.get(slug="fit-w")
    assert response["Location"] == reverse("workspace:experiment", args=[experiment.pk])
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.DESIGNED
    assert experiment.items.count() == 6 and experiment.bundles.count() == 4
    assert set(experiment.config["clip_ids"]) == set(library.clip_ids)
    assert experiment.instructions == "Rate the fit."
    assert Job.objects.get(experiment=experiment).state == JobState.DONE


def test_a_service_error_is_shown_next_to_its_field_and_can_be_fixed(staff_client):
    make_library(n_clips=2, n_excerpts=2)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-x", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "all"})
    page = _post(staff_client, "wizard_design", _design(judgments_per_item=0)).content.decode()
    assert 'data-testid="error-judgments_per_item"' in page
    assert "judgments_per_item must be an integer ≥ 1" in page
    response = _post(staff_client, "wizard_design", _design(judgments_per_item=1))
    assert response["Location"] == reverse("workspace:wizard_review")


def test_a_taken_slug_is_refused_on_the_first_step(staff_client):
    make_experiment(library=make_library(n_clips=2, n_excerpts=2), slug="taken")
    page = _post(staff_client, "wizard_kind", {"title": "T", "slug": "taken", "kind": "rating"}).content.decode()
    assert 'data-testid="error-slug"' in page and "already exists" in page


def test_a_preference_test_without_ground_truth_sends_the_error_back_to_the_stimuli_step(staff_client):
    make_library(n_clips=3, n_excerpts=3)  # no music videos: no ground-truth pairs
    _post(staff_client, "wizard_kind", {"title": "P", "slug": "pref-x", "kind": "preference"})
    _post(staff_client, "wizard_stimuli", {"source": "all", "directions": ["V2M"], "conditions": ["GR"]})
    response = _post(staff_client, "wizard_design", _design(catch_kinds=["choice_instruction"]))
    assert response["Location"] == reverse("workspace:wizard_review")
    # The counts job found the problem; the review sends it back to the step whose field it is about.
    response = staff_client.get(response["Location"])
    assert response["Location"] == reverse("workspace:wizard_stimuli")
    page = staff_client.get(response["Location"]).content.decode()
    assert 'data-testid="error-source"' in page and "ground-truth pairs" in page


def test_search_conditions_without_a_search_source_are_refused_on_the_conditions_field(staff_client):
    make_library(n_clips=3, n_excerpts=3, music_videos=3)
    _post(staff_client, "wizard_kind", {"title": "P", "slug": "pref-y", "kind": "preference"})
    page = _post(
        staff_client, "wizard_stimuli", {"source": "all", "directions": ["V2M"], "conditions": ["GR", "GS"]}
    ).content.decode()
    assert 'data-testid="error-conditions"' in page and "need a search source" in page


def test_stimuli_by_label_choose_the_clips_and_excerpts_of_those_labels(staff_client):
    library = make_library(n_clips=3, n_excerpts=2)
    scene = library.clips[0].video.label
    genre = library.excerpts[1].track.label
    _post(staff_client, "wizard_kind", {"title": "L", "slug": "lab", "kind": "rating"})
    page = staff_client.get(reverse("workspace:wizard_stimuli")).content.decode()
    assert scene in page and genre in page
    _post(staff_client, "wizard_stimuli", {"source": "labels", "scenes": [scene], "genres": [genre]})
    _post(staff_client, "wizard_design", _design(judgments_per_item=1, trials_per_assignment=5))
    review = staff_client.get(reverse("workspace:wizard_review")).content.decode()
    expected = sum(1 for c in library.clips if c.video.label == scene) * sum(
        1 for e in library.excerpts if e.track.label == genre
    )
    assert f'<dd data-testid="judgments">{expected}</dd>' in review


def test_the_design_step_previews_the_consent_and_instructions(staff_client):
    make_library(n_clips=2, n_excerpts=2)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-p", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "all"})
    page = _post(staff_client, "wizard_design", {**_design(consent_text="Custom consent"), "preview": "1"})
    assert page.status_code == 200
    assert 'data-testid="text-preview"' in page.content.decode() and "Custom consent" in page.content.decode()


def test_later_steps_without_a_kind_go_back_to_the_first(staff_client):
    assert staff_client.get(reverse("workspace:wizard_design"))["Location"] == reverse("workspace:wizard_kind")
    assert staff_client.get(reverse("workspace:wizard_review"))["Location"] == reverse("workspace:wizard_kind")


def test_a_2afc_experiment_with_both_directions_is_created(staff_client, django_capture_on_commit_callbacks):
    make_library(n_clips=3, n_excerpts=3)
    _post(staff_client, "wizard_kind", {"title": "AFC", "slug": "afc-w", "kind": "afc"})
    _post(staff_client, "wizard_stimuli", {"source": "all", "directions": ["V2M", "M2V"], "items_per_query": 2})
    _post(staff_client, "wizard_design", _design(catch_kinds=["choice_instruction"], judgments_per_item=1))
    review = staff_client.get(reverse("workspace:wizard_review")).content.decode()
    assert '<dd data-testid="judgments">12</dd>' in review  # 3 queries x 2 choices x 2 directions, k = 1
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "wizard_review", {})
    experiment = Experiment.objects.get(slug="afc-w")
    assert experiment.status == ExperimentStatus.DESIGNED and experiment.items.count() == 12


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("mturk", "MTurk fee 20 % on rewards"),
        ("prolific", "total with the Prolific service fee"),
        ("links", "(no platform fee)"),
    ],
)
def test_the_cost_estimate_follows_the_channel(staff_client, channel, expected):
    make_library(n_clips=2, n_excerpts=2)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-c", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "all"})
    _post(staff_client, "wizard_design", _design())
    review = staff_client.get(reverse("workspace:wizard_review") + f"?reward=2.00&channel={channel}")
    assert expected in review.content.decode()
    bad = staff_client.get(reverse("workspace:wizard_review") + "?reward=-1&channel=mturk").content.decode()
    assert 'data-testid="error-reward"' in bad


def test_the_seed_drawn_for_the_review_is_the_one_the_design_uses(staff_client, django_capture_on_commit_callbacks):
    make_library(n_clips=2, n_excerpts=2)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-s", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "all"})
    _post(staff_client, "wizard_design", _design(seed=""))
    seed = staff_client.session["workspace_wizard"]["design"]["seed"]
    assert isinstance(seed, int)
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "wizard_review", {})
    assert Experiment.objects.get(slug="fit-s").seed == seed


def test_the_review_waits_for_the_counts_job_with_a_progress_bar(staff_client):
    make_library(n_clips=2, n_excerpts=2)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-q", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "all"})
    staff_client.post(reverse("workspace:wizard_design"), _design())  # on_commit not run: the job stays queued
    job = Job.objects.get(kind="summary")
    page = staff_client.get(reverse("workspace:wizard_review")).content.decode()
    assert 'data-testid="counting"' in page and "<progress" in page and "Create the experiment" not in page
    state = staff_client.get(reverse("workspace:wizard_summary", args=[job.pk])).json()
    assert state["state"] == "queued" and state["finished"] is False
    from workspace.services.jobs import run_summary_job

    run_summary_job(job_id=job.pk)
    page = staff_client.get(reverse("workspace:wizard_review")).content.decode()
    assert '<dd data-testid="judgments">8</dd>' in page and "Create the experiment" in page


def test_a_named_stimulus_set_is_a_source_of_stimuli(staff_client, staff_user, django_capture_on_commit_callbacks):
    from annotation.services.sets import create_stimulus_set

    library = make_library(n_clips=4, n_excerpts=3)
    chosen = create_stimulus_set(
        name="pilot", clip_ids=library.clip_ids[:2], excerpt_ids=library.excerpt_ids[:1], user=staff_user
    )
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-set", "kind": "rating"})
    page = _post(staff_client, "wizard_stimuli", {"source": "set"}).content.decode()
    assert 'data-testid="error-stimulus_set"' in page and "Choose a stimulus set" in page
    response = _post(staff_client, "wizard_stimuli", {"source": "set", "stimulus_set": chosen.pk})
    assert response["Location"] == reverse("workspace:wizard_design")
    _post(staff_client, "wizard_design", _design())
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "wizard_review", {})
    experiment = Experiment.objects.get(slug="fit-set")
    assert experiment.config["clip_ids"] == library.clip_ids[:2]
    assert experiment.config["excerpt_ids"] == library.excerpt_ids[:1]
    assert experiment.items.count() == 2


def test_a_stimulus_set_deleted_during_the_wizard_sends_the_user_back_to_the_stimuli(staff_client, staff_user):
    from annotation.services.sets import create_stimulus_set

    library = make_library(n_clips=2, n_excerpts=2)
    chosen = create_stimulus_set(name="gone", clip_ids=library.clip_ids, excerpt_ids=[], user=staff_user)
    _post(staff_client, "wizard_kind", {"title": "Fit", "slug": "fit-gone", "kind": "rating"})
    _post(staff_client, "wizard_stimuli", {"source": "set", "stimulus_set": chosen.pk})
    chosen.delete()
    response = _post(staff_client, "wizard_design", _design())
    page = staff_client.get(response["Location"]).content.decode() if response.status_code == 302 else ""
    page = page or response.content.decode()
    assert "no longer exists" in page
    assert not Experiment.objects.filter(slug="fit-gone").exists()
