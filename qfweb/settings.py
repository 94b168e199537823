"""qfweb settings: one module, driven by the environment (see .env.example).

QF_ENV=dev is the embedded default: SQLite under QF_DATA_DIR, a local-memory cache, a
generated secret key kept in the data folder, and DEBUG allowed. Any other mode is
production and refuses to start without SECRET_KEY, DATABASE_URL and ALLOWED_HOSTS.
"""
from __future__ import annotations

import os
import secrets
import zoneinfo
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from qfweb.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

QF_ENV = env.choice("QF_ENV", ("dev", "production"), "production")
IS_DEV = QF_ENV == "dev"
DATA_DIR = Path(env.str("QF_DATA_DIR", str(BASE_DIR / "var")))


def _dev_secret_key() -> str:
    """A random key generated once and kept in the data folder, so restarts and several
    dev processes agree on sessions and signatures."""
    path = DATA_DIR / "secret_key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when web, worker and beat start together only one of them writes the key;
        # mode 0600 from the first byte, not after a chmod.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _required(name: str, value: object) -> None:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when QF_ENV is not 'dev'")


SECRET_KEY = env.secret("SECRET_KEY") or (_dev_secret_key() if IS_DEV else "")
_required("SECRET_KEY", SECRET_KEY)
if not IS_DEV and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS")

DEBUG = env.bool("DEBUG", False)
if DEBUG and not IS_DEV:
    raise ImproperlyConfigured("DEBUG=true is only allowed with QF_ENV=dev")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if IS_DEV else [])
_required("ALLOWED_HOSTS", ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",
    "django_celery_beat",
    "qfweb",
    "routing",
    "personas",
]

# Django looks for its own middleware by path; ours are subclasses, checked in qfweb.checks.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]
MIDDLEWARE = [
    # Django's own, with hooks that run on the event loop (qfweb.middleware.InlineHooks).
    "qfweb.middleware.RequestIdMiddleware",
    "qfweb.middleware.ConfigVersionMiddleware",
    "qfweb.middleware.SecurityMiddleware",
    "qfweb.middleware.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "qfweb.middleware.SessionMiddleware",
    "qfweb.middleware.CommonMiddleware",
    "qfweb.middleware.CsrfViewMiddleware",
    "qfweb.middleware.AuthenticationMiddleware",
    "qfweb.middleware.MessageMiddleware",
    "qfweb.middleware.XFrameOptionsMiddleware",
    "qfweb.middleware.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "qfweb.urls"
WSGI_APPLICATION = "qfweb.wsgi.application"
ASGI_APPLICATION = "qfweb.asgi.application"

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
                "qfweb.context_processors.environment",
            ],
            # partials are a builtin so no template says {% load partials %}; the Django 6
            # upgrade then only removes this line (STYLE B-17).
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# Databases: SQLite in the data folder unless DATABASE_URL says otherwise.
_database_url = env.str("DATABASE_URL")
if not IS_DEV:
    _required("DATABASE_URL", _database_url)
if _database_url:
    try:
        _db = environ.Env.db_url_config(_database_url)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if _db.get("ENGINE") not in environ.Env.DB_SCHEMES.values():
        raise ImproperlyConfigured("DATABASE_URL has an unknown scheme")
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "qfweb.sqlite3")}
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI persistent connections must be off; psycopg's pool replaces them.
    _db["CONN_MAX_AGE"] = 0
    if env.bool("QF_DB_POOL", True):
        _db.setdefault("OPTIONS", {})["pool"] = True
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes.
    _db.setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    _db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: circuit state, rate limits and the configuration version live here (DESIGN.md).
