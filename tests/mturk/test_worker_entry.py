"""The worker's MTurk path through our entry page: preview, acceptance, entry verification (only our
published HITs of this experiment, from their marketplace), reused assignment ids, returning workers,
turkSubmitTo, and the externalSubmit form on the completion page."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from experiments.models import Assignment, AssignmentStatus, Participant
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links
from mturk.models import ExclusionQualification, MTurkCall, MTurkEntry, QualificationGrant
from mturk.modes import Mode
from mturk.services.experiments import create_batch_for_experiment
from tests.factories.experiments import make_experiment
from tests.factories.mturk import publish_rows

pytestmark = pytest.mark.django_db

SANDBOX_SUBMIT = "https://workersandbox.mturk.com"
LIVE_SUBMIT = "https://www.mturk.com"
QUAL = "3EXCLUSIONXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def study():
    experiment = open_experiment(
        experiment=make_experiment(slug="fit", trials_per_assignment=3, instructions="Rate the fit of music to video."),
        allow_unrendered=True,
    )
    batch = publish_rows(
        create_batch_for_experiment(
            experiment=experiment, mode="sandbox", reward=Decimal("1"), spending_cap=Decimal("50")
        )
    )
    ExclusionQualification.objects.create(study=batch.study, mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL)
    return experiment, batch.hits.first()


@pytest.fixture
def entry(client, django_capture_on_commit_callbacks):
    """GET our MTurk entry page as MTurk would, running on-commit work (the grant task) like a real commit."""

    def get(hit, **params):
        query = {"hitId": hit.hit_id, "turkSubmitTo": SANDBOX_SUBMIT, **params}
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(reverse("mturk:entry", args=["fit"]), query)

    return get


def row_counts():
    return {model.__name__: model.objects.count() for model in apps.get_models()}


def expect_grant(mturk_stub, worker_id):
    mturk_stub.sandbox.add_response(
        "associate_qualification_with_worker",
        {},
        expected_params={
            "QualificationTypeId": QUAL,
            "WorkerId": worker_id,
            "IntegerValue": 1,
            "SendNotification": False,
        },
    )


def test_preview_shows_instructions_and_a_sample_and_writes_nothing(client, entry, study):
    _, hit = study
    before = row_counts()
    response = entry(hit, assignmentId="ASSIGNMENT_ID_NOT_AVAILABLE")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="mturk-preview"' in page and "Rate the fit of music to video." in page
    assert 'data-testid="sample"' in page and "Extremely poor fit" in page and "Extremely good fit" in page
    assert "/w/m/" not in page and "/w/s/" not in page  # no study media, no session
    assert "frame-ancestors" in response["Content-Security-Policy"]
    assert row_counts() == before


def test_an_accepted_hit_enters_the_worker_flow_and_grants_the_exclusion(client, entry, study, mturk_stub):
    experiment, hit = study
    expect_grant(mturk_stub, "A1WORKER")
    response = entry(hit, assignmentId="3ASGONEXXXXXXXXXXXXXXXXXXXXXXX", workerId="A1WORKER")
    participant = Participant.objects.get(experiment=experiment)
    assert response.status_code == 302 and response["Location"] == reverse(
        "experiments:worker", args=[participant.token]
    )
    assert (participant.worker_id, participant.assignment_id, participant.hit_id) == (
        "A1WORKER",
        "3ASGONEXXXXXXXXXXXXXXXXXXXXXXX",
        hit.hit_id,
    )
    assert participant.turk_submit_to == SANDBOX_SUBMIT
    entry_record = MTurkEntry.objects.get(participant=participant)  # how they entered: this HIT, in sandbox
    assert entry_record.hit == hit and entry_record.hit.batch.mode == Mode.SANDBOX
    assert QualificationGrant.objects.get().state == QualificationGrant.State.GRANTED
    # Reloading the HIT resumes the same participant; no second grant.
    again = entry(hit, assignmentId="3ASGONEXXXXXXXXXXXXXXXXXXXXXXX", workerId="A1WORKER")
    assert again["Location"] == response["Location"]
    assert MTurkCall.objects.filter(operation="AssociateQualificationWithWorker").count() == 1


def publish(experiment, mode):
    batch = create_batch_for_experiment(
        experiment=experiment, mode=mode, reward=Decimal("1"), spending_cap=Decimal("50")
    )
    return publish_rows(batch)


def open_study(slug):
    return open_experiment(experiment=make_experiment(slug=slug, trials_per_assignment=3), allow_unrendered=True)


REFUSED_HIT = b"only opens from a HIT of this study"
SPOOFED_ENTRIES = {
    # what the attacker changes in an accepted HIT's query string
    "made-up hitId": lambda hit, other: {"hitId": "3MADEUPHITXXXXXXXXXXXXXXXXXXX"},
    "no hitId": lambda hit, other: {"hitId": ""},
    "a HIT of another experiment": lambda hit, other: {"hitId": other.hit_id},
    "a sandbox HIT opened from the live site": lambda hit, other: {"turkSubmitTo": LIVE_SUBMIT},
    "a sandbox HIT, trailing-slash live site": lambda hit, other: {"turkSubmitTo": LIVE_SUBMIT + "/"},
}


@pytest.mark.parametrize("spoof", SPOOFED_ENTRIES.values(), ids=SPOOFED_ENTRIES.keys())
def test_an_entry_that_is_not_from_our_published_hit_is_refused_and_writes_nothing(client, entry, study, spoof):
    # Finding 2: made-up workerId/assignmentId/hitId used to create participants and take bundles.
    _, hit = study
    other_hit = publish(open_study("other"), "sandbox").hits.first()
    before = row_counts()
    params = {"assignmentId": "3SPOOFXXXXXXXXXXXXXXXXXXXXXXX", "workerId": "ANY", **spoof(hit, other_hit)}
    response = entry(hit, **params)
    assert response.status_code == 403 and REFUSED_HIT in response.content
    assert "frame-ancestors" in response["Content-Security-Policy"]
    assert row_counts() == before


def test_an_experiment_never_published_on_mturk_is_reachable_only_by_its_invite_links(client):
    # The attack: six made-up participants took every bundle of an invite-only study.
    experiment = open_study("invite-only")
    ((_, invite),) = create_invite_links(experiment=experiment, count=1)
    before = row_counts()
    for n in range(6):
        spoofed = {"workerId": f"ANY{n}", "assignmentId": f"ANY{n}", "hitId": "ANY", "turkSubmitTo": LIVE_SUBMIT}
        response = client.get(reverse("mturk:entry", args=["invite-only"]), spoofed)
        assert response.status_code == 403 and REFUSED_HIT in response.content
    preview = client.get(reverse("mturk:entry", args=["invite-only"]), {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert preview.status_code == 403
    assert row_counts() == before
    # The invitee still finds all the work.
    client.get(reverse("experiments:invite", args=[invite]))
    invitee = Participant.objects.get(experiment=experiment)
    assert invitee.source == "link" and not MTurkEntry.objects.exists()
    assert allocate_assignment(participant=invitee).bundle.experiment == experiment


def test_a_live_hit_enters_only_from_the_live_site_and_records_its_marketplace(client, settings):
    settings.MTURK_PUBLIC_BASE_URL = "https://mvfit.example.org"
    experiment = open_study("live-study")
    hit = publish(experiment, "live").hits.first()
    url = reverse("mturk:entry", args=["live-study"])
    accepted = {"hitId": hit.hit_id, "assignmentId": "3LIVEASGXXXXXXXXXXXXXXXXXXXXX", "workerId": "A1LIVE"}
    refused = client.get(url, {**accepted, "turkSubmitTo": SANDBOX_SUBMIT})
    assert refused.status_code == 403 and not Participant.objects.exists()
    response = client.get(url, {**accepted, "turkSubmitTo": LIVE_SUBMIT})
    participant = Participant.objects.get(worker_id="A1LIVE")
    assert response.status_code == 302 and response["Location"] == reverse(
        "experiments:worker", args=[participant.token]
    )
    assert participant.mturk_entry.hit == hit and participant.mturk_entry.hit.batch.mode == Mode.LIVE


def test_a_known_assignment_cannot_come_back_through_another_hit(client, entry, study, mturk_stub):
    experiment, hit = study
    second_hit = publish(experiment, "sandbox").hits.first()
    expect_grant(mturk_stub, "A1TWICE")
    assert entry(hit, assignmentId="3ASGTWICEXXXXXXXXXXXXXXXXXXXXX", workerId="A1TWICE").status_code == 302
    moved = entry(second_hit, assignmentId="3ASGTWICEXXXXXXXXXXXXXXXXXXXXX", workerId="A1TWICE")
    assert moved.status_code == 403 and MTurkEntry.objects.get().hit == hit


def test_a_preview_needs_a_hit_of_this_experiment(client, entry, study):
    _, hit = study
    assert entry(hit, assignmentId="ASSIGNMENT_ID_NOT_AVAILABLE").status_code == 200
    made_up = entry(hit, assignmentId="ASSIGNMENT_ID_NOT_AVAILABLE", hitId="3MADEUPHITXXXXXXXXXXXXXXXXXXX")
    assert made_up.status_code == 403 and REFUSED_HIT in made_up.content


def test_a_reused_assignment_id_gets_a_fresh_participant_and_the_returner_cannot_come_back(
    client, entry, study, mturk_stub
):
    _experiment, hit = study
    reused = "3REUSEDXXXXXXXXXXXXXXXXXXXXXXX"
    expect_grant(mturk_stub, "A1RETURNER")
    first = entry(hit, assignmentId=reused, workerId="A1RETURNER")
    # A1RETURNER returns the HIT; MTurk hands the same assignment id to A2NEXT.
    expect_grant(mturk_stub, "A2NEXT")
    second = entry(hit, assignmentId=reused, workerId="A2NEXT")
    assert first["Location"] != second["Location"]
    assert sorted(Participant.objects.filter(assignment_id=reused).values_list("worker_id", flat=True)) == [
        "A1RETURNER",
        "A2NEXT",
    ]
    # A1RETURNER accepts the HIT again (a new assignment id) before MTurk applied the exclusion: refused here.
    refused = entry(hit, assignmentId="3ASGNEWXXXXXXXXXXXXXXXXXXXXXXX", workerId="A1RETURNER")
    assert refused.status_code == 403 and b"already taken part" in refused.content
    assert Participant.objects.filter(worker_id="A1RETURNER").count() == 1


def test_a_worker_known_only_from_our_grant_records_is_refused(client, entry, study):
    _, hit = study
    QualificationGrant.objects.create(exclusion=ExclusionQualification.objects.get(), worker_id="A3EARLIER")
    refused = entry(hit, assignmentId="3ASGXXXXXXXXXXXXXXXXXXXXXXXXXX", workerId="A3EARLIER")
    assert refused.status_code == 403 and not Participant.objects.exists()


def test_the_old_experiments_entry_url_gets_the_same_checks(client, study):
    # /w/mturk/<slug>/ used to enter the worker flow directly, skipping the returning-worker check.
    _, hit = study
    QualificationGrant.objects.create(exclusion=ExclusionQualification.objects.get(), worker_id="A3EARLIER")
    query = {"hitId": hit.hit_id, "turkSubmitTo": SANDBOX_SUBMIT, "assignmentId": "3ASGXX", "workerId": "A3EARLIER"}
    refused = client.get(reverse("experiments:mturk_entry", args=["fit"]), query, follow=True)
    assert refused.redirect_chain[0][0].startswith(reverse("mturk:entry", args=["fit"]) + "?")
    assert refused.status_code == 403 and not Participant.objects.exists()


def test_a_foreign_turk_submit_to_is_refused(client, entry, study):
    _, hit = study
    response = entry(
        hit, assignmentId="3ASGXXXXXXXXXXXXXXXXXXXXXXXXXX", workerId="A1", turkSubmitTo="https://evil.example"
    )
    assert response.status_code == 400 and b"did not come from Mechanical Turk" in response.content
    assert not Participant.objects.exists()


def _finish(participant):
    Participant.objects.filter(pk=participant.pk).update(
        consented_at=timezone.now(), audio_check_passed_at=timezone.now()
    )
    work = allocate_assignment(participant=participant)
    Assignment.objects.filter(pk=work.pk).update(
        status=AssignmentStatus.COMPLETED, n_answered=work.n_trials, completed_at=timezone.now()
    )
    work.refresh_from_db()
    return work


def test_the_completion_page_posts_the_assignment_id_to_turk_submit_to(client, entry, study, mturk_stub):
    _experiment, hit = study
    expect_grant(mturk_stub, "A1DONE")
    entry(hit, assignmentId="3ASGDONEXXXXXXXXXXXXXXXXXXXXXX", workerId="A1DONE")
    participant = Participant.objects.get()
    work = _finish(participant)
    page = client.get(reverse("experiments:worker", args=[participant.token])).content.decode()
    assert 'data-testid="done"' in page
    assert f'action="{SANDBOX_SUBMIT}/mturk/externalSubmit"' in page
    assert 'name="assignmentId" value="3ASGDONEXXXXXXXXXXXXXXXXXXXXXX"' in page
    assert f'name="completionCode" value="{work.completion_code}"' in page
    assert "click again" in page  # the resubmit path


def test_the_completion_page_falls_back_to_the_code_if_turk_submit_to_is_unusable(client, entry, study, mturk_stub):
    _experiment, hit = study
    expect_grant(mturk_stub, "A1ODD")
    entry(hit, assignmentId="3ASGODDXXXXXXXXXXXXXXXXXXXXXXX", workerId="A1ODD")
    participant = Participant.objects.get()
    Participant.objects.filter(pk=participant.pk).update(turk_submit_to="https://elsewhere.example")
    _finish(participant)
    page = client.get(reverse("experiments:worker", args=[participant.token])).content.decode()
    assert "externalSubmit" not in page and 'data-testid="mturk-submit-unavailable"' in page
    assert 'data-testid="completion-code"' in page


def test_off_mturk_participants_get_no_submit_form(client, entry, study):
    experiment, _ = study
    ((_, token),) = create_invite_links(experiment=experiment, count=1)
    client.get(reverse("experiments:invite", args=[token]))
    participant = Participant.objects.get()
    _finish(participant)
    page = client.get(reverse("experiments:worker", args=[participant.token])).content.decode()
    assert 'data-testid="done"' in page and "mturk-submit" not in page
