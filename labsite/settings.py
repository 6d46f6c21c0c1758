"""
Settings for labsite, read from the environment (12-factor).

Every setting that differs between a developer's laptop and production comes
from an environment variable, with a default that is safe for development:

    DEBUG           "1"/"true" turns debug on (default on, for `make run`)
    SECRET_KEY      required when DEBUG is off
    ALLOWED_HOSTS   comma-separated host names (default: localhost names)
    DATABASE_URL    e.g. postgres://user@host:5432/labsite (default: SQLite file)
    REDIS_URL       e.g. redis://127.0.0.1:6379/0 (default: local-memory cache)
"""

import datetime
import os
from pathlib import Path

import dj_database_url
import orjson
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a fixed key is fine for a laptop, never for production.
    SECRET_KEY = "django-insecure-development-key-not-for-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_countries",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",  # API tokens for programs (see profiles/api)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",  # editors' CSV and XLSX import and export in the admin (imports/resources.py)
    "profiles",
    "imports",
    "django_tasks",
    "django_tasks_db",
]

# django-import-export: Editors and Publishers import (the model's change permission) and
# export (its view permission); each row is checked as the admin checks a save.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the signed-in user on every history entry.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "labsite.urls"

# The public pages are Jinja2 (jinja2/, labsite/jinja2.py): several times faster to render
# than Django's engine (docs/performance.md). The admin, the API's pages and the e-mails stay
# on Django templates (templates/). Jinja2 is asked first; a name it lacks goes to Django's.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "labsite.jinja2.environment",
        },
    },
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

WSGI_APPLICATION = "labsite.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
}

# Read replicas (optional): DATABASE_REPLICA_URLS="postgres://…/a,postgres://…/b" adds
# "replica1", "replica2", …; labsite.db_routers sends reads there and writes to "default",
# and pins a client to "default" for REPLICA_PIN_SECONDS after it writes.
DATABASE_REPLICAS = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    _alias = f"replica{_number}"
    DATABASES[_alias] = dj_database_url.parse(
        _url,
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
    # A replica holds the primary's data: tests use the primary's test database for it.
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["labsite.db_routers.PrimaryReplicaRouter"] if DATABASE_REPLICAS else []
REPLICA_PIN_SECONDS = int(os.environ.get("REPLICA_PIN_SECONDS", "5"))

# PostgreSQL: parameters are bound by psycopg on the client (Django's default), so nothing
# is prepared on the server. Prepared statements (server_side_binding with a
# prepare_threshold) made a lab page 3-5 ms faster through generic plans, but PostgreSQL
# keeps a generic plan after five runs of a statement on a connection, and for a filtered
# list that plan sorts every matching release before the page's LIMIT: the API's whole
# date range 17 -> 190-250 ms, a broad ?search= 14 -> 230-280 ms (docs/performance.md).

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, but a Redis outage is logged and read as a cache miss.
            "BACKEND": "labsite.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": float(os.environ.get("REDIS_TIMEOUT", "0.5")),
                "socket_timeout": float(os.environ.get("REDIS_TIMEOUT", "0.5")),
            },
        }
    }
