import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
# get_wsgi_application() sets Django up; the worker API then gets its shorter middleware chain.
_django = get_wsgi_application()

from webapp.handlers import build_application  # noqa: E402  (needs the configured settings)

application = build_application(_django)
