"""docker/: no Docker engine runs here, so check the compose file and Dockerfile for structure and wiring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_all_services_are_defined(compose):
    assert {"web", "worker", "beat", "postgres", "redis", "minio"} <= set(compose["services"])
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name


def test_the_app_services_run_the_right_processes_from_one_image(compose):
    services = compose["services"]
    assert command(services["web"]) == "python -m webapp.serve --bind 0.0.0.0:8000"
    assert command(services["worker"]).startswith("celery -A webapp worker")
    assert command(services["beat"]).startswith("celery -A webapp beat")
    assert command(services["migrate"]) == "python manage.py migrate --noinput"
    for name in APP_SERVICES:
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_the_app_is_wired_to_postgres_redis_and_minio(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://mvfit:") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["MVFIT_STORAGE"] == "s3"
        assert "minio:9000" in env["MVFIT_S3_ENDPOINT_URL"]
        # Secrets come from the environment / .env, with no default.
        for secret in ("DJANGO_SECRET_KEY", "MVFIT_PSEUDONYM_KEY", "MVFIT_S3_SECRET_ACCESS_KEY"):
            assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[secret]), secret
        # The MinIO key must not travel in AWS_* (boto3 would then sign MTurk calls with it).
        assert "MINIO" not in env.get("AWS_ACCESS_KEY_ID", "") + env.get("AWS_SECRET_ACCESS_KEY", "")


def test_every_variable_the_app_gets_is_read_by_the_settings(compose):
    # The settings, and the web server's own (webapp/serve.py).
    settings_source = (ROOT / "webapp" / "settings.py").read_text() + (ROOT / "webapp" / "serve.py").read_text()
    boto_variables = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # read by boto3 itself
    for variable in compose["services"]["web"]["environment"]:
        assert variable in boto_variables or f'"{variable}"' in settings_source, variable


def test_dependencies_exist_and_wait_for_health(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ("createbucket", "migrate") else "service_healthy"
            )
            assert condition["condition"] == expected
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    for name in ("web", "worker", "beat"):
        assert "migrate" in services[name]["depends_on"]


def test_named_volumes_are_declared(compose):
    declared = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("$", ".", "/")):
                assert source in declared, source


def test_the_dockerfile_installs_the_pinned_requirements_and_runs_the_web_server():
    text = DOCKERFILE.read_text()
    assert text.startswith("# ") and "FROM python:3.11" in text
    assert "COPY requirements.txt" in text and "pip install -r requirements.txt" in text
    assert "download.pytorch.org/whl/cpu" in text  # torch==2.13.0 CPU wheel
    assert "USER mvfit" in text
    assert 'CMD ["python", "-m", "webapp.serve", "--bind", "0.0.0.0:8000"]' in text
