"""``python -m webapp.serve``: the production server's settings come from the environment, with clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.celery_worker import database_url_for_current_connection
from webapp import serve

ROOT = Path(__file__).resolve().parents[2]


def test_the_defaults_are_the_measured_ones():
    settings = serve.settings_from_env({})
    assert settings == {"workers": os.cpu_count() or 1, "blocking_threads": 4, "backlog": 2048, "log_access": False}


def test_the_environment_overrides_them():
    env = {"MVFIT_WEB_WORKERS": "3", "MVFIT_WEB_THREADS": " 2 ", "MVFIT_WEB_BACKLOG": "128", "MVFIT_ACCESS_LOG": "1"}
    assert serve.settings_from_env(env) == {"workers": 3, "blocking_threads": 2, "backlog": 128, "log_access": True}


@pytest.mark.parametrize("value", ["0", "-2", "four", "2.5"])
def test_a_bad_number_is_refused_by_name(value):
    with pytest.raises(SystemExit, match=rf"MVFIT_WEB_THREADS must be a positive whole number, not '{value}'"):
        serve.settings_from_env({"MVFIT_WEB_THREADS": value})


@pytest.mark.parametrize("bind", ["8000", "localhost", "0.0.0.0:http"])
def test_a_bad_bind_address_is_refused(bind, capsys):
    with pytest.raises(SystemExit):
        serve.main(["--bind", bind])
    assert "--bind must be HOST:PORT" in capsys.readouterr().err


def test_the_access_log_goes_through_the_redacting_filter():
    config = serve.logging_config()
    for handler in ("console", "access"):
        assert config["handlers"][handler]["filters"] == ["redact"]
    assert config["filters"]["redact"]["()"] == "webapp.redact.RedactingFilter"
    assert config["loggers"]["granian.access"]["handlers"] == ["access"]


def _read_response(connection: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (headers, then Content-Length bytes of body), however it is split
    into packets."""
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = connection.recv(4096)
        if not chunk:
            return reply
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = connection.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.django_db
def test_granian_hands_an_upload_to_the_app_before_its_body_arrives(tmp_path):
    """The upload limit refuses a body declared too large without reading it (``annotation/uploads.py``):
    true only if the server calls the app before the body is in. A real ``python -m webapp.serve`` answers
    413 to a declared 50 GB upload while only 1 KB of it has been sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url_for_current_connection(), "PYTHONPATH": str(ROOT)}
    env |= {"MVFIT_WEB_WORKERS": "1", "MVFIT_WEB_THREADS": "1"}
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    log = tmp_path / "granian.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "webapp.serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        with connection:
            connection.settimeout(30)
            head = (
                "POST /api/library/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {50 * 1024**3}\r\n\r\n"
            )
            connection.sendall(head.encode() + b"x" * 1024)
            reply = _read_response(connection)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert b"upload limit" in reply


def test_a_web_process_starts_without_the_analysis_stack():
    """A web worker imports the app and serves its warm-up request without pandas, matplotlib, seaborn or
    scipy (the report's stylesheet hash and the demo's montage scorer used to pull them in: about two
    seconds of CPU per process at every start, while a burst of joins was waiting)."""
    code = (
        "import sys, webapp.wsgi; webapp.wsgi.warm_up(); "
        "print(sorted({'pandas', 'matplotlib', 'seaborn', 'scipy', 'torch'} & set(sys.modules)))"
    )
    env = {**os.environ, "DATABASE_URL": database_url_for_current_connection(), "PYTHONPATH": str(ROOT)}
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