REDIS_URL = env.str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")
    CACHES = {
        "default": {
            "BACKEND": "qfweb.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("QF_CACHE_PREFIX", "qf"),
            # The engine reads the cache on the event loop: a Redis that hangs must not
            # hold a worker for long (routing.cacheguard then fails open).
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (ValueError, zoneinfo.ZoneInfoNotFoundError):
    raise ImproperlyConfigured(f"TIME_ZONE must be an IANA zone name such as UTC, got {TIME_ZONE!r}") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
if IS_DEV:
    # whitenoise warns on every start when the folder is missing, even though dev mode
    # serves from the app folders (WHITENOISE_USE_FINDERS).
    STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if IS_DEV
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In dev, serve straight from the app folders so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = IS_DEV

# The dashboard: Django's own login; every page needs a staff user (qfweb.pages.staff_page).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# The overview's provider health badges refresh themselves this often.
QF_OVERVIEW_POLL_S = env.int("QF_OVERVIEW_POLL_S", 30, minimum=1)

# No inline script or style anywhere: htmx runs with eval off and its indicator styles in
# our stylesheet; chart data travels in json_script blocks, which are never executed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("QF_MAX_REQUEST_BYTES", 2_621_440, minimum=1024)

# Security: production defaults are strict; a TLS-terminating proxy is assumed.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not IS_DEV:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("QF_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("QF_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("QF_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("QF_HSTS_PRELOAD", False)
    # Joining the browsers' preload list is hard to undo, so it is the operator's explicit
    # choice (QF_HSTS_PRELOAD), not a deployment-check failure.
    SILENCED_SYSTEM_CHECKS += ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "qfweb.redact.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.choice("QF_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO")},
    # httpx logs full request URLs at INFO (RELIABILITY.md, redaction rule 2).
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# ---- qfweb product settings -------------------------------------------------------------

MODALITIES = ("text", "image", "audio")

# QF_MULTI_MODEL=false sends every request to the global default (source document 001).
QF_MULTI_MODEL = env.bool("QF_MULTI_MODEL", True)
# Resolution levels 5 (environment) and 7 (built-in); they reach the resolver through
# the configuration snapshot, never through os.environ (STYLE B-15).
QF_DEFAULT_MODELS = {
    modality: handle
    for modality in MODALITIES
    if (handle := env.handle(f"QF_DEFAULT_{modality.upper()}_MODEL"))
}
QF_TASK_MODELS = env.handles_with_prefix("QF_MODEL_")
QF_BUILTIN_MODELS = {"text": "echo:echo", "image": "echo:echo-image", "audio": "echo:echo-speech"}

# Persona modality detected from its name when not given (source document 000).
QF_MODALITY_BY_NAME = env.mapping(
    "QF_MODALITY_BY_NAME",
    {
        "illustrator": "image",
        "art_director": "image",
        "audio_director": "audio",
        "audio_producer": "audio",
    },
)
for _name, _modality in QF_MODALITY_BY_NAME.items():
    if _modality not in MODALITIES:
        raise ImproperlyConfigured(
            f"QF_MODALITY_BY_NAME: {_name}={_modality} is not one of {', '.join(MODALITIES)}"
        )

# Stored provider secrets are encrypted with these Fernet keys (newest first), kept apart
# from SECRET_KEY so that rotating one does not touch the other.
QF_ENCRYPTION_KEYS = env.list("QF_ENCRYPTION_KEYS")

# ---- the engine (RELIABILITY.md R1..R10, S3, S4; the defaults are its proposals) --------

# Circuit breaking: open after N consecutive countable failures for base x 2^(k-1) s,
# capped, +-10 % jitter; credential and unknown-model failures open for the long period.
QF_CB_FAILURES = env.int("QF_CB_FAILURES", 3, minimum=1)
QF_CB_OPEN_SECONDS = env.float("QF_CB_OPEN_SECONDS", 30.0, minimum=0.01)
QF_CB_MAX_OPEN_SECONDS = env.float("QF_CB_MAX_OPEN_SECONDS", 300.0, minimum=0.01)
QF_CB_LONG_OPEN_SECONDS = env.float("QF_CB_LONG_OPEN_SECONDS", 300.0, minimum=0.01)
# When every model of a chain is open: "probe" tries the one that reopens soonest,
# "fail_fast" answers 503 with Retry-After (R7).
QF_CB_PANIC = env.choice("QF_CB_PANIC", ("probe", "fail_fast"), "probe")
# Every generation ends within this; no attempt starts with less than QF_MIN_ATTEMPT_S left.
QF_REQUEST_DEADLINE_S = env.float("QF_REQUEST_DEADLINE_S", 120.0, minimum=1.0)
QF_MIN_ATTEMPT_S = env.float("QF_MIN_ATTEMPT_S", 1.0, minimum=0.0)
QF_CONNECT_TIMEOUT_S = env.float("QF_CONNECT_TIMEOUT_S", 5.0, minimum=0.01)
# Silence between stream chunks longer than this is a mid-stream failure (S4).
QF_STREAM_IDLE_S = env.float("QF_STREAM_IDLE_S", 60.0, minimum=0.01)
# A stream's status is sent with its first content; a model silent longer than this gets the
# response committed anyway, kept alive with `: ping` comments every QF_STREAM_PING_S (S3).
QF_STREAM_COMMIT_TIMEOUT = env.float("QF_STREAM_COMMIT_TIMEOUT", 15.0, minimum=0.01)
QF_STREAM_PING_S = env.float("QF_STREAM_PING_S", 15.0, minimum=0.01)
# Upstream calls ignore HTTP(S)_PROXY unless told: a proxy would see every provider key.
QF_UPSTREAM_TRUST_ENV = env.bool("QF_UPSTREAM_TRUST_ENV", False)

# ---- background work: Celery (DESIGN.md runtime topology; STACK.md B2) -----------------

# Redis when REDIS_URL is set (or any broker named by CELERY_BROKER_URL); else the
# filesystem transport: no server, shared by the web, worker and beat of one machine.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = DATA_DIR / "celery"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_queue_dir / "control"),  # else ./control, wherever it runs
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Results are written where they matter (HealthCheck, DailyRollup, CostReport rows).
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged once done, so a worker killed mid-task leaves it to another; every
# task is idempotent for that reason. One task at a time per process: they are long.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the redacting handler above
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Health checks: every provider is probed this often; a provider found down stays open
# (skipped by the engine) until the next check; rows older than the retention are pruned.
QF_HEALTH_INTERVAL_S = env.int("QF_HEALTH_INTERVAL_S", 60, minimum=5)
QF_HEALTH_TIMEOUT_S = env.float("QF_HEALTH_TIMEOUT_S", 10.0, minimum=0.1)
QF_HEALTH_SLOW_MS = env.int("QF_HEALTH_SLOW_MS", 5000, minimum=1)
QF_HEALTH_RETENTION_DAYS = env.int("QF_HEALTH_RETENTION_DAYS", 30, minimum=1)
# Today's and yesterday's rollups are refreshed this often (late rows land in them).
QF_ROLLUP_INTERVAL_S = env.int("QF_ROLLUP_INTERVAL_S", 600, minimum=10)
# Budgets warn once at this share of the month's budget, and refuse at all of it.
QF_BUDGET_WARN_PERCENT = env.int("QF_BUDGET_WARN_PERCENT", 80, minimum=1)

# The default schedule. `migrate` adds the entries missing from the database, where beat
# reads them and operators edit them (admin, Periodic tasks); an edit is never overwritten
# (as CELERY_BEAT_SCHEDULE would be at each beat start). Reports cover the period just ended.
QF_SCHEDULE = {
    "health checks": {"task": "routing.tasks.health_check_all", "schedule": float(QF_HEALTH_INTERVAL_S)},
    "prune health checks": {"task": "routing.tasks.prune_health_checks", "schedule": 3600.0},
    "rollups": {"task": "routing.tasks.rollup_recent", "schedule": float(QF_ROLLUP_INTERVAL_S)},
    "budgets": {"task": "personas.tasks.check_budgets", "schedule": 900.0},
    "daily cost report": {
        "task": "routing.tasks.build_cost_report", "args": ["day"],
        "schedule": crontab(minute=30, hour=0),
    },
    "weekly cost report": {
        "task": "routing.tasks.build_cost_report", "args": ["week"],
        "schedule": crontab(minute=45, hour=0, day_of_week="mon"),
    },
    "monthly cost report": {
        "task": "routing.tasks.build_cost_report", "args": ["month"],
        "schedule": crontab(minute=0, hour=1, day_of_month="1"),
    },
}