elif DEBUG:
    # runserver is one process, so its memory is shared by every request.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # gunicorn runs several processes, and they must agree on the content generation
    # (profiles/caching.py) or one would serve pages another has retired: without
    # Redis they share a directory (one machine only; several need REDIS_URL). It holds
    # diskcache's SQLite files rather than Django's FileBasedCache, whose every write
    # renames a file and lists the whole directory (0.4 ms, and 10 ms once it holds
    # 5,000 pages), and the API's throttle writes on every request (bench/).
    CACHES = {
        "default": {
            "BACKEND": "labsite.cache.SharedDiskCache",
            "LOCATION": os.environ.get("CACHE_DIR", str(BASE_DIR / "var" / "cache")),
            # A read waits up to 0.1 s for another worker's write (diskcache's default, 10 ms,
            # reads a busy moment as a miss). Past 1 GiB (128 MiB in each of its eight
            # shards) the least recently stored entries go; were that the content
            # generation, every kept page would be retired: a flush, never a stale page.
            "DATABASE_TIMEOUT": 0.1,
            "OPTIONS": {"size_limit": 2**30},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Whole public pages are cached this many seconds for anonymous readers (0 turns it
# off); any save retires them at once (profiles/caching.py).
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "300"))

# Editorial workflow: a profile not reviewed for this many days shows on the editors'
# dashboard; a preview link for reviewers without an account expires after this many days.
PROFILE_REVIEW_DAYS = int(os.environ.get("PROFILE_REVIEW_DAYS", "90"))
PREVIEW_LINK_DAYS = int(os.environ.get("PREVIEW_LINK_DAYS", "7"))

# Where the starting data lives (see `manage.py load_profiles`).
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

REST_FRAMEWORK = {
    # Token first: an anonymous write is answered 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Everyone reads (the querysets decide what); staff with the model permission write.
    "DEFAULT_PERMISSION_CLASSES": ["profiles.api.permissions.StaffModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "profiles.api.filters.FilterBackend",
        "profiles.api.filters.SearchFilter",  # documents ?search= only where a view searches
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        # orjson: the same JSON as DRF's renderer, encoded several times faster.
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "profiles.api.renderers.CSVRenderer",
    ],
    # Datetimes the fast list (serializers.ReleaseRows) passes through are written as
    # DRF writes them, "Z" for UTC, by orjson's C code rather than by Python per row.
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z,),
    # DRF's parsers, refusing a NUL in any text and too deep a JSON document (a 400, not a 500).
    "DEFAULT_PARSER_CLASSES": [
        "profiles.api.parsers.JSONParser",
        "profiles.api.parsers.FormParser",
        "profiles.api.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "profiles.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # Anonymous clients are told apart by their address as labsite.auth_backends.client_ip
    # gives it (TRUSTED_PROXY_COUNT, the login lock-out's rule), not by DRF's NUM_PROXIES.
    "DEFAULT_THROTTLE_CLASSES": [
        "profiles.api.throttling.AnonRateThrottle",
        "profiles.api.throttling.UserRateThrottle",
    ],
    # Generous: a person or a script browsing is never limited; a scraper loop is.
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "600/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "3000/minute"),
    },
    "EXCEPTION_HANDLER": "profiles.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "labsite API",
    "DESCRIPTION": "AI research labs, their people, releases and sources.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc are served from the project's static files (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components: writes take slugs, reads give links.
    "COMPONENT_SPLIT_REQUEST": True,
    # Programs write JSON (the form parsers serve the browsable API's HTML forms only).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SCHEMA_PATH_PREFIX": "/api/",
    # Choice fields shared by several models, named once each.
    "ENUM_NAME_OVERRIDES": {
        "PublicationStateEnum": "profiles.models.PublicationState",
        "DatePrecisionEnum": "profiles.partial_dates.DatePrecision",
        "LabKindEnum": "profiles.models.LabKind",
        "ReleaseKindEnum": "profiles.models.ReleaseKind",
        "SectionKindEnum": "profiles.models.SectionKind",
        "OrganizationKindEnum": "profiles.models.OrganizationKind",
        "BackingKindEnum": "profiles.models.BackingKind",
        "RelationKindEnum": "profiles.models.RelationKind",
    },
    # Error responses and descriptions every operation shares (profiles/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "profiles.api.schema.add_errors_and_descriptions",
    ],
}

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --------------------------------------------------------------------------
# Production: security, static files, logins, logs (issue 5). Kept in one block.
# --------------------------------------------------------------------------
from csp.constants import NONE, SELF

INSTALLED_APPS += ["csp", "axes", "labsite.apps.LabsiteConfig"]  # labsite: http(s)-only URLs

# WhiteNoise right after SecurityMiddleware; then Permissions-Policy, around everything
# that answers a page (static files are no documents); the request log outermost after it;
# the database-outage and replica-pinning middleware around everything that reads the
# database; axes last (its documentation asks for that).
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
MIDDLEWARE.insert(2, "labsite.middleware.RequestLogMiddleware")
MIDDLEWARE.insert(3, "labsite.middleware.DatabaseUnavailableMiddleware")
MIDDLEWARE.insert(4, "labsite.middleware.PrimaryPinningMiddleware")
MIDDLEWARE.insert(5, "csp.middleware.CSPMiddleware")
MIDDLEWARE.insert(6, "labsite.middleware.RelaxedCSPMiddleware")
MIDDLEWARE.insert(2, "labsite.middleware.PermissionsPolicyMiddleware")
# A NUL in a query parameter: a 400 before any view (inside the rest, for their headers).
MIDDLEWARE.append("labsite.middleware.NullCharacterMiddleware")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# Static files: compressed and cache-busted (hashed names) by WhiteNoise once
# `collectstatic` has run; STATIC_MANIFEST=1 turns that on (`make serve` does). Without it
# (development, the test suite) `{% static %}` needs no manifest.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", default=False)
# Before the first collectstatic (development, tests) there is no STATIC_ROOT to index at
# start-up: WhiteNoise then looks files up per request (and through the finders).
WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.is_dir()
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Headers on every response (the SecurityMiddleware's defaults, spelt out).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Nothing reads the CSRF cookie from JavaScript: the admin and DRF's browsable API take the
# token from the page.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: only our own scripts, styles and fonts; no inline script or style.
# The one exception is CSP_RELAXED_PREFIXES below (labsite.middleware.RelaxedCSPMiddleware).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Paths allowed inline script and style: drf-spectacular's Swagger UI page writes an inline
# <script> (its set-up) and <style>; nothing user-written is shown there.
CSP_RELAXED_PREFIXES = ["/api/docs/"]

# Admin login attempts: locked out per user name and address together after
# AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "labsite.auth_backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
AXES_CLIENT_IP_CALLABLE = "labsite.auth_backends.client_ip"
# Proxies in front that append to X-Forwarded-For; the client's address (for the lock-out
# and the API's throttles alike) is the entry the outermost one added. Production mode sits
# behind one TLS proxy (README, Production): with 0 there every client would have the
# proxy's address, and anyone's failed logins would lock an editor out everywhere. With 0
# (development, or gunicorn facing clients) X-Forwarded-For is ignored: clients write it.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0" if DEBUG else "1"))
# Where a login goes when its ?next= is missing or refused (off-site): the admin's home,
# the only signed-in area (Django's default, /accounts/profile/, is no page here).
LOGIN_REDIRECT_URL = "admin:index"

# Logs: one JSON line per request ("labsite.request") in production mode; cache faults
# ("labsite.cache") and database outages ("labsite.db") always. Everything to stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "labsite.request": {
            "handlers": ["stderr"],
            "level": "INFO" if env_bool("REQUEST_LOG", default=not DEBUG) else "WARNING",
            "propagate": False,
        },
        "labsite": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}

