"""The demo report page: staff only, the file the demo wrote, and a clear 404 before the first run."""

import pytest
from django.test import Client

from demo import views

pytestmark = pytest.mark.django_db


def test_staff_get_the_report_file_uncached(staff_client, monkeypatch, tmp_path):
    report = tmp_path / "report.html"
    report.write_text("<html><body>the demo report</body></html>")
    monkeypatch.setattr(views, "demo_paths", lambda: type("Paths", (), {"report_html": report})())

    response = staff_client.get("/reports/demo/")

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert b"the demo report" in b"".join(response.streaming_content)
    assert Client().get("/reports/demo/").status_code == 302  # anonymous: to the login page


def test_before_the_first_run_the_page_says_how_to_make_the_report(staff_client, monkeypatch, tmp_path):
    monkeypatch.setattr(views, "demo_paths", lambda: type("Paths", (), {"report_html": tmp_path / "none.html"})())

    response = staff_client.get("/reports/demo/")

    assert response.status_code == 404 and b"python manage.py demo" in response.content
