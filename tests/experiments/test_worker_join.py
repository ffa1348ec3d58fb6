"""The join: ``POST api/begin`` (the runner's, one request that answers with the state) and the start form."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from experiments.answer_input import assignment_ref
from experiments.models import (
    Assignment,
    AssignmentStatus,
    ExperimentStatus,
    Exposure,
    Participant,
    QuestionnaireResponse,
    ScreeningReason,
)
from experiments.services import allocation
from tests.experiments import test_worker_api
from tests.experiments.test_worker_api import answer_body, enter, fetch_trial, post_answer
from tests.support.sound_check import answer_form
from webapp.db import HotCursor

pytestmark = pytest.mark.django_db

study = test_worker_api.study  # the same small open rating study


def ready(client, experiment) -> Participant:
    """A participant through consent and the sound check, at the start card."""
    participant, _ = enter(client, experiment)
    client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
    client.get(reverse("experiments:worker", args=[participant.token]))  # the sound check's page draws its sound
    client.post(reverse("experiments:audio_check", args=[participant.token]), answer_form(participant))
    participant.refresh_from_db()
    assert participant.audio_check_passed_at is not None
    return participant


def join(client, participant):
    return client.post(reverse("experiments:api_begin", args=[participant.token]))


def test_the_start_page_is_the_trial_page_with_a_start_card_that_joins_in_place(client, study):
    participant = ready(client, study)
    response = client.get(reverse("experiments:worker", args=[participant.token]))
    html = response.content.decode()
    assert 'data-testid="begin"' in html and 'id="trial"' in html
    config = json.loads(html.split('id="runner-config" type="application/json">')[1].split("</script>")[0])
    assert config["beginUrl"] == reverse("experiments:api_begin", args=[participant.token])
    assert not participant.assignments.exists()  # showing the card hands out nothing


def test_one_request_hands_out_a_bundle_and_answers_with_the_state(client, study, monkeypatch):
    participant = ready(client, study)
    sent = []
    original = HotCursor.execute
    monkeypatch.setattr(
        HotCursor, "execute", lambda cursor, sql, params: sent.append(sql) or original(cursor, sql, params)
    )
    with CaptureQueriesContext(connection) as orm:
        response = join(client, participant)
    joined = list(sent)
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    state = response.json()
    assignment = participant.assignments.get()
    assert state == {
        "assignment": assignment_ref(assignment),
        "total": assignment.n_trials,
        "answered": 0,
        "done": False,
        "unanswered": list(range(assignment.n_trials)),
    }
    # The state is what GET api/state says about the same assignment.
    assert client.get(reverse("experiments:api_state", args=[participant.token])).json() == state
    # Two prepared statements (lock + read the rules by token; claim + assign + expose), and the ORM only
    # for the transaction itself: no query for the token, the participant, the experiment or the state.
    assert len(joined) == 2 and joined[0].startswith("SELECT") and joined[1].startswith("WITH claimed")
    assert [q["sql"] for q in orm.captured_queries if "SAVEPOINT" not in q["sql"]] == []
    assert Exposure.objects.filter(assignment=assignment).count() == assignment.bundle.bundle_pairings.count() > 0


def test_joining_again_returns_the_same_assignment_with_its_progress(client, study):
    participant = ready(client, study)
    state = join(client, participant).json()
    post_answer(client, participant, answer_body(state, 1, trial=fetch_trial(client, participant, 1), rating=4))
    again = join(client, participant)  # a double click, a second tab, a retried request
    assert again.status_code == 200
    assert again.json() == state | {"answered": 1, "unanswered": [p for p in state["unanswered"] if p != 1]}
    assert participant.assignments.count() == 1


def test_the_start_form_still_joins_without_the_runner(client, study):
    participant = ready(client, study)
    response = client.post(reverse("experiments:begin", args=[participant.token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("experiments:worker", args=[participant.token])
    assert participant.assignments.get().status == AssignmentStatus.ACTIVE
    assert "runner-config" in client.get(response["Location"]).content.decode()


def test_before_the_steps_are_done_the_join_sends_the_worker_back_to_their_step(client, study):
    participant, _ = enter(client, study)  # not consented
    response = join(client, participant)
    assert response.status_code == 409
    assert response.json()["code"] == "not_ready" and response.json()["reload"] is True
    form = client.post(reverse("experiments:begin", args=[participant.token]))
    assert form.status_code == 302 and form["Location"] == reverse("experiments:worker", args=[participant.token])
    assert not Assignment.objects.exists()


def test_a_configured_headphone_screen_must_be_passed_first(client, study):
    study.config = {**study.config, "screening": {"headphones": "huggins"}}
    study.save(update_fields=["config"])
    participant = ready(client, study)
    assert join(client, participant).json()["code"] == "not_ready"
    Participant.objects.filter(pk=participant.pk).update(headphone_passed_at=timezone.now())
    assert join(client, participant).status_code == 200


def test_a_before_questionnaire_must_be_answered_first(client, study):
    study.config = {**study.config, "questionnaire": {"blocks": ["demographics"], "when": "before"}}
    study.save(update_fields=["config"])
    participant = ready(client, study)
    assert join(client, participant).json()["code"] == "not_ready"
    assert not Assignment.objects.exists()
    QuestionnaireResponse.objects.create(participant=participant, answers={})  # answered: the join goes through
    assert join(client, participant).status_code == 200


def test_a_screened_out_worker_is_sent_to_their_page(client, study):
    participant = ready(client, study)
    Participant.objects.filter(pk=participant.pk).update(
        screened_out_at=timezone.now(), screened_out_reason=ScreeningReason.HEADPHONES
    )
    body = join(client, participant).json()
    assert (body["code"], body["reload"]) == ("screened_out", True)
    assert not Assignment.objects.exists()


def test_a_closed_study_or_no_work_left_is_said_in_words(client, study):
    participant = ready(client, study)
    study.status = ExperimentStatus.CLOSED
    study.save(update_fields=["status"])
    response = join(client, participant)
    assert response.status_code == 409
    assert response.json() == {
        "error": "This study is not accepting new work right now.",
        "code": "closed",
        "reload": False,
    }
    study.status = ExperimentStatus.OPEN
    study.save(update_fields=["status"])
    study.bundles.update(status="assigned")  # every bundle taken
    body = join(client, participant).json()
    assert body["code"] == "no_work" and body["reload"] is False and "no work left" in body["error"]
    form = client.post(reverse("experiments:begin", args=[participant.token]))
    assert form.status_code == 200 and b"no work left" in form.content


def test_an_unknown_session_or_a_get_is_refused(client, study):
    assert client.post(reverse("experiments:api_begin", args=["nope"])).status_code == 404
    assert client.post(reverse("experiments:begin", args=["nope"])).status_code == 404
    participant = ready(client, study)
    assert client.get(reverse("experiments:api_begin", args=[participant.token])).status_code == 405
    assert not Assignment.objects.exists()


def test_begin_work_and_allocate_assignment_apply_the_same_claim(client, study):
    participant = ready(client, study)
    begun = allocation.begin_work(session_token=participant.token)
    assert begun.fresh is True and begun.assignment.participant_id == participant.pk
    again = allocation.begin_work(session_token=participant.token)
    assert (again.fresh, again.assignment.pk) == (False, begun.assignment.pk)
    assert allocation.allocate_assignment(participant=participant).pk == begun.assignment.pk
    assert allocation.begin_work(session_token="unknown") is None