# Epoch AI's dataset gives "Multinational" as an organisation's country; it is kept as such,
# under a code ISO 3166 leaves to users (imports/epoch.py).
COUNTRIES_OVERRIDE = {"XM": "Multinational"}

# Background tasks (Django's Tasks API, through the django-tasks backport): the database
# backend by default, run by `manage.py db_worker` (make run starts one beside the server).
# TASKS_BACKEND=immediate runs each task in the process that enqueues it (the tests).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "rq": "django_tasks_rq.RQBackend",  # Redis and RQ's workers (README, Following labs)
        }[os.environ.get("TASKS_BACKEND", "database")],
    }
}

# --------------------------------------------------------------------------
# Following labs by email (issue 17: follows/). Kept in one block.
# --------------------------------------------------------------------------
INSTALLED_APPS += ["follows"]

# TASKS_BACKEND=rq: tasks go to Redis (RQ_URL, else REDIS_URL) and RQ's workers run them
# (`manage.py rqworker --with-scheduler --job-class django_tasks_rq.Job`; the scheduler
# starts the deferred digest rounds).
if os.environ.get("TASKS_BACKEND") == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": os.environ.get("RQ_URL") or REDIS_URL or "redis://127.0.0.1:6379/0"}}

from urllib.parse import unquote, urlsplit

# The site's address, for links in emails (sent by the worker, outside any request). Required
# in production, as SECRET_KEY is: a default there would mail every reader links to 127.0.0.1.
SITE_URL = os.environ.get("SITE_URL", "")
if not SITE_URL:
    if not DEBUG:
        raise ImproperlyConfigured("SITE_URL must be set when DEBUG is off (the address links in emails point to).")
    SITE_URL = "http://127.0.0.1:8000"

# Email: EMAIL_URL (smtp://user:password@host:587, smtp+tls://… for STARTTLS, smtp+ssl://… for
# TLS from the start, console://) or EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS. Without either: the console in development (DEBUG), SMTP
# on localhost:25 otherwise. The tests use Django's locmem backend (pytest-django sets it).
# DEFAULT_FROM_EMAIL unset in production: noreply@ the site's host (mail from @localhost is refused as spam).
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or (
    f"AI Lab Profiles <noreply@{'localhost' if DEBUG else urlsplit(SITE_URL).hostname}>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
_email_url = os.environ.get("EMAIL_URL", "")
if _email_url:
    _email = urlsplit(_email_url)
    if _email.scheme == "console":
        EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    elif _email.scheme in ("smtp", "smtp+tls", "smtp+ssl"):
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        EMAIL_HOST = _email.hostname or "localhost"
        EMAIL_PORT = _email.port or {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}[_email.scheme]
        EMAIL_HOST_USER = unquote(_email.username or "")
        EMAIL_HOST_PASSWORD = unquote(_email.password or "")
        EMAIL_USE_TLS = _email.scheme == "smtp+tls"
        EMAIL_USE_SSL = _email.scheme == "smtp+ssl"
    else:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {_email.scheme!r} (smtp, smtp+tls, smtp+ssl, console)")
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Addresses never confirmed are forgotten after this many days (and confirmation links expire).
FOLLOWS_UNCONFIRMED_DAYS = int(os.environ.get("FOLLOWS_UNCONFIRMED_DAYS", "7"))
# One confirmation pending per address: a new one (replacing it) only after this many minutes.
FOLLOWS_CONFIRM_RESEND_MINUTES = int(os.environ.get("FOLLOWS_CONFIRM_RESEND_MINUTES", "15"))
# ... and at most this many unanswered confirmations per address a day (no mail-bombing by the resend).
FOLLOWS_CONFIRMATIONS_PER_DAY = int(os.environ.get("FOLLOWS_CONFIRMATIONS_PER_DAY", "3"))
# Follow requests one client (address, as labsite.auth_backends.client_ip gives it) may make an hour.
FOLLOWS_REQUESTS_PER_HOUR = int(os.environ.get("FOLLOWS_REQUESTS_PER_HOUR", "10"))
# The worker runs a digest round this often (0: only `manage.py send_digests` sends).
FOLLOWS_ROUND_SECONDS = int(os.environ.get("FOLLOWS_ROUND_SECONDS", "60"))
# Followers per batch of a round (one transaction, a fixed number of queries each).
FOLLOWS_BATCH_SIZE = int(os.environ.get("FOLLOWS_BATCH_SIZE", "500"))
