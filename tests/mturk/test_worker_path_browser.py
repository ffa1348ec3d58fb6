"""A worker's MTurk path end to end in headless Chromium.

A local capture server plays MTurk: it frames our task page like a HIT page does and receives the
externalSubmit POST. The worker previews the HIT, accepts it (assignmentId, hitId, workerId,
turkSubmitTo pointing at the capture server), does the trials, and submits; the capture server must
receive the POST with the right assignmentId.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotation.models import Pairing
from experiments.models import AssignmentStatus, Participant, Response
from experiments.services.lifecycle import open_experiment
from mturk.models import ExclusionQualification, QualificationGrant
from mturk.modes import Mode
from mturk.services.experiments import create_batch_for_experiment
from tests.factories.experiments import make_experiment, make_library
from tests.factories.mturk import publish_rows
from tests.support.media import attach_rendered_media
from tests.support.sound_check import answer_in_browser

from .capture import start_capture_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUAL = "3EXCLUSIONXXXXXXXXXXXXXXXXXXXX"
ASSIGNMENT = "3BROWSERASGXXXXXXXXXXXXXXXXXXX"
WORKER = "A1BROWSERWORKER"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 1000})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def capture(settings):
    server = start_capture_server()
    settings.MTURK_SUBMIT_HOSTS = [server.origin]
    settings.MVFIT_WORKER_FRAME_ANCESTORS = f"'self' {server.origin}"
    yield server
    server.server.shutdown()


def task_frame(page):
    page.wait_for_selector("iframe#task")
    return page.frame_locator("iframe#task"), next(f for f in page.frames if f != page.main_frame)


def test_preview_accept_complete_and_submit_to_mturk(page, live_server, capture, mturk_stub, tmp_path):
    library = make_library(n_clips=2, n_excerpts=1, duration_s=1.0)
    experiment = make_experiment(
        slug="fit-browser",
        library=library,
        judgments_per_item=1,
        trials_per_assignment=2,
        catch_trials_per_assignment=0,
    )
    attach_rendered_media(Pairing.objects.filter(rating_items__experiment=experiment).distinct(), source_dir=tmp_path)
    experiment = open_experiment(experiment=experiment)
    batch = publish_rows(
        create_batch_for_experiment(
            experiment=experiment, mode="sandbox", reward=Decimal("1"), spending_cap=Decimal("9")
        )
    )
    ExclusionQualification.objects.create(study=batch.study, mode=Mode.SANDBOX, name="x", qualification_type_id=QUAL)
    hit = batch.hits.first()
    task_url = live_server.url + reverse("mturk:entry", args=[experiment.slug])

    # 1. Preview: instructions and a sample, no participant, no trial.
    preview = {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": hit.hit_id, "turkSubmitTo": capture.origin}
    page.goto(capture.frame_url(f"{task_url}?{urlencode(preview)}"))
    frame, _ = task_frame(page)
    frame.get_by_test_id("mturk-preview").wait_for()
    assert frame.get_by_test_id("sample").is_visible()
    assert frame.locator("#trial").count() == 0
    assert not Participant.objects.exists()

    # 2. Accepted: MTurk reloads the frame with the worker's ids.
    mturk_stub.sandbox.add_response(
        "associate_qualification_with_worker",
        {},
        expected_params={"QualificationTypeId": QUAL, "WorkerId": WORKER, "IntegerValue": 1, "SendNotification": False},
    )
    accepted = {"assignmentId": ASSIGNMENT, "hitId": hit.hit_id, "workerId": WORKER, "turkSubmitTo": capture.origin}
    page.goto(capture.frame_url(f"{task_url}?{urlencode(accepted)}"))
    frame, raw_frame = task_frame(page)
    frame.get_by_test_id("agree").click()
    participant = Participant.objects.get(worker_id=WORKER, assignment_id=ASSIGNMENT)
    assert participant.hit_id == hit.hit_id and participant.turk_submit_to == capture.origin
    assert QualificationGrant.objects.get(worker_id=WORKER).state == QualificationGrant.State.GRANTED

    # Sound check, then the trials: each clip must play through before the answer unlocks.
    answer_in_browser(frame, participant)
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    frame.get_by_test_id("begin").click()
    frame.locator("#trial button.play").first.wait_for()
    work = participant.assignments.get()
    for done in range(work.n_trials):
        expect(frame.get_by_test_id("progress-text")).to_have_text(f"{done} of {work.n_trials} done")
        options = frame.locator("#trial figure.option")
        for index in range(options.count()):
            options.nth(index).locator("button.play").click()
            expect(options.nth(index)).to_have_class(re.compile(r"\bplayed\b"))
        answer = frame.locator("#trial button.answer[data-value='6']")
        expect(answer).to_be_enabled()
        answer.click()
    frame.get_by_test_id("done").wait_for()
    assert page_errors == []  # e.g. storage denied in MTurk's third-party frame must not break the runner
    work.refresh_from_db()
    assert work.status == AssignmentStatus.COMPLETED
    assert Response.objects.filter(assignment=work).count() == work.n_trials

    # 3. Submit: the completion page posts the assignment id to turkSubmitTo/mturk/externalSubmit.
    assert frame.get_by_test_id("completion-code").inner_text() == work.completion_code
    frame.get_by_test_id("mturk-submit-button").click()
    path, form = capture.wait_for_submission()
    assert path == "/mturk/externalSubmit"
    assert form["assignmentId"] == [ASSIGNMENT]
    assert form["completionCode"] == [work.completion_code]
    raw_frame.wait_for_selector("#submitted")  # the frame navigated to "MTurk"'s answer
