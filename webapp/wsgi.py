"""The WSGI application, and the warm-up every server process runs before it takes requests."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
# The worker API's shorter middleware chain is part of settings.MIDDLEWARE (webapp/lean.py).
application = get_wsgi_application()


def warm_up(app=application) -> None:
    """Send one ``/healthz`` through ``app`` before the process takes requests.

    Its first request would otherwise import every view module (Django loads the URLconf lazily),
    build the middleware chain's lazy parts and the hot paths' statements -- about 0.7 s of CPU measured
    on the 2-core machine, paid by whatever burst of joins hits a freshly (re)started process. Then each
    connection of the process's database pool runs the worker API's statements once
    (``webapp.db.warm_pool``). The database connection it opens (in this thread, not a request thread)
    is closed again.
    """
    from django.db import connections
    from django.test import RequestFactory

    from webapp.db import warm_pool

    environ = RequestFactory(SERVER_NAME="127.0.0.1").get("/healthz").environ
    try:
        app(environ, lambda status, headers, exc_info=None: None)
        # Every pooled connection: the worker API's statements prepared, their tables' catalog entries loaded.
        warm_pool()
    finally:
        connections.close_all()
    # What is alive now (modules, settings, the URLconf, templates, the app) lives as long as the process.
    # Frozen, the cyclic garbage collector no longer walks it: a full collection went from 105 ms (about
    # 280,000 objects, every request thread stopped meanwhile) to well under a millisecond, measured on
    # the 2-core machine. Only what requests allocate afterwards is collected, as before.
    gc.collect()
    gc.freeze()
