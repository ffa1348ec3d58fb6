"""The workspace recruitment pages: every channel at a glance, the MTurk batch flow (estimate, cap, sandbox
publish, sync, bulk review), Prolific actions, resolving problem reports -- thin adapters over the channels'
services, each list a fixed number of queries."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from experiments.models import ProblemReport
from experiments.services import problems
from experiments.services.exclusion import add_to_group
from mturk import selectors as mturk_selectors
from mturk.models import AssignmentStatus, MTurkCall
from recruitment.models import ProlificStudy
from recruitment.services import create_panel_link
from tests.experiments.test_allocation import open_study, participant
from tests.factories.mturk import MTurkAssignmentFactory, make_batch, publish_rows
from tests.mturk import stubs
from tests.mturk.conftest import _dummy_aws_credentials, mturk_stub  # noqa: F401
from tests.recruitment.test_prolific_api import PID_A, api, create, fake  # noqa: F401
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db
serial = itertools.count()
OVERVIEW = "/recruitment/"


def add_everything(n: int) -> None:
    """``n`` rows of each list on the overview, with the related rows each row shows."""
    experiment = open_study(slug=f"rec-{next(serial)}")
    for _ in range(n):
        k = next(serial)
        batch = publish_rows(make_batch())
        MTurkAssignmentFactory(hit=batch.hits.get())
        create_panel_link(experiment=experiment, slug=f"panel-{k}", completion_url="https://panel.example/done")
        ProlificStudy.objects.create(experiment=experiment, study_id=f"{k:024x}", completion_code=f"C{k}")
        problems.report_problem(participant=participant(experiment, f"W{k}"), category="media", text=f"report {k}")
        add_to_group(name=f"group-{k}", experiments=[experiment, open_study(slug=f"grouped-{k}")])


def test_the_pages_need_a_staff_login(client):
    batch = make_batch()
    for url in (OVERVIEW, f"/recruitment/mturk/{batch.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_overview_shows_every_channel_and_the_reports(staff_client, django_assert_max_num_queries):
    add_everything(2)
    page = staff_client.get(OVERVIEW).content.decode()
    assert 'aria-current="page">Recruitment' in page
    assert page.count("/recruitment/mturk/") >= 2 and "/r/panel-" in page and "report " in page
    assert "group-" in page and "grouped-" in page
    assert_flat(
        staff_client,
        OVERVIEW,
        grow=lambda: add_everything(2),
        ceiling=10,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_the_batch_page_shows_the_estimate_the_cap_and_the_queue(staff_client, django_assert_max_num_queries, settings):
    settings.MVFIT_PAY_FLOOR_CENTS_PER_HOUR = 1200
    batch = publish_rows(make_batch(n_assignments=9, estimated_minutes=10))
    hit = batch.hits.get()
    MTurkAssignmentFactory(hit=hit)
    MTurkAssignmentFactory(hit=hit, status=AssignmentStatus.REJECTED)
    url = f"/recruitment/mturk/{batch.pk}/"
    page = staff_client.get(url).content.decode()
    assert "9 x $1.50 = $13.50" in page and "cap $" in page and "the sandbox" in page
    assert "un-reject to reverse" in page and "9.00 per hour, BELOW the floor of 12.00 per hour" in page
    assert_flat(
        staff_client,
        url,
        grow=lambda: [MTurkAssignmentFactory(hit=hit) for _ in range(4)],
        ceiling=12,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_publishing_in_the_sandbox_from_the_page(staff_client, mturk_stub):  # noqa: F811
    batch = make_batch(n_assignments=9, exclude_returning_workers=False)
    stub = mturk_stub.sandbox
    stub.add_response("create_hit_type", {"HITTypeId": "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"})
    stub.add_response("create_hit_with_hit_type", {"HIT": stubs.hit(hit_id="3PAGEHITXXXXXXXXXXXXXXXXXXXXXX")})
    response = staff_client.post(f"/recruitment/mturk/{batch.pk}/action/", {"action": "publish"}, follow=True)
    assert "1 HIT(s) created" in response.content.decode()
    batch.refresh_from_db()
    assert batch.state == batch.State.PUBLISHED


def test_a_live_batch_is_not_published_without_the_confirmation(staff_client, mturk_stub):  # noqa: F811
    batch = make_batch(mode="live")
    response = staff_client.post(f"/recruitment/mturk/{batch.pk}/action/", {"action": "publish"}, follow=True)
    assert "confirm" in response.content.decode().lower()
    assert not MTurkCall.objects.exists()


def test_bulk_review_from_the_page_reports_each_outcome(staff_client, mturk_stub):  # noqa: F811
    batch = publish_rows(make_batch())
    first, second = (MTurkAssignmentFactory(hit=batch.hits.get()) for _ in range(2))
    other = MTurkAssignmentFactory()  # another batch: never touched from this page
    stub = mturk_stub.sandbox
    stub.add_response("approve_assignment", {}, expected_params={"AssignmentId": first.assignment_id})
    stub.add_response("approve_assignment", {}, expected_params={"AssignmentId": second.assignment_id})
    form = {"action": "approve", "assignment": [first.pk, second.pk, other.pk]}
    response = staff_client.post(f"/recruitment/mturk/{batch.pk}/review/", form, follow=True)
    assert "approved 2" in response.content.decode()
    other.refresh_from_db()
    assert other.status == AssignmentStatus.SUBMITTED
    refused = staff_client.post(
        f"/recruitment/mturk/{batch.pk}/review/", {"action": "reject", "assignment": [first.pk]}, follow=True
    )
    assert "rejection reason is required" in refused.content.decode()


def test_prolific_sync_from_the_page(staff_client, fake, api):  # noqa: F811
    made = create(open_study(slug="prolific-page"), api)
    fake.add_submission(made.study_id, PID_A)
    response = staff_client.post(f"/recruitment/prolific/{made.pk}/action/", {"action": "sync"}, follow=True)
    assert "1 submissions synced" in response.content.decode()


def test_resolving_reports_from_the_page(staff_client):
    experiment = open_study(slug="reports")
    report = problems.report_problem(participant=participant(experiment), category="unclear", text="?")
    response = staff_client.post(
        reverse("workspace:recruitment_resolve_problems"), {"report": [report.pk], "note": "Clarified."}, follow=True
    )
    assert "1 report(s) resolved" in response.content.decode()
    report.refresh_from_db()
    assert (report.resolved_by, report.staff_note) == ("experimenter", "Clarified.")
    assert ProblemReport.objects.filter(resolved_at__isnull=True).count() == 0


def test_a_workers_problem_reports_show_in_the_review_queue(staff_client):
    from experiments.services.participants import enter_via_mturk

    experiment = open_study(slug="queue")
    batch = publish_rows(make_batch())
    reporter = MTurkAssignmentFactory(hit=batch.hits.get())
    quiet = MTurkAssignmentFactory(hit=batch.hits.get())
    worker = enter_via_mturk(experiment=experiment, worker_id=reporter.worker_id, assignment_id=reporter.assignment_id)
    for text in ("no sound", "still no sound"):
        problems.report_problem(participant=worker, category="media", text=text)
    rows = {a.pk: a.n_problem_reports for a in mturk_selectors.review_queue(batch=batch, status="Submitted")}
    assert rows == {reporter.pk: 2, quiet.pk: 0}
    page = staff_client.get(f"/recruitment/mturk/{batch.pk}/").content.decode()
    assert 'href="/recruitment/#problems">2</a>' in page


def test_the_prolific_page_reviews_submissions_in_bulk(staff_client, fake, api, django_assert_max_num_queries):  # noqa: F811
    from recruitment.prolific import enter_via_prolific

    experiment = open_study(slug="prolific-queue")
    made = create(experiment, api)
    entered = enter_via_prolific(
        experiment=experiment, query={"PROLIFIC_PID": PID_A, "STUDY_ID": made.study_id, "SESSION_ID": "s1"}
    ).participant
    problems.report_problem(participant=entered, category="media", text="no sound")
    first = fake.add_submission(made.study_id, PID_A)
    second = fake.add_submission(made.study_id, "b2" * 12)
    fake.add_submission(made.study_id, "c3" * 12, status="APPROVED")
    staff_client.post(f"/recruitment/prolific/{made.pk}/action/", {"action": "sync"})
    url = f"/recruitment/prolific/{made.pk}/"
    page = staff_client.get(url).content.decode()
    assert page.index(first) < page.index(second) and f"#{entered.pk}" in page
    assert 'href="/recruitment/#problems">1</a>' in page
    rows = {sub.submission_id: sub.pk for sub in made.submissions.all()}
    short = staff_client.post(
        f"{url}review/", {"action": "reject", "submission": [rows[second]], "message": "bad"}, follow=True
    )
    assert "100 characters" in short.content.decode() and fake.submissions[second]["status"] == "AWAITING REVIEW"
    done = staff_client.post(
        f"{url}review/", {"action": "approve", "submission": [rows[first], rows[second]]}, follow=True
    )
    assert "approve: 2 done" in done.content.decode()
    assert fake.submissions[first]["status"] == fake.submissions[second]["status"] == "APPROVED"
    assert_flat(
        staff_client,
        url,
        grow=lambda: (
            [fake.add_submission(made.study_id, f"{n:024x}") for n in range(3)]
            and staff_client.post(f"/recruitment/prolific/{made.pk}/action/", {"action": "sync"})
        ),
        ceiling=10,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_a_bonus_rule_is_previewed_and_paid_from_the_page(staff_client, django_assert_max_num_queries):
    from experiments.services.allocation import allocate_assignment
    from recruitment.services import enter_via_panel
    from tests.experiments.test_allocation import answer_all

    experiment = open_study(slug="bonus-page")
    link = create_panel_link(experiment=experiment, slug="bonus-pool", completion_url="https://panel.example/done")

    def grow():
        for _ in range(2):
            member = enter_via_panel(link=link, panel_id=f"m{next(serial)}").participant
            answer_all(allocate_assignment(participant=member))

    grow()
    url = "/recruitment/bonus/?experiment=bonus-page&flat_cents=40&per_bundle_cents=10&max_cents="
    page = staff_client.get(url).content.decode()
    assert "total <strong>100¢</strong>" in page and "(paid outside)" in page and "Pay 100¢ as previewed" in page
    form = {"experiment": "bonus-page", "flat_cents": "40", "per_check_cents": "", "per_bundle_cents": "10"}
    stale = staff_client.post("/recruitment/bonus/pay/", form | {"total_cents": "90", "reason": "Thanks"}, follow=True)
    assert "preview again" in stale.content.decode()
    paid = staff_client.post("/recruitment/bonus/pay/", form | {"total_cents": "100", "reason": "Thanks"}, follow=True)
    assert "panel: 1.00 to pay outside the platform" in paid.content.decode()
    bad = staff_client.get("/recruitment/bonus/?experiment=bonus-page&flat_cents=x").content.decode()
    assert "a whole number of cents" in bad
    assert_flat(staff_client, url, grow=grow, ceiling=12, django_assert_max_num_queries=django_assert_max_num_queries)


def test_the_workers_of_selected_assignments_are_messaged_from_the_batch_page(staff_client, mturk_stub):  # noqa: F811
    batch = publish_rows(make_batch())
    first, second = (MTurkAssignmentFactory(hit=batch.hits.get()) for _ in range(2))
    mturk_stub.sandbox.add_response(
        "notify_workers",
        {"NotifyWorkersFailureStatuses": []},
        expected_params={"Subject": "Part 2", "MessageText": "It is open.", "WorkerIds": [first.worker_id]},
    )
    form = {"assignment": [first.pk], "subject": "Part 2", "text": "It is open."}
    response = staff_client.post(f"/recruitment/mturk/{batch.pk}/message/", form, follow=True)
    assert "messaged 1 worker(s)" in response.content.decode()
    empty = staff_client.post(f"/recruitment/mturk/{batch.pk}/message/", form | {"assignment": []}, follow=True)
    assert "at least one worker" in empty.content.decode()
    page = staff_client.get(f"/recruitment/mturk/{batch.pk}/").content.decode()
    assert f'formaction="/recruitment/mturk/{batch.pk}/message/"' in page
    assert second.worker_id in page
