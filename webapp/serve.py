"""The production web server: granian (a Rust HTTP/1.1 server) running the WSGI app, as measured.

    python -m webapp.serve                      # 127.0.0.1:8000
    python -m webapp.serve --bind 0.0.0.0:8000  # docker compose

Why granian: on the 2-core reference machine, against gunicorn's gthread workers with the same
processes and threads, it stored 1.5x the answers per second flat out with a third of the answer p99
(``bench/vs_psiturk.py --server``; the numbers are in docs/experiments.md, "Server model"): HTTP
parsing and connection handling run in Rust, outside the GIL, and requests are served in arrival
order. gunicorn stays available (``webapp/gunicorn.conf.py``) and passes the same tests.

Settings (environment): ``MVFIT_WEB_WORKERS`` processes (default: one per core), ``MVFIT_WEB_THREADS``
Python threads per process running the app (default 4), ``MVFIT_WEB_BACKLOG`` (2048),
``MVFIT_ACCESS_LOG=1`` for an access log on stdout -- through ``settings.LOGGING``'s redacting filter,
so worker tokens and MTurk ids never reach it (``webapp/redact.py``). A crashed worker process is
replaced; SIGHUP replaces the workers one by one (a reload), SIGTERM stops after the requests in flight.
The target, ``webapp.serve:warmed_application``, is a factory granian calls in each worker process: the
WSGI app, warmed up before the process takes requests (``webapp.wsgi.warm_up``).
"""

from __future__ import annotations

import argparse
import os

TARGET = "webapp.serve:warmed_application"
# Like gunicorn's default: the request line with its query string, and the referrer (both redacted).
ACCESS_LOG_FORMAT = (
    '%(addr)s - [%(time)s] "%(method)s %(path)s?%(query_string)s %(protocol)s" %(status)d %(dt_ms).1f ms '
    '"%(header{referer})s" "%(header{user-agent})s"'
)


def settings_from_env(environ=os.environ) -> dict:
    """granian's arguments from the environment; a clear error for a value that is not a positive integer."""

    def positive(name: str, default: int) -> int:
        raw = environ.get(name, "")
        if not raw.strip():
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SystemExit(f"{name} must be a positive whole number, not {raw!r}.") from None
        if value < 1:
            raise SystemExit(f"{name} must be a positive whole number, not {raw!r}.")
        return value

    return {
        "workers": positive("MVFIT_WEB_WORKERS", os.cpu_count() or 1),
        "blocking_threads": positive("MVFIT_WEB_THREADS", 4),
        "backlog": positive("MVFIT_WEB_BACKLOG", 2048),
        "log_access": environ.get("MVFIT_ACCESS_LOG", "") in {"1", "true", "yes", "on"},
    }


def logging_config() -> dict:
    """granian's own loggers (its errors, the access log) through the same redacting filter as Django's."""
    redact = {"()": "webapp.redact.RedactingFilter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": redact},
        "formatters": {
            "generic": {"format": "[%(asctime)s] %(levelname)s %(name)s: %(message)s"},
            "access": {"format": "%(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "generic", "filters": ["redact"]},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
                "filters": ["redact"],
            },
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve mvfit with granian (WSGI).")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--bind must be HOST:PORT, not {args.bind!r}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    Granian(
        TARGET,
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        websockets=False,
        respawn_failed_workers=True,
        workers_kill_timeout=10,
        factory=True,
        log_dictconfig=logging_config(),
        log_access_format=ACCESS_LOG_FORMAT,
        **settings_from_env(),
    ).serve()


def warmed_application():
    """granian's target (a factory, called in each worker process): the WSGI app, warmed up."""
    from webapp.wsgi import application, warm_up

    warm_up(application)
    return application


if __name__ == "__main__":
    main()
