"""gunicorn settings for mvfit (docker compose and bench/load.py use this file).

Threaded workers (gthread) keep the idle keep-alive connections of hundreds of crowd workers'
browsers without a process each. Two processes per core with four threads each measured best on
the 2-core reference machine (``bench/load.py --gunicorn-workers/--gunicorn-threads`` compares
others). Override with GUNICORN_WORKERS / GUNICORN_THREADS.
"""

import multiprocessing
import os

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = 30  # seconds an idle browser connection stays open (trial pages poll every few seconds)
backlog = 2048
timeout = 120  # media range requests from slow connections
graceful_timeout = 10
# Access and error logs with worker tokens and MTurk worker/assignment ids redacted (webapp/redact.py).
logger_class = "webapp.redact.GunicornLogger"


def post_worker_init(worker) -> None:
    """Warm a new worker before it takes requests: its first request would otherwise import every view
    module (Django loads the URLconf lazily), build the middleware chain's lazy parts and the hot paths'
    statements -- about 0.7 s of CPU measured on the 2-core machine, paid by whatever burst of joins
    hits a freshly (re)started worker. One ``/healthz`` request through the WSGI app does all of it; its
    database connection, opened in this thread (not a request thread), is closed again."""
    from django.db import connections
    from django.test import RequestFactory

    environ = RequestFactory(SERVER_NAME="127.0.0.1").get("/healthz").environ
    try:
        worker.wsgi(environ, lambda status, headers, exc_info=None: None)
    finally:
        connections.close_all()
