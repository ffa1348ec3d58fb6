"""Experimenter pages: progress, preview-as-a-worker (stores nothing), admin, commands and tasks."""

import json
import re
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from experiments.models import (
    Assignment,
    AssignmentStatus,
    CatchStimulus,
    Participant,
    Response,
    Trial,
)
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import enter_via_mturk
from experiments.tasks import render_catch_stimulus
from tests.factories.experiments import answer_trial, make_experiment, make_library


def answer_everything(assignment, *, wrong_catch: bool):
    for trial in Trial.objects.filter(bundle=assignment.bundle).select_related("catch").order_by("position"):
        rating = 3
        if trial.catch_id:
            rating = trial.catch.expected_rating % 7 + 1 if wrong_catch else trial.catch.expected_rating
        answer_trial(assignment, trial.position, rating=rating)


@pytest.mark.django_db
def test_the_progress_page_shows_short_items_assignments_and_catch_failures(staff_client):
    experiment = open_experiment(
        experiment=make_experiment(judgments_per_item=2, trials_per_assignment=4, catch_trials_per_assignment=1),
        allow_unrendered=True,
    )
    careless = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id="CARELESS", assignment_id="a1")
    )
    answer_everything(careless, wrong_catch=True)
    allocate_assignment(participant=enter_via_mturk(experiment=experiment, worker_id="IDLE", assignment_id="a2"))
    page = staff_client.get(reverse("workspace:experiment", args=[experiment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "started 2 · active 1 · completed 1 · abandoned 0" in text
    assert "CARELESS</td><td>1</td><td>1</td>" in html
    assert "12 are short" in text
    assert Client().get(reverse("workspace:experiment", args=[experiment.pk])).status_code == 302


@pytest.mark.django_db
def test_preview_shows_a_bundle_with_its_answer_key_to_staff_and_stores_nothing(staff_client):
    experiment = make_experiment(judgments_per_item=2, trials_per_assignment=3, catch_trials_per_assignment=1)
    page = staff_client.get(reverse("experiments:preview", args=[experiment.pk]) + "?bundle=1")
    assert page.status_code == 200 and b"nothing is stored" in page.content
    state = staff_client.get(reverse("experiments:preview_state", args=[experiment.pk]) + "?bundle=1").json()
    assert state["unanswered"] == list(range(state["total"]))
    for position in range(state["total"]):
        trial = staff_client.get(
            reverse("experiments:preview_trial", args=[experiment.pk, position]) + "?bundle=1"
        ).json()
        assert "catch" in trial["debug"]
        answer = staff_client.post(
            reverse("experiments:preview_answer", args=[experiment.pk]) + "?bundle=1",
            json.dumps(
                {"idempotency_key": uuid.uuid4().hex, "position": position, "rating": 4, "assignment": "preview"}
            ),
            content_type="application/json",
        )
        assert answer.json()["stored"] is False
    assert not Response.objects.exists() and not Participant.objects.exists() and not Assignment.objects.exists()
    assert staff_client.get(reverse("experiments:preview", args=[experiment.pk]) + "?bundle=999").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", ["experiment", "item", "bundle", "catchstimulus", "participant", "assignment", "response", "invitelink"]
)
def test_admin_changelists_load(staff_client, model):
    make_experiment()
    assert staff_client.get(f"/admin/experiments/{model}/").status_code == 200


@pytest.mark.django_db
def test_the_admin_creates_experiments_through_the_design_service(staff_client):
    library = make_library(n_clips=2, n_excerpts=2)
    response = staff_client.post(
        "/admin/experiments/experiment/add/",
        {
            "slug": "from-admin",
            "title": "From admin",
            "kind": "rating",
            "seed": "5",
            "config": json.dumps({"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids}),
            "judgments_per_item": "2",
            "trials_per_assignment": "2",
            "catch_trials_per_assignment": "0",
            "abandon_after_s": "600",
            "instructions": "",
            "consent_text": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    from experiments.models import Experiment

    experiment = Experiment.objects.get(slug="from-admin")
    assert experiment.items.count() == 4 and experiment.bundles.count() == 4
    # A design error shows on the form and creates nothing.
    bad = staff_client.post(
        "/admin/experiments/experiment/add/",
        {
            "slug": "broken",
            "title": "Broken",
            "kind": "rating",
            "seed": "",
            "config": json.dumps({"clip_ids": [999999], "excerpt_ids": library.excerpt_ids}),
            "judgments_per_item": "2",
            "trials_per_assignment": "2",
            "catch_trials_per_assignment": "0",
            "abandon_after_s": "600",
        },
    )
    assert bad.status_code == 200 and b"do not exist" in bad.content
    assert not Experiment.objects.filter(slug="broken").exists()


@pytest.mark.django_db
def test_release_abandoned_command_and_create_and_invite_commands(tmp_path):
    library = make_library(n_clips=2, n_excerpts=2)
    out = StringIO()
    call_command(
        "create_experiment", "cmd-study", "--kind", "rating", "--all-clips", "--all-excerpts", "--k", "2", "--n", "2",
        "--seed", "9", stdout=out,
    )  # fmt: skip
    assert "4 items" in out.getvalue()
    from experiments.models import Experiment

    experiment = open_experiment(experiment=Experiment.objects.get(slug="cmd-study"), allow_unrendered=True)
    links = StringIO()
    call_command("invite_links", "cmd-study", "--count", "2", "--base-url", "https://study.example", stdout=links)
    assert links.getvalue().count("https://study.example/w/invite/") == 2
    assignment = allocate_assignment(
        participant=enter_via_mturk(experiment=experiment, worker_id="W", assignment_id="A")
    )
    Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=timezone.now() - timedelta(hours=2))
    released = StringIO()
    call_command("release_abandoned", stdout=released)
    assert "released 1" in released.getvalue()
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.ABANDONED
    assert len(library.clip_ids) == 2


@pytest.mark.celery_worker
def test_a_real_celery_worker_renders_catch_media_and_re_running_is_harmless(celery_worker, settings):
    experiment = make_experiment(
        library=make_library(n_clips=2, n_excerpts=2, duration_s=1.0),
        trials_per_assignment=2,
        catch_trials_per_assignment=1,
    )
    catches = list(CatchStimulus.objects.filter(experiment=experiment))
    assert len(catches) == 4
    rows = CatchStimulus.objects.filter(experiment=experiment)

    def wait_all_ready():
        deadline = time.monotonic() + 120
        while rows.exclude(state="ready").exists():
            assert time.monotonic() < deadline, celery_worker.log()
            time.sleep(0.2)

    # The design already dispatched one render per stimulus on commit; dispatch them all again.
    for catch in catches:
        render_catch_stimulus.delay(catch.pk)
    wait_all_ready()
    files = dict(rows.values_list("pk", "file"))
    for catch in rows:
        assert (settings.MEDIA_ROOT / catch.file.name).stat().st_size > 1000
    for catch in catches:
        render_catch_stimulus.delay(catch.pk)
    time.sleep(1)
    wait_all_ready()
    assert dict(rows.values_list("pk", "file")) == files


@pytest.mark.django_db
def test_an_ffmpeg_failure_is_recorded_on_the_catch_stimulus_not_retried(settings, tmp_path):
    broken = tmp_path / "ffmpeg-that-fails"
    broken.write_text("#!/bin/sh\necho 'Unknown encoder: boom' >&2\nexit 1\n")
    broken.chmod(0o755)
    settings.FFMPEG_BINARY = str(broken)
    experiment = make_experiment(trials_per_assignment=2, catch_trials_per_assignment=1)
    catch = CatchStimulus.objects.filter(experiment=experiment).first()

    assert render_catch_stimulus(catch.pk) == "failed"
    catch.refresh_from_db()
    assert catch.state == "failed" and "Unknown encoder: boom" in catch.error and not catch.file


@pytest.mark.django_db
def test_export_and_invite_commands_refuse_bad_arguments_clearly(tmp_path, settings):
    settings.MVFIT_PSEUDONYM_KEY = "k1"
    make_experiment(slug="cmd-bad", trials_per_assignment=2)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    with pytest.raises(CommandError, match=r"could not write the export to .*a-file"):
        call_command("export_responses", "cmd-bad", "--out", str(a_file), stdout=StringIO())
    with pytest.raises(CommandError, match="--base-url must look like https://host"):
        call_command("invite_links", "cmd-bad", "--base-url", "study.example", stdout=StringIO())
    with pytest.raises(CommandError, match="no experiment with id or slug '999999'"):
        call_command("invite_links", "999999", stdout=StringIO())
