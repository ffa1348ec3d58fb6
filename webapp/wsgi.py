import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
# The worker API's shorter middleware chain is part of settings.MIDDLEWARE (webapp/lean.py).
application = get_wsgi_application()
