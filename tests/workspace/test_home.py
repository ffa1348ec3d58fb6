"""The public front page, the workspace login and the staff home page."""

from __future__ import annotations

import pytest

from tests.factories.experiments import make_experiment, make_library
from tests.support.query_counts import assert_flat

pytestmark = pytest.mark.django_db


def test_the_front_page_says_what_the_site_is_and_nothing_about_studies(client):
    make_experiment(library=make_library(n_clips=2, n_excerpts=2), slug="secret-study")
    response = client.get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "music fits video" in text
    assert "secret-study" not in text
    assert "/login/" in text


def test_the_home_page_needs_a_staff_login(client, django_user_model):
    response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/home/")
    worker = django_user_model.objects.create_user(username="w", password="pw-pw-pw-pw")
    client.force_login(worker)
    assert client.get("/home/").status_code == 302


def test_logging_in_lands_on_the_workspace_home(client, staff_user):
    response = client.post("/login/", {"username": "experimenter", "password": "correct horse battery"})
    assert response.status_code == 302
    assert response["Location"] == "/home/"
    page = client.get("/home/").content.decode()
    for link in ("/library/", "/experiments/", "/api/docs/", "/admin/"):
        assert f'href="{link}"' in page


def test_a_wrong_password_is_refused_on_the_login_page(client, staff_user):
    response = client.post("/login/", {"username": "experimenter", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_the_home_page_shows_the_library_and_experiments(staff_client):
    make_experiment(library=make_library(n_clips=3, n_excerpts=2), slug="fit-one", title="Fit one")
    page = staff_client.get("/home/").content.decode()
    assert "Fit one" in page
    assert "<strong>3</strong> clips" in page


def test_the_home_page_costs_the_same_queries_with_more_experiments(staff_client, django_assert_max_num_queries):
    library = make_library(n_clips=2, n_excerpts=2)
    make_experiment(library=library, slug="first")

    def grow():
        for i in range(5):
            make_experiment(library=library, slug=f"more-{i}")

    assert_flat(
        staff_client, "/home/", grow=grow, ceiling=14, django_assert_max_num_queries=django_assert_max_num_queries
    )


def test_logging_out_needs_a_post(staff_client):
    assert staff_client.get("/logout/").status_code == 405
    response = staff_client.post("/logout/")
    assert response.status_code == 302
    assert staff_client.get("/home/").status_code == 302


def test_the_admin_view_site_link_opens_the_workspace_home(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert 'href="/home/"' in page
