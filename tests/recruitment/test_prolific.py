"""Entering from Prolific: only from a registered study of this experiment, one participant per Prolific id
(bound to the first browser), and back to Prolific with the study's completion code at the end."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from experiments.models import Participant
from recruitment.models import ProlificEntry
from recruitment.prolific import register_study
from tests.experiments.test_screening import answer_open_trial, study
from tests.factories.experiments import answer_trial
from tests.support.sound_check import answer_form

pytestmark = pytest.mark.django_db

PID, STUDY, SESSION = "5f0c" + "a1" * 10, "60aa" + "b2" * 10, "sess-77"


def visit(client, experiment, **query):
    params = {"PROLIFIC_PID": PID, "STUDY_ID": STUDY, "SESSION_ID": SESSION} | query
    return client.get(reverse("recruitment:prolific_entry", args=[experiment.slug]), params)


def test_participants_of_a_registered_study_enter_once_and_resume_in_the_same_browser(client):
    experiment = study("none")
    register_study(experiment=experiment, study_id=STUDY, completion_code="C0MPL3TE")
    first = visit(client, experiment)
    participant = Participant.objects.get()
    assert first["Location"] == reverse("experiments:worker", args=[participant.token])
    assert participant.source == "prolific" and participant.worker_id == f"prolific:{PID}"
    assert ProlificEntry.objects.get().session_id == SESSION
    assert visit(client, experiment)["Location"] == first["Location"]
    elsewhere = visit(Client(), experiment)
    assert elsewhere.status_code == 409 and participant.token not in elsewhere.content.decode()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"STUDY_ID": "60aa" + "c3" * 10}, 403),  # a study of someone else, or never registered
        ({"PROLIFIC_PID": "ANYONE"}, 400),
        ({"STUDY_ID": ""}, 400),
        ({"SESSION_ID": "a b"}, 400),
    ],
)
def test_made_up_or_foreign_parameters_are_refused_and_store_nothing(client, query, status):
    experiment = study("none")
    register_study(experiment=experiment, study_id=STUDY, completion_code="C0MPL3TE")
    response = visit(client, experiment, **query)
    assert response.status_code == status and b"Prolific" in response.content
    assert not Participant.objects.exists()


def test_an_experiment_never_registered_on_prolific_has_no_prolific_entry(client):
    assert visit(client, study("none")).status_code == 403
    assert not Participant.objects.exists()


def test_finishers_and_screened_out_participants_return_with_the_right_code(client, settings):
    settings.PROLIFIC_COMPLETION_URL = "https://app.prolific.com/submissions/complete"
    experiment = study("huggins", trials=1, pass_at=1)
    register_study(experiment=experiment, study_id=STUDY, completion_code="DONE1", screened_out_code="OUT1")
    for pid, passes in (("a" * 24, True), ("b" * 24, False)):
        visit(client, experiment, PROLIFIC_PID=pid)
        participant = Participant.objects.latest("pk")
        client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
        client.get(reverse("experiments:worker", args=[participant.token]))
        client.post(reverse("experiments:audio_check", args=[participant.token]), answer_form(participant))
        answer_open_trial(client, participant, correct=passes)
        if passes:
            client.post(reverse("experiments:begin", args=[participant.token]))
            assignment = participant.assignments.get()
            for trial in assignment.bundle.trials.order_by("position"):
                answer_trial(assignment, trial.position, rating=trial.catch.expected_rating if trial.catch_id else 4)
        page = client.get(reverse("experiments:worker", args=[participant.token])).content.decode()
        code = "DONE1" if passes else "OUT1"
        assert f'href="https://app.prolific.com/submissions/complete?cc={code}"' in page


def test_the_command_prints_the_study_url_and_registers_a_study():
    experiment = study("none")
    out = StringIO()
    call_command("prolific_study", experiment.slug, "--base-url", "https://mvfit.example.org", stdout=out)
    assert (
        f"https://mvfit.example.org/prolific/e/{experiment.slug}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in out.getvalue()
    )
    call_command("prolific_study", experiment.slug, "--study-id", STUDY, "--completion-code", "X1", stdout=out)
    assert "registered Prolific study" in out.getvalue()
    with pytest.raises(CommandError, match="study_id"):
        call_command("prolific_study", experiment.slug, "--study-id", "nothex", "--completion-code", "X1")
