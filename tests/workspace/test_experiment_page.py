"""The experiment page: labelled progress, filters and pages, lifecycle, invites, release, report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import Pairing, RenderState
from experiments.models import Assignment, AssignmentStatus, CatchStimulus, ExperimentStatus, InviteLink, Trial
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk, redeem_invite
from tests.factories.experiments import answer_trial, make_experiment, make_library
from tests.factories.world import populate
from tests.support.query_counts import assert_flat
from workspace.models import Job, JobState

pytestmark = pytest.mark.django_db


def _url(name, experiment, suffix=""):
    return reverse(f"workspace:{name}", args=[experiment.pk]) + suffix


def _complete(experiment, worker):
    assignment = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id=worker, assignment_id=f"{worker}-a")
    )
    for trial in Trial.objects.filter(bundle=assignment.bundle).select_related("catch").order_by("position"):
        answer_trial(assignment, trial.position, rating=trial.catch.expected_rating if trial.catch_id else 4)
    return assignment


@pytest.fixture
def experiment(db):
    library = make_library(n_clips=3, n_excerpts=2)
    return open_experiment(
        experiment=make_experiment(library=library, judgments_per_item=2, trials_per_assignment=3),
        allow_unrendered=True,
    )


def test_items_are_named_by_their_clips_and_music_not_ids(staff_client, experiment):
    item = experiment.items.select_related("pairing__clip__video", "pairing__excerpt__track").first()
    page = staff_client.get(_url("experiment", experiment)).content.decode()
    video, track = item.pairing.clip.video, item.pairing.excerpt.track
    assert f"{video.title or video.original_name} [{video.label}]" in page
    assert f"{track.title or track.original_name} [{track.label}]" in page


def test_the_short_filter_and_the_pages(staff_client, experiment):
    _complete(experiment, "W1")
    every = staff_client.get(_url("experiment", experiment, "?show=all")).content.decode()
    assert "6 item(s)" in every
    short = staff_client.get(_url("experiment", experiment, "?show=short")).content.decode()
    assert "6 item(s)" in short  # k = 2 and one bundle done: every item is still short
    assert "0 item(s)" in staff_client.get(_url("experiment", experiment, "?show=skipped")).content.decode()
    assert "0 item(s)" in staff_client.get(_url("experiment", experiment, "?show=flagged")).content.decode()
    big = make_experiment(library=make_library(n_clips=8, n_excerpts=8), slug="big", judgments_per_item=1)
    first = staff_client.get(_url("experiment", big)).content.decode()
    assert "page 1 of 2" in first and "?show=all&amp;page=2" in first
    assert "page 2 of 2" in staff_client.get(_url("experiment", big, "?page=2")).content.decode()


def test_pause_reopen_and_a_refused_open_says_why(staff_client, experiment):
    staff_client.post(_url("experiment_status", experiment), {"action": "pause"})
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.CLOSED
    Pairing.objects.update(state=RenderState.READY)  # reopening checks the media like opening does
    CatchStimulus.objects.update(state=RenderState.READY)
    staff_client.post(_url("experiment_status", experiment), {"action": "reopen"})
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.OPEN
    designed = make_experiment(library=make_library(n_clips=2, n_excerpts=2), slug="unrendered")
    assert Pairing.objects.exclude(state=RenderState.READY).exists()
    response = staff_client.post(_url("experiment_status", designed), {"action": "open"}, follow=True)
    assert "not rendered yet" in response.content.decode()
    designed.refresh_from_db()
    assert designed.status == ExperimentStatus.DESIGNED


def test_invite_links_are_created_downloaded_and_revoked(staff_client, experiment):
    staff_client.post(_url("experiment_invites", experiment), {"count": "3", "note": "lab"})
    response = staff_client.get(_url("experiment_invites_csv", experiment))
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3 and all("/w/invite/" in r["link"] and r["note"] == "lab" for r in rows)
    used_token = rows[0]["link"].rstrip("/").rsplit("/", 1)[1]
    participant = redeem_invite(token=used_token)
    staff_client.post(_url("experiment_invites_revoke", experiment))
    assert list(InviteLink.objects.filter(experiment=experiment)) == [participant.invite_link]
    assert Client().get(rows[1]["link"]).status_code in (200, 400, 403, 404, 410)
    assert "withdrawn" in Client().get(rows[1]["link"], follow=True).content.decode()
    refused = staff_client.post(_url("experiment_invites", experiment), {"count": "0"}, follow=True)
    assert "count must be between 1 and 10000" in refused.content.decode()


def test_release_abandoned_bundles_releases_only_this_experiments(staff_client, experiment):
    other = open_experiment(experiment=make_experiment(slug="other"), allow_unrendered=True)
    stale = timezone.now() - timedelta(hours=2)
    for e in (experiment, other):
        allocate_assignment(participant=enter_via_mturk(experiment=e, worker_id=f"I{e.pk}", assignment_id="x"))
    Assignment.objects.update(last_activity_at=stale)
    response = staff_client.post(_url("experiment_release", experiment), follow=True)
    assert "Released 1 abandoned bundle(s)" in response.content.decode()
    assert Assignment.objects.get(experiment=experiment).status == AssignmentStatus.ABANDONED
    assert Assignment.objects.get(experiment=other).status == AssignmentStatus.ACTIVE


def test_the_report_is_built_as_a_job_and_served_on_the_page(
    staff_client, experiment, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_url("experiment_report_start", experiment))
    job = Job.objects.get(experiment=experiment, kind="report")
    assert job.state == JobState.FAILED and "No completed assignments" in job.error
    assert staff_client.get(_url("experiment_report", experiment)).status_code == 404
    _complete(experiment, "W1")
    _complete(experiment, "W2")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_url("experiment_report_start", experiment))
    job = Job.objects.filter(experiment=experiment, kind="report").order_by("-pk").first()
    assert job.state == JobState.DONE, job.error
    state = staff_client.get(reverse("workspace:experiment_job", args=[experiment.pk, job.pk])).json()
    assert state == {"state": "done", "progress": 100, "step": "done", "error": "", "finished": True}
    report = staff_client.get(_url("experiment_report", experiment))
    assert report.status_code == 200 and b"<html" in b"".join(report.streaming_content).lower()
    assert "data:" in report["Content-Security-Policy"]
    page = staff_client.get(_url("experiment", experiment)).content.decode()
    assert 'data-testid="report-link"' in page


def test_a_second_start_while_a_job_runs_returns_the_same_job(staff_client, experiment):
    staff_client.post(_url("experiment_report_start", experiment))  # on_commit not run: the job stays queued
    staff_client.post(_url("experiment_report_start", experiment))
    assert Job.objects.filter(experiment=experiment, kind="report").count() == 1


def test_the_experiment_list_costs_the_same_queries_for_more_experiments(staff_client, django_assert_max_num_queries):
    populate(n=3, tag="a")
    assert_flat(
        staff_client,
        reverse("workspace:experiments"),
        grow=lambda: populate(n=3, tag="b"),
        ceiling=4,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


@pytest.mark.parametrize("show", ["all", "short", "skipped", "flagged"])
def test_the_experiment_page_costs_the_same_queries_for_more_answers(
    staff_client, experiment, django_assert_max_num_queries, show
):
    _complete(experiment, "W0")

    def grow():
        for i in range(1, 3):
            _complete(experiment, f"W{i}")
        staff_client.post(_url("experiment_invites", experiment), {"count": "4"})

    assert_flat(
        staff_client,
        _url("experiment", experiment, f"?show={show}"),
        grow=grow,
        ceiling=20,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_a_design_that_cannot_be_generated_fails_its_job_and_the_page_says_why(
    staff_client, django_capture_on_commit_callbacks
):
    from experiments.services.designs import create_draft_experiment
    from workspace.services.jobs import run_design_job
    from workspace.services.scheduling import start_job

    make_library(n_clips=2, n_excerpts=2)  # no music videos: the preference test has no ground-truth pairs
    draft = create_draft_experiment(slug="no-gt", title="No G", kind="preference", config={"conditions": ["GR"]})
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(kind="design", experiment=draft)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "ground-truth pairs" in job.error
    draft.refresh_from_db()
    assert draft.status == ExperimentStatus.DRAFT and not draft.items.exists()
    page = staff_client.get(_url("experiment", draft)).content.decode()
    assert "ground-truth pairs" in page
    assert run_design_job(job_id=job.pk) == JobState.FAILED  # a redelivered message changes nothing


def test_a_redelivered_design_job_does_not_run_twice(experiment):
    from workspace.services.jobs import run_design_job

    job = Job.objects.create(kind="design", experiment=experiment, state=JobState.DONE, progress=100)
    designed_at = experiment.designed_at
    assert run_design_job(job_id=job.pk) == JobState.DONE
    experiment.refresh_from_db()
    assert experiment.designed_at == designed_at


def test_a_job_is_only_found_under_its_own_experiment(staff_client, experiment):
    other = make_experiment(slug="other-job")
    job = Job.objects.create(kind="report", experiment=other)
    assert staff_client.get(reverse("workspace:experiment_job", args=[experiment.pk, job.pk])).status_code == 404
    assert staff_client.get(reverse("workspace:experiment_job", args=[other.pk, job.pk])).json()["state"] == "queued"


def test_the_rendering_state_counts_the_pairings_the_bundles_show(staff_client, experiment):
    url = reverse("workspace:experiment_rendering", args=[experiment.pk])
    assert staff_client.get(url).json() == {"total": 6, "ready": 0}
    first = experiment.items.order_by("index").first().pairing
    Pairing.objects.filter(pk=first.pk).update(state=RenderState.READY)
    assert staff_client.get(url).json() == {"total": 6, "ready": 1}
