"""gunicorn settings for mvfit: the alternative web server (the default is granian, ``python -m webapp.serve``).

Threaded workers (gthread) keep the idle keep-alive connections of hundreds of crowd workers'
browsers without a process each. One process per core with four threads each measured best on
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
    """Warm a new worker before it takes requests (``webapp.wsgi.warm_up``)."""
    from webapp.wsgi import warm_up

    warm_up(worker.wsgi)
