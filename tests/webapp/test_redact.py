"""Finding 11: worker tokens and MTurk worker/assignment ids never reach a log line or an error report —
gunicorn's access and error logs (a real gunicorn), Django's request warnings, runserver's log, error e-mails."""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class, get_exception_reporter_filter

from tests.support.celery_worker import database_url_for_current_connection
from webapp.redact import REDACTED, RedactingFilter, redact

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SESSIONSECRET", "INVITESECRET", "MEDIASECRET", "WORKERSECRET", "ASSIGNSECRET", "REFSECRET")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /w/s/abc_DEF-12/api/trials/3 HTTP/1.1", "GET /w/s/[redacted]/api/trials/3 HTTP/1.1"),
        ("Not Found: /w/s/abc/", "Not Found: /w/s/[redacted]/"),
        ("/w/s/abc", "/w/s/[redacted]"),
        ("/w/invite/gAAAAABk-x_y==/", "/w/invite/[redacted]/"),
        ("/w/i/gAAAAABk/", "/w/i/[redacted]/"),
        ("/w/m/gAAAAB%3D%3D?x=1", "/w/m/[redacted]?x=1"),
        ("GET /w/a/gAAAAABsound HTTP/1.1", "GET /w/a/[redacted] HTTP/1.1"),
        ("http://host/W/S/tok/consent", "http://host/W/S/[redacted]/consent"),
        ("next=%2Fw%2Fs%2Ftok%2Fapi", "next=%2Fw%2Fs%2F[redacted]%2Fapi"),
        (
            "/mturk/e/x/?workerId=A1B&assignmentId=3X&hitId=H&turkSubmitTo=https://www.mturk.com",
            "/mturk/e/x/?workerId=[redacted]&assignmentId=[redacted]&hitId=H&turkSubmitTo=https://www.mturk.com",
        ),
        ("a=1&workerid=abc;b", "a=1&workerid=[redacted];b"),
        ("workerId%3DA1B", "workerId%3D[redacted]"),
        # Not secrets: staff pages, the MTurk entry's slug, static files, ids elsewhere.
        ("/w/mturk/fit-demo/", "/w/mturk/fit-demo/"),
        ("/api/experiments/3/ /static/w/s.css", "/api/experiments/3/ /static/w/s.css"),
        ("hitId=H1 experimentId=4", "hitId=H1 experimentId=4"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


@contextlib.contextmanager
def handler_output(logger_name: str):
    """What the configured handlers of ``logger_name`` (which must redact) write, as text."""
    logger = logging.getLogger(logger_name)
    handlers = [h for h in logger.handlers if any(isinstance(f, RedactingFilter) for f in h.filters)]
    assert handlers, f"no redacting handler on logger {logger_name!r}"
    out = io.StringIO()
    previous = [h.setStream(out) for h in handlers]
    try:
        yield out
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


@pytest.mark.django_db
def test_django_request_warnings_carry_no_worker_token(client):
    with handler_output("") as out:  # the root logger's console handler
        assert client.get("/w/s/SESSIONSECRET/api/trials/0").status_code == 404
        assert client.get("/w/s/SESSIONSECRET/consent").status_code in (404, 405)
        assert client.get("/w/m/MEDIASECRET").status_code == 404
    text = out.getvalue()
    assert "Not Found: /w/s/[redacted]/api/trials/0" in text
    assert "SECRET" not in text


def test_runserver_request_log_carries_no_worker_token():
    with handler_output("django.server") as out:
        logging.getLogger("django.server").info(
            '"%s" %s %s', "GET /mturk/e/x/?workerId=WORKERSECRET&assignmentId=ASSIGNSECRET HTTP/1.1", 200, 10
        )
    assert "workerId=[redacted]&assignmentId=[redacted]" in out.getvalue() and "SECRET" not in out.getvalue()


def _failing_view(request, token):
    signed = token.lower()  # noqa: F841  (a local a real view could hold)
    raise RuntimeError(f"boom at {request.path}")


def test_error_reports_carry_no_worker_token(settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    request = RequestFactory().get(
        "/w/s/SESSIONSECRET/api/answers?workerId=WORKERSECRET", HTTP_REFERER="https://x/w/s/REFSECRET/"
    )
    token = request.path.split("/")[3]  # not spelled out here: the report quotes this file's source lines
    try:
        _failing_view(request, token)
    except RuntimeError:
        exc_info = sys.exc_info()
    reporter = get_exception_reporter_class(request)(request, *exc_info)
    assert type(get_exception_reporter_filter(request)).__name__ == "RedactingExceptionReporterFilter"
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert REDACTED in report and "boom at /w/s/[redacted]/api/answers" in report
        assert not [s for s in SECRETS if s in report.upper()]

    logging.getLogger("django.request").error(
        "Internal Server Error: %s", request.path, exc_info=exc_info, extra={"status_code": 500, "request": request}
    )
    [email] = mail.outbox
    assert "/w/s/[redacted]/" in email.subject and REDACTED in email.body
    assert not [s for s in SECRETS if s in (email.subject + email.body).upper()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REQUESTS = [
    ("/w/s/SESSIONSECRET/", {}),
    ("/w/s/SESSIONSECRET/api/trials/0", {}),  # the lean worker-API handler
    ("/w/invite/INVITESECRET/", {}),
    ("/w/m/MEDIASECRET", {"Referer": "https://example.org/w/s/REFSECRET/"}),
    ("/mturk/e/no-such-study/?workerId=WORKERSECRET&assignmentId=ASSIGNSECRET&hitId=H", {}),
]


def _serve_and_request(command, *, env, port, log):
    """Start a real server, send REQUESTS once it listens, stop it; the statuses."""
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        statuses = []
        for path, headers in REQUESTS:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers=headers)
            statuses.append(conn.getresponse().status)
            conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return statuses


@pytest.mark.django_db
def test_a_real_gunicorn_logs_no_worker_token(tmp_path):
    port, access, errors = _free_port(), tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "DATABASE_URL": database_url_for_current_connection(), "PYTHONPATH": str(ROOT)}
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    command = [sys.executable, "-m", "gunicorn", "webapp.wsgi:application", "-c", "webapp/gunicorn.conf.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
    command += ["--access-logfile", str(access), "--error-logfile", str(errors)]
    statuses = _serve_and_request(command, env=env, port=port, log=tmp_path / "stderr.log")
    assert statuses == [404, 404, 403, 404, 404]
    access_log = access.read_text()
    logs = access_log + errors.read_text() + (tmp_path / "stderr.log").read_text()
    assert access_log.count("/w/s/[redacted]/") == 3 and "workerId=[redacted]&assignmentId=[redacted]" in access_log
    assert "Not Found: /w/s/[redacted]/" in logs  # Django's warning, from the worker process
    assert not [s for s in SECRETS if s in logs]


@pytest.mark.django_db
def test_the_production_server_granian_logs_no_worker_token(tmp_path):
    """``python -m webapp.serve`` (granian) with its access log on: every line redacted, as gunicorn's."""
    port, log = _free_port(), tmp_path / "granian.log"
    env = {**os.environ, "DATABASE_URL": database_url_for_current_connection(), "PYTHONPATH": str(ROOT)}
    env |= {"MVFIT_ACCESS_LOG": "1", "MVFIT_WEB_WORKERS": "1", "MVFIT_WEB_THREADS": "2"}
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    command = [sys.executable, "-m", "webapp.serve", "--bind", f"127.0.0.1:{port}"]
    statuses = _serve_and_request(command, env=env, port=port, log=log)
    assert statuses == [404, 404, 403, 404, 404]
    logs = log.read_text()
    access_lines = [line for line in logs.splitlines() if '"GET ' in line]
    assert len(access_lines) == len(REQUESTS), logs
    assert sum("/w/s/[redacted]/" in line for line in access_lines) == 3  # the referrer's too
    assert "workerId=[redacted]&assignmentId=[redacted]" in logs
    assert "Not Found: /w/s/[redacted]/" in logs  # Django's warning, from the worker process
    assert not [s for s in SECRETS if s in logs]
