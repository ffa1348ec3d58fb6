""" "Report a problem" on the worker page: the control, the worker endpoint (form and fetch), what is stored
(the trial from the server's state), the per-participant cap (also in the database) and resolving."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.urls import reverse

from experiments.models import ProblemReport
from experiments.models.problems import MAX_REPORTS_PER_PARTICIPANT
from experiments.selectors.problems import open_report_count, problem_reports
from experiments.services import problems
from experiments.services.allocation import allocate_assignment
from tests.experiments.test_allocation import answer_all, open_study, participant
from tests.factories.experiments import answer_trial

pytestmark = pytest.mark.django_db


def url(p):
    return reverse("experiments:report_problem", args=[p.token])


def test_a_report_is_stored_with_the_trial_the_worker_is_on(client):
    experiment = open_study()
    worker = participant(experiment)
    assignment = allocate_assignment(participant=worker)
    answer_trial(assignment, 0, rating=4)
    answer_trial(assignment, 1, rating=5)
    page = client.post(url(worker), {"category": "media", "text": " The video stays black. "})
    assert page.status_code == 201 and b"Back to the study" in page.content
    report = ProblemReport.objects.get()
    assert (report.participant, report.experiment, report.assignment) == (worker, experiment, assignment)
    assert (report.position, report.number, report.category, report.text) == (2, 1, "media", "The video stays black.")
    fetched = client.post(url(worker), {"category": "unclear"}, headers={"Accept": "application/json"})
    assert fetched.status_code == 201 and "researchers will see" in fetched.json()["message"]
    assert (fetched["Content-Security-Policy"] and fetched["Cache-Control"].startswith("no-store")) or "no-cache"
    assert list(problem_reports(experiment=experiment)) == list(ProblemReport.objects.order_by("-created_at", "-pk"))


def test_before_any_bundle_and_after_finishing_there_is_no_trial(client):
    experiment = open_study()
    worker = participant(experiment)
    problems.report_problem(participant=worker, category="technical", text="")
    assignment = allocate_assignment(participant=worker)
    answer_all(assignment)
    problems.report_problem(participant=worker, category="technical", text="")
    assert [r.position for r in ProblemReport.objects.order_by("number")] == [None, None]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"category": "spam"}, "choose what kind"),
        ({"category": "other"}, "describe"),
        ({"category": "media", "text": "x" * 2001}, "2000"),
    ],
)
def test_bad_reports_are_refused_with_a_reason_and_store_nothing(client, form, error):
    worker = participant(open_study())
    response = client.post(url(worker), form, headers={"Accept": "application/json"})
    assert response.status_code == 400 and error in response.json()["error"]
    assert not ProblemReport.objects.exists()


def test_unknown_sessions_and_gets_are_refused(client):
    worker = participant(open_study())
    assert (
        client.post(reverse("experiments:report_problem", args=["nope" * 8]), {"category": "media"}).status_code == 404
    )
    assert client.get(url(worker)).status_code == 405


def test_reports_are_capped_per_participant_by_the_service_and_the_database():
    worker = participant(open_study())
    for _ in range(MAX_REPORTS_PER_PARTICIPANT):
        problems.report_problem(participant=worker, category="media", text="")
    with pytest.raises(problems.ReportRefused, match="we have your reports"):
        problems.report_problem(participant=worker, category="media", text="")
    with pytest.raises(IntegrityError):
        ProblemReport.objects.create(
            experiment=worker.experiment, participant=worker, number=MAX_REPORTS_PER_PARTICIPANT + 1, category="media"
        )


def test_the_control_is_on_worker_pages_but_not_in_the_staff_preview(client, admin_client):
    experiment = open_study()
    worker = participant(experiment)
    page = client.get(reverse("experiments:worker", args=[worker.token]))
    text = page.content.decode()
    assert 'data-testid="problem-report"' in text and "experiments/problem-report.js" in text
    assert url(worker) in text and "<script>" not in text and "style=" not in text
    preview = admin_client.get(reverse("experiments:preview", args=[experiment.pk]))
    assert preview.status_code == 200 and b"problem-report" not in preview.content


def test_resolving_reports_takes_them_off_the_queue_once():
    experiment = open_study()
    first = problems.report_problem(participant=participant(experiment, "W1"), category="media", text="")
    second = problems.report_problem(participant=participant(experiment, "W2"), category="unclear", text="?")
    assert open_report_count(experiment=experiment) == 2
    with pytest.raises(ValueError, match="who resolved"):
        problems.resolve_reports(report_ids=[first.pk], actor="")
    assert problems.resolve_reports(report_ids=[first.pk], actor="alice", note="Re-rendered the clip.") == 1
    assert problems.resolve_reports(report_ids=[first.pk, second.pk], actor="bob") == 1
    first.refresh_from_db()
    assert (first.resolved_by, first.staff_note) == ("alice", "Re-rendered the clip.")
    assert open_report_count() == 0 and problem_reports(experiment=experiment, open_only=False)
