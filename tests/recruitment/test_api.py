"""The recruitment API: problem reports (listed in a fixed number of queries, resolved), bonus rules
previewed then paid as previewed, per-worker caps, and Prolific actions against the fake server."""

from __future__ import annotations

import itertools

import pytest

from experiments.models import Experiment
from experiments.services import problems
from experiments.services.allocation import allocate_assignment
from recruitment.models import ProlificStudy
from recruitment.services import create_panel_link, enter_via_panel
from tests.experiments.test_allocation import answer_all, open_study, participant
from tests.recruitment.test_prolific_api import PID_A, api, create, fake  # noqa: F401
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db
serial = itertools.count()


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def report(experiment, text="no sound"):
    return problems.report_problem(participant=participant(experiment, f"W{next(serial)}"), category="media", text=text)


def test_problem_reports_are_listed_filtered_and_resolved(staff_client, django_assert_max_num_queries):
    first, second = open_study(slug="one"), open_study(slug="two")
    a, b = report(first, "black video"), report(second)
    listed = staff_client.get("/api/recruitment/problems/?experiment=one").json()
    assert [(r["id"], r["experiment"], r["channel"], r["text"]) for r in listed["results"]] == [
        (a.pk, "one", "mturk", "black video")
    ]
    done = post(staff_client, "/api/recruitment/problems/resolve/", {"reports": [a.pk], "note": "fixed"})
    assert done.status_code == 200 and done.json()["detail"] == "1 report(s) resolved."
    assert [r["id"] for r in staff_client.get("/api/recruitment/problems/").json()["results"]] == [b.pk]
    assert len(staff_client.get("/api/recruitment/problems/?all=1").json()["results"]) == 2
    assert post(staff_client, "/api/recruitment/problems/resolve/", {"reports": []}).status_code == 400
    assert_flat(
        staff_client,
        "/api/recruitment/problems/?all=1",
        grow=lambda: [report(open_study(slug=f"more-{next(serial)}")) for _ in range(3)],
        ceiling=8,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_a_bonus_rule_is_previewed_then_paid_only_at_the_previewed_total(staff_client):
    experiment = open_study(slug="bonus")
    link = create_panel_link(experiment=experiment, slug="pool", completion_url="https://panel.example/done")
    member = enter_via_panel(link=link, panel_id="m1").participant
    answer_all(allocate_assignment(participant=member))
    rule = {"experiment": "bonus", "flat_cents": 40, "per_bundle_cents": 10}
    preview = post(staff_client, "/api/recruitment/bonus-rules/preview/", rule)
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["total_cents"] == 50 and body["by_channel"] == {"panel": 50}
    assert body["lines"][0] | {"participant": 0} == {
        "participant": 0, "channel": "panel", "completed_bundles": 1, "correct_checks": 0, "cents": 50, "paid_here": False,
    }  # fmt: skip
    stale = post(staff_client, "/api/recruitment/bonus-rules/pay/", rule | {"total_cents": 70, "reason": "Thanks"})
    assert stale.status_code == 400 and "preview again" in stale.json()["detail"]
    paid = post(staff_client, "/api/recruitment/bonus-rules/pay/", rule | {"total_cents": 50, "reason": "Thanks"})
    assert paid.status_code == 200 and paid.json() == {"paid_cents": 0, "outside": {"panel": 50}, "failed": []}
    nothing = post(staff_client, "/api/recruitment/bonus-rules/preview/", {"experiment": "bonus"})
    assert nothing.status_code == 400 and "needs a flat amount" in nothing.json()["detail"]
    assert post(staff_client, "/api/recruitment/bonus-rules/preview/", rule | {"experiment": "nope"}).status_code == 404


def test_the_worker_cap_is_set_and_lifted(staff_client):
    open_study(slug="capped")
    url = "/api/recruitment/experiments/capped/worker-cap/"
    response = staff_client.put(url, {"max_bundles_per_worker": 2}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"max_bundles_per_worker": 2}
    assert Experiment.objects.get(slug="capped").max_bundles_per_worker == 2
    assert staff_client.put(url, {"max_bundles_per_worker": 0}, content_type="application/json").status_code == 400
    lifted = staff_client.put(url, {"max_bundles_per_worker": None}, content_type="application/json")
    assert lifted.json() == {"max_bundles_per_worker": None}


def test_prolific_actions_through_the_api(staff_client, fake, api, monkeypatch):  # noqa: F811
    made = create(open_study(slug="prolific-api"), api)
    fake.add_submission(made.study_id, PID_A)
    ProlificStudy.objects.filter(pk=made.pk).update(spending_cap_cents=100)  # lowered after the draft was made
    synced = post(staff_client, f"/api/recruitment/prolific/{made.pk}/sync/", {})
    assert synced.status_code == 200 and synced.json()["detail"] == "1 submissions synced"
    refused = post(staff_client, f"/api/recruitment/prolific/{made.pk}/publish/", {})
    assert refused.status_code == 409 and "spending cap" in refused.json()["detail"]
    assert post(staff_client, f"/api/recruitment/prolific/{made.pk}/delete/", {}).status_code == 404
    monkeypatch.delenv("PROLIFIC_API_TOKEN")
    no_token = post(staff_client, f"/api/recruitment/prolific/{made.pk}/sync/", {})
    assert no_token.status_code == 502 and "PROLIFIC_API_TOKEN" in no_token.json()["detail"]
