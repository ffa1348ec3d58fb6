"""Finding 4/11: every page runs under the strict Content-Security-Policy without a single violation — the
Django admin (changelists, change and add forms, raw-id lookups), the staff library, credits and experiment
pages, the API documentation (Swagger UI), the worker preview, and a worker's whole path (invite, consent, sound check, trials, done) — in
headless Chromium, which reports each blocked script, style, image, media or form to the page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError

from annotation.models import Pairing
from experiments.models import AssignmentStatus
from tests.experiments.test_worker_browser import answer_trial, enter, open_study, wait_for_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password"
COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def csp_page(browser):
    """A page that records every CSP violation (the DOM event and Chromium's console message)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    context.add_init_script(COLLECT)
    page = context.new_page()
    page.console_violations = []
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and page.console_violations.append(msg.text),
    )
    yield page
    context.close()


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.ok, f"{url}: {response.status}"
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    assert_no_violations(page, url)


def assert_no_violations(page, where: str) -> None:
    page.wait_for_load_state("load")
    seen = page.evaluate("window.__csp") + page.console_violations
    assert not seen, f"{where}: {seen}"


def test_staff_pages_and_the_admin_run_without_csp_violations(csp_page, live_server, tmp_path, django_user_model):
    django_user_model.objects.create_superuser("curator", password=PASSWORD)
    experiment = open_study(tmp_path, n=2, catch=1)
    pairing = Pairing.objects.filter(rendered_file__gt="").first()
    page, base = csp_page, live_server.url

    visit(page, f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert_no_violations(page, "admin login")

    for url in (
        "/admin/",
        reverse("admin:experiments_experiment_changelist") + "?status__exact=open&q=a",
        reverse("admin:experiments_experiment_change", args=[experiment.pk]),
        reverse("admin:experiments_experiment_add"),
        reverse("admin:annotation_pairing_changelist"),
        reverse("admin:annotation_pairing_change", args=[pairing.pk]),
        reverse("admin:experiments_participant_changelist"),
        reverse("annotation:library"),
        reverse("annotation:credits"),
        reverse("workspace:experiments"),
        reverse("workspace:experiment", args=[experiment.pk]),
    ):
        visit(page, base + url)

    # The API documentation: Swagger UI from local static files fetches the schema and renders it.
    visit(page, base + "/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "mvfit experimenter API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag-section")
    assert_no_violations(page, "api docs")

    # Admin widgets that run scripts: select all on a changelist, a raw-id lookup popup.
    page.goto(base + reverse("admin:annotation_pairing_changelist"))
    page.check("#action-toggle")
    assert_no_violations(page, "changelist actions")
    page.goto(base + reverse("admin:annotation_pairing_change", args=[pairing.pk]))
    with page.expect_popup() as popup:
        page.click("#lookup_id_clip")
    popup.value.wait_for_load_state("load")

    # The worker preview runs the real runner.
    visit(page, base + reverse("experiments:preview", args=[experiment.pk]))
    page.wait_for_selector("#trial[data-position]")
    assert_no_violations(page, "preview")

    # The collector is live and the policy really blocks inline scripts: one injected script is refused.
    with pytest.raises(PlaywrightError, match="violates the following Content Security Policy"):
        page.add_script_tag(content="window.__ran = true")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__csp"))


def test_a_workers_whole_path_runs_without_csp_violations(csp_page, live_server, tmp_path):
    experiment = open_study(tmp_path, n=2, catch=1)
    page = csp_page
    documents = []
    page.on("response", lambda r: r.request.resource_type == "document" and documents.append(r))

    participant = enter(page, live_server, experiment)  # invite, consent, sound check (missed, then right), start
    assert_no_violations(page, "entry and sound check")
    assignment = participant.assignments.get()
    for _ in range(assignment.n_trials):
        position, _ = answer_trial(page, participant, "5")
        if position < assignment.n_trials - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.COMPLETED
    assert_no_violations(page, "trials and done page")
    pages = [r for r in documents if r.status == 200]
    assert len(pages) >= 5  # consent, sound check (twice), start, trials, done
    for response in pages:
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, response.url
        assert "frame-ancestors 'self' https://www.mturk.com https://workersandbox.mturk.com" in policy
