"""Settings for mvfit, read from the environment through one django-environ object.

Two shapes of deployment share this file:

* **Embedded default** (no environment at all): SQLite and local files under ``MVFIT_DATA_DIR``
  (``./data``), Celery tasks executed eagerly in the calling process, so the demo needs no Redis.
* **Production / CI / docker compose**: ``DATABASE_URL`` (PostgreSQL via psycopg 3),
  ``CELERY_BROKER_URL`` (Redis) served by separate ``celery worker`` processes, and optionally
  S3-compatible storage (``MVFIT_STORAGE=s3``).

See ``.env.example`` for every variable.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = Path(env("MVFIT_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
EMBEDDED = "DATABASE_URL" not in env


def _generated_key(name: str, *, nbytes: int) -> str:
    """A random key generated once into the data dir (embedded/debug runs only), so it survives restarts
    without a secret ever being committed or defaulted."""
    path = DATA_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def _secret_key() -> str:
    key = env("DJANGO_SECRET_KEY", default=None)
    if key:
        return key
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production settings (DATABASE_URL set, DJANGO_DEBUG off) "
            "have no default secret: export a long random DJANGO_SECRET_KEY (see .env.example)."
        )
    return _generated_key("secret_key", nbytes=50)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from this site (no CDN)
    "axes",
    "annotation",
    # recruitment, then mturk, before experiments: their templates extend the worker completion page (the
    # panel's return link, the MTurk submit form), each extending the next one of the same name.
    "recruitment",
    "mturk",
    "experiments",
    "webapp",  # the API documentation page's template and static files
    # The experimenter's workspace: staff pages over every app above (never imported by them).
    "workspace",
    # The demo sits on top of the others (demo -> experiments -> annotation, never back).
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response that has none yet (webapp/csp.py: the one policy home).
    "webapp.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Views marked @lean_request (the worker JSON API) run here; the middleware below has no work there
    # (webapp/lean.py). Everything above shapes every response.
    "webapp.lean.LeanRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout answer (webapp/auth.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'mvfit.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
# A pool of connections per process (psycopg_pool, through Django's own pooling) instead of a connection
# per thread kept for DJANGO_CONN_MAX_AGE seconds: the connections are opened ahead, reused by every
# request, and replaced in the pool's background thread after DJANGO_DB_POOL_MAX_LIFETIME seconds less a
# random 0-5 % -- so they do not all expire at the same moment and no request waits for a new
# connection (with CONN_MAX_AGE, the connections a burst opened together also expired together, and the
# requests that came then each paid a connection and the re-preparing of the hot statements: measured as
# a cluster in the human-pace tail of bench/vs_psiturk.py, docs/experiments.md "Fourth pass").
if db_pool_size := env.int("DJANGO_DB_POOL_SIZE", default=0):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DJANGO_DB_POOL_SIZE needs PostgreSQL (DATABASE_URL=postgres://...).")
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "Set DJANGO_DB_POOL_SIZE or DJANGO_CONN_MAX_AGE, not both: pooled connections are already kept open."
        )
    if db_pool_size < 1 or db_pool_size > 100:
        raise ImproperlyConfigured(f"DJANGO_DB_POOL_SIZE must be 1-100 connections per process, not {db_pool_size}.")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": db_pool_size,
        "max_size": db_pool_size,
        "max_lifetime": env.float("DJANGO_DB_POOL_MAX_LIFETIME", default=3600.0),
        "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=10.0),  # a request waiting for a free connection
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process and a render run share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
if test_db_name := env("MVFIT_TEST_DATABASE_NAME", default=None):
    DATABASES["default"]["TEST"] = {"NAME": test_db_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- staff login rate limiting (django-axes; webapp/auth.py) -----------------------------------
AUTHENTICATION_BACKENDS = ["webapp.auth.LoginRateLimitBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # per (user name, client address)
AXES_FAILURE_LIMIT = env.int("MVFIT_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MVFIT_LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "webapp.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "webapp.auth.client_ip"
AXES_VERBOSE = False  # no banner on every process start; failures are still logged
# Reverse proxies in front of gunicorn that append the client address to X-Forwarded-For (nginx:
# $proxy_add_x_forwarded_for). 0: X-Forwarded-For is ignored (a client could forge it).
MVFIT_TRUSTED_PROXY_COUNT = env.int("MVFIT_TRUSTED_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("MVFIT_STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

# --- storage -------------------------------------------------------------------------------
MEDIA_ROOT = Path(env("MVFIT_MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STORAGE_BACKEND = env("MVFIT_STORAGE", default="local")
if STORAGE_BACKEND == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
elif STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("MVFIT_S3_BUCKET"),
            "endpoint_url": env("MVFIT_S3_ENDPOINT_URL", default=None),
            "region_name": env("MVFIT_S3_REGION", default=None),
            "location": env("MVFIT_S3_PREFIX", default="media"),
            # The media store's own credentials, kept apart from the AWS_* chain so that a MinIO key
            # can never be mistaken for the MTurk requester account (both are read by boto3). Unset:
            # django-storages falls back to the standard AWS chain (e.g. an instance role on AWS S3).
            "access_key": env("MVFIT_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("MVFIT_S3_SECRET_ACCESS_KEY", default=None),
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            # MinIO and other S3-compatible stores usually want path-style URLs and SigV4.
            "addressing_style": env("MVFIT_S3_ADDRESSING_STYLE", default=None),
            "signature_version": env("MVFIT_S3_SIGNATURE_VERSION", default="s3v4"),
        },
    }
else:
    raise ImproperlyConfigured(f"MVFIT_STORAGE must be 'local' or 's3', not {STORAGE_BACKEND!r}.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- media processing ----------------------------------------------------------------------
# ffmpeg defaults to the static binary shipped by imageio-ffmpeg, so no system package is needed.
FFMPEG_BINARY = env("MVFIT_FFMPEG", default=None)
MVFIT_SHARED_MEDIA_DIR = Path(env("MVFIT_SHARED_MEDIA_DIR", default=str(BASE_DIR.parent / "shared" / "media")))
# Prepared excerpts share one format so any clip can be muxed with any excerpt by stream copy.
MVFIT_RENDER_SIZE = env("MVFIT_RENDER_SIZE", default="1280x720")
MVFIT_RENDER_FPS = env.int("MVFIT_RENDER_FPS", default=25)
MVFIT_RENDER_CRF = env.int("MVFIT_RENDER_CRF", default=23)
MVFIT_RENDER_PRESET = env("MVFIT_RENDER_PRESET", default="veryfast")
MVFIT_LOUDNESS_TARGET_LUFS = env.float("MVFIT_LOUDNESS_TARGET_LUFS", default=-23.0)
# Pairings of one clip rendered by one task (one ffmpeg process muxes them all).
MVFIT_RENDER_BATCH_SIZE = env.int("MVFIT_RENDER_BATCH_SIZE", default=32)
MVFIT_MIN_MEDIA_DURATION_S = env.float("MVFIT_MIN_MEDIA_DURATION_S", default=1.0)
# Server-side folders imports may read (annotation/import_roots.py). The import API reads only these;
# import_media may also read the folder or manifest folder it is given and its --allow-root folders.
MVFIT_IMPORT_ROOTS = [
    Path(p).resolve()
    for p in env.list("MVFIT_IMPORT_ROOTS", default=[str(MVFIT_SHARED_MEDIA_DIR), str(DATA_DIR / "imports")])
]
# Limits on every imported file, checked before any decode (uploads: the body, before it is read).
MVFIT_MAX_UPLOAD_MB = env.int("MVFIT_MAX_UPLOAD_MB", default=2048)
MVFIT_MAX_MEDIA_DURATION_S = env.float("MVFIT_MAX_MEDIA_DURATION_S", default=900.0)  # 0: no limit
MVFIT_MAX_VIDEO_SIZE = env("MVFIT_MAX_VIDEO_SIZE", default="1920x1080")  # either orientation; empty: no limit

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=None)
# No broker configured -> embedded mode: run tasks eagerly in the calling process (the demo's
# `render` command then renders synchronously with a progress bar). With a broker, tasks go to
# separate worker processes.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL is None)
if CELERY_BROKER_URL is None and CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks never touch a broker, but kombu still builds a producer and warns about a missing
    # host; the in-memory transport keeps the embedded demo's output clean.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="mvfit")
# Late acknowledgement + reject on worker loss: a worker killed mid-task leaves the message
# unacknowledged, so the broker redelivers it and another worker finishes the job.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How a render stuck in `rendering` by a killed worker recovers (docs/library.md, "Killed workers"):
# * A reaper (Celery beat, every MVFIT_RENDER_REAP_EVERY_S) re-queues clips, excerpts and pairings whose
#   heartbeat is older than MVFIT_RENDER_STALE_AFTER_S; a running render refreshes its rows' heartbeat every
#   MVFIT_RENDER_HEARTBEAT_S from a thread of the worker process, so only a dead worker's rows go stale.
#   Recovery takes at most stale + reap period (90 s by default), whatever the visibility timeout.
# * Render tasks have soft and hard time limits, and the hard one must stay below the broker's visibility
#   timeout: a message is then never redelivered while its first run is still alive, so the late-ack
#   redelivery (an hour later by default) finds the work done and does nothing.
# The visibility timeout stays long because it applies to every task on the broker, and import batches or
# MTurk syncs may legitimately run for many minutes; a short one would run them twice at once.
MVFIT_RENDER_HEARTBEAT_S = env.int("MVFIT_RENDER_HEARTBEAT_S", default=15)
MVFIT_RENDER_STALE_AFTER_S = env.int("MVFIT_RENDER_STALE_AFTER_S", default=60)
MVFIT_RENDER_REAP_EVERY_S = env.int("MVFIT_RENDER_REAP_EVERY_S", default=30)
# A row started this many times without finishing (its worker lost every time) is marked failed.
MVFIT_RENDER_MAX_ATTEMPTS = env.int("MVFIT_RENDER_MAX_ATTEMPTS", default=10)
MVFIT_RENDER_SOFT_TIME_LIMIT_S = env.int("MVFIT_RENDER_SOFT_TIME_LIMIT_S", default=1200)
MVFIT_RENDER_TIME_LIMIT_S = MVFIT_RENDER_SOFT_TIME_LIMIT_S + 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker sweeps for unacknowledged messages older than the visibility timeout (those of
    # killed workers): every interval x throttle seconds. Kombu's defaults (10 x 10) suit production.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
if not 0 < 2 * MVFIT_RENDER_HEARTBEAT_S <= MVFIT_RENDER_STALE_AFTER_S:
    raise ImproperlyConfigured(
        "MVFIT_RENDER_STALE_AFTER_S must be at least twice MVFIT_RENDER_HEARTBEAT_S (and both positive), or "
        "live renders would be re-queued."
    )
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= MVFIT_RENDER_TIME_LIMIT_S:
    raise ImproperlyConfigured(
        f"MVFIT_RENDER_SOFT_TIME_LIMIT_S + 60 s ({MVFIT_RENDER_TIME_LIMIT_S}) must stay below CELERY_VISIBILITY_TIMEOUT "
        f"({CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']}), or a slow render could be redelivered while running."
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["annotation-requeue-stale-renders"] = {
    "task": "annotation.periodic.requeue_stale_renders_task",
    "schedule": MVFIT_RENDER_REAP_EVERY_S,
}
CELERY_BEAT_SCHEDULE["experiments-release-abandoned"] = {
    "task": "experiments.tasks.release_abandoned_assignments",
    "schedule": env.int("MVFIT_RELEASE_ABANDONED_EVERY_S", default=60),
}

# --- Mechanical Turk ------------------------------------------------------------------------
# Credentials come only from the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE),
# never from settings. MTURK_AWS_PROFILE optionally names a profile (not a secret) for the MTurk account.
MTURK_AWS_PROFILE = env("MTURK_AWS_PROFILE", default=None)
MTURK_MAX_RETRIES = env.int("MTURK_MAX_RETRIES", default=8)
# The public origin workers reach this site at; HITs frame <this>/mturk/e/<experiment slug>/ (HTTPS for live).
MTURK_PUBLIC_BASE_URL = env("MTURK_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Hosts the completion form may post to (MTurk's turkSubmitTo); tests add their local capture server.
MTURK_SUBMIT_HOSTS = env.list(
    "MTURK_SUBMIT_HOSTS", default=["https://www.mturk.com", "https://workersandbox.mturk.com"]
)
CELERY_BEAT_SCHEDULE["mturk-sync"] = {
    "task": "mturk.tasks.sync_published_batches",
    "schedule": env.int("MTURK_SYNC_INTERVAL_S", default=600),
}

# Where a Prolific participant returns to (with ?cc=<completion code>): Prolific's documented completion URL.
PROLIFIC_COMPLETION_URL = env("PROLIFIC_COMPLETION_URL", default="https://app.prolific.com/submissions/complete")
# Fair pay (docs/recruitment.md): the hourly floor the effective rate is checked against, and whether a rate
# below it blocks publishing (else it warns).
MVFIT_PAY_FLOOR_CENTS_PER_HOUR = env.int("MVFIT_PAY_FLOOR_CENTS_PER_HOUR", default=1200)
MVFIT_PAY_FLOOR_BLOCKS = env.bool("MVFIT_PAY_FLOOR_BLOCKS", default=False)
# Prolific's service fee on rewards, for the spending-cap check before publishing (their published rate).
PROLIFIC_FEE_RATE = env.float("PROLIFIC_FEE_RATE", default=0.333)
# The channels that pay and message workers from the platform (experiments.recruiters), by dotted path.
MVFIT_RECRUITERS = ["mturk.recruiter.MTurkRecruiter", "recruitment.recruiter.ProlificRecruiter"]

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "webapp.auth.BasicAuthentication",  # DRF's, rate limited like the admin login
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# OpenAPI 3 schema of the experimenter API (drf-spectacular): /api/schema/ (YAML or ?format=json), browsable at
# /api/docs/ (Swagger UI from drf-spectacular-sidecar's static files). Staff only, like the API itself.
SPECTACULAR_SETTINGS = {
    "TITLE": "mvfit experimenter API",
    "DESCRIPTION": (
        "Experiments, the media library, and Mechanical Turk batches and review. Authenticate with a staff "
        "session or HTTP Basic. The worker-facing JSON endpoints under /w/ are not part of this API "
        "(docs/experiments.md documents them)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "kind": name them instead of hashing them.
    "ENUM_NAME_OVERRIDES": {
        "ExperimentKindEnum": "experiments.models.experiment.ExperimentKind",
        "MediaKindEnum": "annotation.api.KIND_CHOICES",
    },
}

# Every handler redacts worker tokens and MTurk worker/assignment ids (webapp/redact.py); Django's own
# handlers (runserver's request log, error e-mails) are redefined here so that they do too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "webapp.redact.RedactingFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact"]},
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env("MVFIT_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},  # and the root console, filtered
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
DEFAULT_EXCEPTION_REPORTER = "webapp.redact.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "webapp.redact.RedactingExceptionReporterFilter"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/home/"

# --- experiments ---------------------------------------------------------------------------


def _pseudonym_key() -> str | None:
    """HMAC key that pseudonymises worker ids in exports. Like the secret key: no default in production
    (exports then refuse to run, see experiments.services.pseudonyms), generated once into the data dir
    for embedded/debug runs."""
    key = env("MVFIT_PSEUDONYM_KEY", default=None)
    if key:
        return key
    if not (DEBUG or EMBEDDED):
        return None
    return _generated_key("pseudonym_key", nbytes=32)


MVFIT_PSEUDONYM_KEY = _pseudonym_key()
# Strict CSP for every page (webapp/csp.py derives the worker, MTurk-completion and S3-media variants from it):
# only this site's static scripts and styles, nothing inline, no plugins, no <base>, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Worker pages run inside MTurk's ExternalQuestion iframe; everything else keeps X-Frame-Options DENY.
MVFIT_WORKER_FRAME_ANCESTORS = env(
    "MVFIT_WORKER_FRAME_ANCESTORS", default="'self' https://www.mturk.com https://workersandbox.mturk.com"
)
# Lifetime of a signed media URL handed to a worker (the page fetches fresh ones on every trial).
MVFIT_MEDIA_URL_MAX_AGE_S = env.int("MVFIT_MEDIA_URL_MAX_AGE_S", default=6 * 3600)
# Sound-check attempts before a worker is screened out (a blind guesser passes 3 attempts 11.5 % of the time).
MVFIT_SOUND_CHECK_ATTEMPTS = env.int("MVFIT_SOUND_CHECK_ATTEMPTS", default=3)
# After this many playback errors on one trial the worker may skip it ("this clip won't play"); the skip is
# stored, not counted as a judgment, and the trial is re-offered to others. 0 turns skipping off.
MVFIT_SKIP_AFTER_FAILURES = env.int("MVFIT_SKIP_AFTER_FAILURES", default=2)

if not DEBUG and not EMBEDDED:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
