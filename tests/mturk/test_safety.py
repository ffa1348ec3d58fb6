"""Sandbox/live guards that need no network."""

import pytest

from mturk.modes import Mode
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL, check_task_url, require_live_confirmation


@pytest.mark.parametrize(
    "url",
    [
        "http://mvfit.example.org/task",
        "https://localhost/task",
        "https://LOCALHOST:8443/task",
        "https://127.0.0.1:8000/task",
        "https://[::1]/task",
        "https://10.0.0.8/task",
        "https://172.16.4.4/task",
        "https://192.168.1.10/task",
        "https://169.254.1.1/task",
        "https://devbox/task",
        "https://mvfit.local/task",
        "https://app.localhost/task",
        "ftp://mvfit.example.org/task",
        "/relative/task",
    ],
)
def test_live_refuses_urls_workers_cannot_load(url):
    with pytest.raises(UnsafeTaskURL):
        check_task_url(url, mode=Mode.LIVE)


@pytest.mark.parametrize("url", ["https://mvfit.example.org/mturk/e/1/", "https://93.184.216.34/task"])
def test_live_accepts_public_https(url):
    check_task_url(url, mode=Mode.LIVE)


def test_sandbox_allows_a_development_server():
    check_task_url("http://127.0.0.1:8000/mturk/e/1/", mode=Mode.SANDBOX)
    with pytest.raises(UnsafeTaskURL):
        check_task_url("not a url", mode=Mode.SANDBOX)


def test_live_needs_confirmation_sandbox_does_not():
    require_live_confirmation(Mode.SANDBOX, confirm_live=False)
    require_live_confirmation(Mode.LIVE, confirm_live=True)
    with pytest.raises(LiveModeNotConfirmed, match="sandbox first"):
        require_live_confirmation(Mode.LIVE, confirm_live=False)
