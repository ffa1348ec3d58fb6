import pytest

from . import stubs


@pytest.fixture(autouse=True)
def _dummy_aws_credentials(monkeypatch):
    """Real boto3 clients need credentials to sign requests; these never leave the machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_MTURK", "MTURK_AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def mturk_stub(settings):
    """Stubbed real clients for open_mturk(); fails the test if an expected call was not made."""
    registry = stubs.StubRegistry()
    settings.MTURK_CLIENT_FACTORY = "tests.mturk.stubs.registered_client"
    stubs.activate(registry)
    try:
        yield registry
        registry.close(check=True)
    finally:
        stubs.activate(None)
