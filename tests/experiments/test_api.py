"""The staff API: authentication on every endpoint, and designing/opening/monitoring through it."""

import pytest
from django.test import Client
from django.urls import reverse

from experiments.models import Experiment, ExperimentStatus, InviteLink
from tests.factories.experiments import make_experiment, make_library

pytestmark = pytest.mark.django_db


def endpoints(pk: int):
    return [
        ("get", reverse("experiments_api:list")),
        ("post", reverse("experiments_api:list")),
        ("get", reverse("experiments_api:detail", args=[pk])),
        ("post", reverse("experiments_api:design", args=[pk])),
        ("post", reverse("experiments_api:open", args=[pk])),
        ("post", reverse("experiments_api:close", args=[pk])),
        ("get", reverse("experiments_api:progress", args=[pk])),
        ("post", reverse("experiments_api:invites", args=[pk])),
        ("post", reverse("experiments_api:release_abandoned")),
        ("get", reverse("experiments_api:export") + f"?experiment={pk}"),
    ]


def test_every_api_endpoint_needs_a_staff_login(django_user_model):
    experiment = make_experiment()
    anonymous = Client()
    member = Client()
    member.force_login(django_user_model.objects.create_user(username="w", password="pw-123-long"))
    for method, url in endpoints(experiment.pk):
        assert getattr(anonymous, method)(url).status_code in (401, 403), url
        assert getattr(member, method)(url).status_code == 403, url
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.DESIGNED and not InviteLink.objects.exists()


def test_staff_design_open_invite_and_watch_an_experiment_through_the_api(staff_client):
    library = make_library(n_clips=3, n_excerpts=2)
    body = {
        "slug": "api-fit",
        "title": "API fit",
        "kind": "rating",
        "config": {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids},
        "seed": 77,
        "judgments_per_item": 3,
        "trials_per_assignment": 4,
    }
    created = staff_client.post(reverse("experiments_api:list"), body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["status"], data["seed"], data["n_items"]) == ("designed", 77, 6)
    pk = data["id"]

    refused = staff_client.post(reverse("experiments_api:open", args=[pk]), {}, content_type="application/json")
    assert refused.status_code == 409 and "not rendered" in refused.json()["detail"]
    opened = staff_client.post(
        reverse("experiments_api:open", args=[pk]), {"allow_unrendered": True}, content_type="application/json"
    )
    assert opened.status_code == 200 and opened.json()["status"] == "open"

    links = staff_client.post(
        reverse("experiments_api:invites", args=[pk]), {"count": 3}, content_type="application/json"
    )
    assert links.status_code == 201 and len(links.json()["links"]) == 3
    assert all("/w/invite/" in link for link in links.json()["links"])

    progress = staff_client.get(reverse("experiments_api:progress", args=[pk])).json()
    assert progress["items"] == 6 and progress["items_short"] == 6 and progress["judgments_missing"] == 18
    assert progress["assignments"] == {"started": 0, "active": 0, "completed": 0, "abandoned": 0}
    assert staff_client.post(reverse("experiments_api:release_abandoned")).json() == {"released": 0}
    closed = staff_client.post(reverse("experiments_api:close", args=[pk]))
    assert closed.json()["status"] == "closed"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"kind": "survey"}, "kind"),
        ({"judgments_per_item": 0}, "judgments_per_item"),
        ({"config": {"clip_ids": [1]}}, "design"),
        ({"slug": "not a slug!"}, "slug"),
    ],
)
def test_bad_api_input_is_a_400_naming_the_problem(staff_client, patch, field):
    library = make_library(n_clips=2, n_excerpts=2)
    body = {
        "slug": "x",
        "title": "x",
        "kind": "rating",
        "config": {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids},
        **patch,
    }
    response = staff_client.post(reverse("experiments_api:list"), body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert not Experiment.objects.exists()
