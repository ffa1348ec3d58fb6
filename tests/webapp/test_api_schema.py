"""The experimenter API's OpenAPI 3 schema (drf-spectacular): valid, complete, documented, and staff-only."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.views import APIView

from webapp import api_docs

pytestmark = pytest.mark.django_db
DOCUMENTATION_VIEWS = {api_docs.schema.cls, api_docs.swagger_ui.__wrapped__.cls}


def routed_api_views(patterns=None, prefix=""):
    """(OpenAPI path, view class) of every DRF view the URLconf routes, found by walking it."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routed_api_views(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView) and view not in DOCUMENTATION_VIEWS:
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + route).replace("{pk}", "{id}")
                yield path, view


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_generates_without_a_warning_and_validates(tmp_path):
    # --fail-on-warn: an undocumented request or response body, an unresolvable field type, an unknown
    # authentication class all fail here instead of silently turning into an empty or string schema.
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    validate_schema(json.loads(out.read_text()))


def test_every_routed_api_view_is_in_the_schema_with_its_responses(schema):
    routed = list(routed_api_views())
    assert len(routed) >= 30  # the walk found the experiments, library and MTurk APIs
    missing, undocumented = [], []
    for path, view in routed:
        operations = schema["paths"].get(path)
        if not operations:
            missing.append(f"{path} ({view.__name__})")
            continue
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            if not any(code == "204" or body.get("content") for code, body in responses.items()):
                undocumented.append(f"{method.upper()} {path}")
    assert not missing, f"routed but not in the schema: {missing}"
    assert not undocumented, f"operations without a documented response body: {undocumented}"


def test_every_operation_requires_authentication(schema):
    open_operations = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security") or {} in operation["security"]
    ]
    assert not open_operations


def test_the_schema_and_its_documentation_are_for_staff_only(staff_client, django_user_model):
    anonymous, worker = Client(), Client()
    worker.force_login(django_user_model.objects.create_user("someone", password="not-staff-1"))
    for visitor in (anonymous, worker):
        assert visitor.get("/api/schema/").status_code in (401, 403)
        assert visitor.get("/api/docs/").status_code in (401, 403)
    assert staff_client.get("/api/schema/?format=json").json()["info"]["title"] == "mvfit experimenter API"


def test_the_documentation_page_loads_everything_from_this_site_under_the_strict_policy(staff_client):
    page = staff_client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<style" not in html and "<script>" not in html  # no inline style or script
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)  # no CDN
    policy = page["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "script-src 'self';" in policy
    assert "img-src 'self' data:" in policy  # Swagger UI's icons; nothing else is relaxed
    script = staff_client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert len(assets) >= 4  # Swagger UI's CSS, two scripts, our CSS
    for asset in assets:
        assert finders.find(asset), asset  # collectstatic ships it (tests run without collected files)
